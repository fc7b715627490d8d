import Foundation

/// Metadata savl takes from a JPEG's marker segments before the image data.
struct JPEGMetadata {
    /// EXIF orientation (1...8), 1 when absent or invalid.
    var orientation = 1
    /// The ICC profile reassembled from APP2 `ICC_PROFILE` chunks, when complete.
    var iccProfile: [UInt8]?
    /// Whether an APP14 `Adobe` segment is present: Adobe's CMYK JPEGs store inverted samples (255 = no ink).
    var adobe = false

    /// Walks the segments from SOI to SOS. Never traps on malformed input: a damaged segment
    /// ends the walk with what was found so far (the decoder reports the damage itself).
    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        var iccChunks: [Int: ArraySlice<UInt8>] = [:]
        var iccCount = 0
        var pos = 2  // after SOI
        while pos + 4 <= bytes.count {
            guard bytes[pos] == 0xFF else { break }
            let marker = bytes[pos + 1]
            if marker == 0xFF { pos += 1; continue }  // fill byte
            if marker == 0xD8 || (0xD0...0xD7).contains(marker) || marker == 0x01 { pos += 2; continue }
            if marker == 0xDA || marker == 0xD9 { break }  // start of scan / end of image
            let length = Int(bytes[pos + 2]) << 8 | Int(bytes[pos + 3])
            let start = pos + 4, end = pos + 2 + length
            guard length >= 2, end <= bytes.count else { break }
            let segment = UnsafeBufferPointer(rebasing: bytes[start..<end])
            if marker == 0xEE, segment.starts(with: Array("Adobe".utf8)) {
                adobe = true
            } else if marker == 0xE1, let o = JPEGMetadata.exifOrientation(segment) {
                orientation = o
            } else if marker == 0xE2, segment.count > 14, segment.starts(with: Array("ICC_PROFILE\0".utf8)) {
                let sequence = Int(segment[12]), count = Int(segment[13])
                if sequence >= 1, count >= 1 {
                    iccCount = count
                    iccChunks[sequence] = ArraySlice(segment[14...])
                }
            }
            pos = end
        }
        if iccCount > 0, iccChunks.count == iccCount, (1...iccCount).allSatisfy({ iccChunks[$0] != nil }) {
            iccProfile = (1...iccCount).flatMap { iccChunks[$0]! }
        }
    }

    /// Orientation tag (0x0112) of IFD0 in an APP1 `Exif` segment.
    private static func exifOrientation(_ s: UnsafeBufferPointer<UInt8>) -> Int? {
        guard s.count >= 14, s.starts(with: Array("Exif\0\0".utf8)) else { return nil }
        let tiff = 6
        let little: Bool
        switch (s[tiff], s[tiff + 1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return nil
        }
        func u16(_ at: Int) -> Int? {
            guard at >= 0, at + 2 <= s.count else { return nil }
            return little ? Int(s[at]) | Int(s[at + 1]) << 8 : Int(s[at]) << 8 | Int(s[at + 1])
        }
        func u32(_ at: Int) -> Int? {
            guard let a = u16(at), let b = u16(at + 2) else { return nil }
            return little ? a | b << 16 : a << 16 | b
        }
        guard u16(tiff + 2) == 42, let ifdOffset = u32(tiff + 4) else { return nil }
        let ifd = tiff + ifdOffset
        guard let entries = u16(ifd) else { return nil }
        for e in 0..<entries {
            let entry = ifd + 2 + e * 12
            guard let tag = u16(entry) else { return nil }
            if tag == 0x0112 {
                guard u16(entry + 2) == 3, let value = u16(entry + 8), (1...8).contains(value) else { return nil }
                return value
            }
        }
        return nil
    }
}

/// Builds APP2 `ICC_PROFILE` segments carrying `profile` (split into chunks of at most 65519 bytes).
func iccSegments(_ profile: [UInt8]) -> [UInt8] {
    let maxChunk = 65_519
    let count = (profile.count + maxChunk - 1) / maxChunk
    guard count >= 1, count <= 255 else { return [] }
    var out: [UInt8] = []
    for i in 0..<count {
        let chunk = profile[(i * maxChunk)..<min(profile.count, (i + 1) * maxChunk)]
        let length = 2 + 14 + chunk.count
        out += [0xFF, 0xE2, UInt8(length >> 8), UInt8(length & 0xFF)]
        out += Array("ICC_PROFILE\0".utf8) + [UInt8(i + 1), UInt8(count)]
        out += chunk
    }
    return out
}
