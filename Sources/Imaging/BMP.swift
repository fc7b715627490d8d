import Foundation

/// Reading Windows bitmaps (BMP), which scanners and old software still write: uncompressed 24- and 32-bit
/// pixels (32-bit with bit-field masks too), and 1-, 4- and 8-bit palettes; bottom-up or top-down rows.
/// A palette of grays gives a gray image; a 32-bit file with a non-trivial alpha mask gives RGBA.
/// RLE-compressed and 16-bit files are refused with a message saying so. savl does not write BMP.
public enum BMP {
    /// Whether `bytes` start like a BMP file ("BM" and a plausible header size).
    static func sniff(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 18 && bytes[0] == 0x42 && bytes[1] == 0x4D && [12, 40, 52, 56, 108, 124].contains(Int(u32(bytes, 14)))
    }

    private static func u16(_ b: [UInt8], _ o: Int) -> UInt32 { UInt32(b[o]) | UInt32(b[o + 1]) << 8 }
    private static func u32(_ b: [UInt8], _ o: Int) -> UInt32 { u16(b, o) | u16(b, o + 2) << 16 }

    /// Decodes a BMP file into an 8-bit image.
    /// - Parameter maxPixels: refuse larger images before allocating (default `ImageLimits.maxPixels`).
    public static func decode(_ bytes: [UInt8], maxPixels: Int = ImageLimits.maxPixels) throws -> Image {
        func truncated(_ what: String) -> ImageError { ImageError(.corrupt, "truncated BMP: the file ends in its \(what)") }
        guard bytes.count >= 26 else { throw truncated("header") }
        let headerSize = Int(u32(bytes, 14))
        guard bytes.count >= 14 + headerSize else { throw truncated("header") }
        let width: Int, rawHeight: Int, bitCount: Int, compression: UInt32
        if headerSize == 12 {
            (width, rawHeight) = (Int(u16(bytes, 18)), Int(Int16(bitPattern: UInt16(u16(bytes, 20)))))
            (bitCount, compression) = (Int(u16(bytes, 24)), 0)
        } else {
            width = Int(Int32(bitPattern: u32(bytes, 18)))
            rawHeight = Int(Int32(bitPattern: u32(bytes, 22)))
            bitCount = Int(u16(bytes, 28))
            compression = u32(bytes, 30)
        }
        let height = abs(rawHeight), topDown = rawHeight < 0
        try ImageLimits.check(width: width, height: height, maxPixels: maxPixels)
        // Bit-field masks: in the header from V4 on, else after a 40-byte header.
        var masks: [UInt32] = [0x00FF_0000, 0x0000_FF00, 0x0000_00FF, 0]
        switch (bitCount, compression) {
        case (24, 0), (1, 0), (4, 0), (8, 0): break
        case (32, 0): masks[3] = 0xFF00_0000
        case (32, 3), (32, 6):
            let at = headerSize >= 52 ? 54 : 14 + headerSize
            guard bytes.count >= at + 16 else { throw truncated("colour masks") }
            masks = (0..<4).map { u32(bytes, at + 4 * $0) }
            if headerSize == 40 && compression == 3 { masks[3] = 0 }
        case (_, 1), (_, 2): throw ImageError(.unsupportedFormat, "RLE-compressed BMPs are not supported (save it uncompressed or as PNG)")
        default: throw ImageError(.unsupportedFormat, "\(bitCount)-bit BMPs (compression \(compression)) are not supported (save it as 24-bit or as PNG)")
        }
        // The palette (BGR0, or BGR for 12-byte headers) of 1-, 4- and 8-bit files.
        var palette: [(UInt8, UInt8, UInt8)] = []
        if bitCount <= 8 {
            let entrySize = headerSize == 12 ? 3 : 4
            var count = headerSize == 12 ? 0 : Int(u32(bytes, 46))
            if count == 0 || count > 1 << bitCount { count = 1 << bitCount }
            let at = 14 + headerSize
            guard bytes.count >= at + count * entrySize else { throw truncated("palette") }
            palette = (0..<count).map { (bytes[at + $0 * entrySize + 2], bytes[at + $0 * entrySize + 1], bytes[at + $0 * entrySize]) }
        }
        let offset = Int(u32(bytes, 10))
        let stride = (width * bitCount + 31) / 32 * 4
        guard offset >= 14 + headerSize, bytes.count >= offset + stride * (height - 1) + (width * bitCount + 7) / 8 else {
            throw truncated("pixels (\(bytes.count) bytes for \(width)x\(height) at \(bitCount) bits)")
        }
        let gray = !palette.isEmpty && palette.allSatisfy { $0.0 == $0.1 && $0.1 == $0.2 }
        let hasAlpha = bitCount == 32 && masks[3] != 0
        let n = width * height
        var rgba = [UInt8](repeating: 255, count: 4 * n)
        var anyAlpha = false
        func channel(_ value: UInt32, _ mask: UInt32) -> UInt8 {
            guard mask != 0 else { return 255 }
            let shift = UInt32(mask.trailingZeroBitCount), bits = UInt32((mask >> shift).nonzeroBitCount)
            let v = (value & mask) >> shift
            return bits >= 8 ? UInt8(truncatingIfNeeded: v >> (bits - 8)) : UInt8((v * 255 + ((1 << bits) - 1) / 2) / ((1 << bits) - 1))
        }
        for y in 0..<height {
            let row = offset + (topDown ? y : height - 1 - y) * stride
            for x in 0..<width {
                let o = 4 * (y * width + x)
                switch bitCount {
                case 24:
                    (rgba[o], rgba[o + 1], rgba[o + 2]) = (bytes[row + 3 * x + 2], bytes[row + 3 * x + 1], bytes[row + 3 * x])
                case 32:
                    let v = u32(bytes, row + 4 * x)
                    (rgba[o], rgba[o + 1], rgba[o + 2]) = (channel(v, masks[0]), channel(v, masks[1]), channel(v, masks[2]))
                    if hasAlpha { rgba[o + 3] = channel(v, masks[3]); anyAlpha = anyAlpha || rgba[o + 3] != 0 }
                default:
                    let bit = x * bitCount
                    let index = Int(bytes[row + bit / 8] >> (8 - bitCount - bit % 8)) & ((1 << bitCount) - 1)
                    guard index < palette.count else { throw ImageError(.corrupt, "damaged BMP: a pixel names colour \(index) of \(palette.count)") }
                    (rgba[o], rgba[o + 1], rgba[o + 2]) = palette[index]
                }
            }
        }
        // An alpha channel that is zero everywhere is an unused byte (many writers leave it so), not transparency.
        let channels = gray ? 1 : (hasAlpha && anyAlpha ? 4 : 3)
        var planes = [Float](repeating: 0, count: channels * n)
        for c in 0..<channels {
            for i in 0..<n { planes[c * n + i] = byteToUnit[Int(rgba[4 * i + c])] }
        }
        return Image(width: width, height: height, channels: channels, planes: planes)
    }
}
