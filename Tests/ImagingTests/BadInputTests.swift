import Foundation
import SeededRandom
import Testing
@testable import Imaging

/// Damaged, misnamed and hostile files: every one must give an `ImageError` naming the file, never a crash.
@Suite struct BadInputTests {
    /// A folder of broken files, each read through `readImage(at:)`.
    @Test func brokenFilesGiveClearErrors() throws {
        let dir = try makeTemporaryDirectory("broken")
        defer { try? FileManager.default.removeItem(at: dir) }
        let png = try PNG.encode(TestImages.exact(width: 40, height: 30, channels: 3, bitDepth: 8))
        let jpeg = try JPEG.encode(TestImages.smooth(width: 40, height: 30), quality: 85)

        var files: [String: [UInt8]] = [
            "empty.png": [],
            "text.png": Array("hello, this is not an image\n".utf8),
            "signature-only.png": PNG.signature,
            "soi-only.jpg": [0xFF, 0xD8, 0xFF],
            "zero-width.png": withIHDR(png, width: 0, height: 30),
            "absurd-size.png": withIHDR(png, width: 100_000, height: 100_000),
            "absurd-size.jpg": withJPEGSize(jpeg, width: 65_000, height: 65_000),
            "zero-height.jpg": withJPEGSize(jpeg, width: 40, height: 0),
        ]
        for fraction in [0.1, 0.3, 0.5, 0.8, 0.97] {
            files["truncated-\(Int(fraction * 100)).png"] = Array(png[..<Int(Double(png.count) * fraction)])
            files["truncated-\(Int(fraction * 100)).jpg"] = Array(jpeg[..<Int(Double(jpeg.count) * fraction)])
        }
        var flippedPNG = png, flippedJPEG = jpeg
        for i in stride(from: 60, to: png.count - 20, by: 37) { flippedPNG[i] ^= 0x5A }
        for i in stride(from: jpeg.count / 2, to: jpeg.count - 4, by: 29) { flippedJPEG[i] ^= 0xA5 }
        files["flipped.png"] = flippedPNG
        files["flipped.jpg"] = flippedJPEG
        files["jpeg-named.png"] = Array(jpeg[..<(jpeg.count / 2)])  // wrong extension and truncated

        for (name, bytes) in files {
            try Data(bytes).write(to: dir.appendingPathComponent(name))
        }
        for name in files.keys.sorted() {
            let url = dir.appendingPathComponent(name)
            let error = #expect(throws: ImageError.self, "\(name)") { try readImage(at: url) }
            #expect(error?.file == url.path, "\(name): \(String(describing: error))")
            #expect(error?.description.hasPrefix(url.path + ": ") == true)
            #expect((error?.reason.count ?? 0) > 8, "\(name): reason too vague")
            if name.hasPrefix("absurd") {
                #expect(error?.kind == .badSize, "\(name): \(String(describing: error))")
            }
        }
    }

    /// Thousands of mutated small files through both decoders, CRCs repaired half of the time so
    /// that the damage reaches libpng's decompression and filtering, not just its CRC check.
    /// `SAVL_FUZZ_ROUNDS` raises the count for a longer hunt (default 6000).
    @Test func randomizedCorruptionNeverCrashes() throws {
        let rounds = ProcessInfo.processInfo.environment["SAVL_FUZZ_ROUNDS"].flatMap(Int.init) ?? 6000
        var rng = SeededGenerator(seed: 20_240_611)
        let goldens = try Goldens.load()
        var pngSeeds = try goldens.png.map { try Goldens.bytes($0.file) }
        for (channels, depth) in [(1, 8), (2, 16), (3, 8), (4, 16)] {
            pngSeeds.append(try PNG.encode(TestImages.exact(width: 11, height: 6, channels: channels, bitDepth: depth)))
        }
        var jpegSeeds = [try JPEG.encode(TestImages.smooth(width: 24, height: 16), quality: 80),
                         try JPEG.encode(TestImages.smooth(width: 17, height: 9, channels: 1), quality: 60),
                         try JPEG.encode(TestImages.smooth(width: 16, height: 16), quality: 95, subsampling: .none)]
        jpegSeeds.append(insertingExifOrientation(6, into: jpegSeeds[0], littleEndian: true))

        var decoded = 0, rejected = 0
        for round in 0..<rounds {
            let isPNG = round % 2 == 0
            let seeds = isPNG ? pngSeeds : jpegSeeds
            var bytes = seeds[rng.int(in: 0...(seeds.count - 1))]
            mutate(&bytes, using: &rng)
            if isPNG && rng.bernoulli(0.5) { repairPNGChecksums(&bytes) }
            do {
                let image = try decodeImage(bytes, maxPixels: 1 << 20)
                #expect(image.planes.count == image.width * image.height * image.channels)
                #expect(image.planes.allSatisfy { $0 >= 0 && $0 <= 1 })
                decoded += 1
            } catch is ImageError {
                rejected += 1
            }
        }
        // Both outcomes occur, so the loop exercises the decoders rather than only the signature checks.
        #expect(decoded > rounds / 20 && rejected > rounds / 3, "decoded \(decoded), rejected \(rejected)")
        print("corruption loop: \(rounds) files, \(decoded) decoded, \(rejected) rejected")
    }
}

/// Applies one to four random mutations: bit flips, byte overwrites, truncation, insertion, deletion.
func mutate(_ bytes: inout [UInt8], using rng: inout SeededGenerator) {
    for _ in 0..<rng.int(in: 1...4) {
        guard bytes.count > 8 else { return }
        let at = rng.int(in: 8...(bytes.count - 1))  // keep the signature so the decoders are reached
        switch rng.int(in: 0...5) {
        case 0: bytes[at] ^= UInt8(1 << rng.int(in: 0...7))
        case 1: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
        case 2: bytes.removeSubrange(at...)
        case 3: bytes.insert(contentsOf: (0..<rng.int(in: 1...16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
        case 4: bytes.removeSubrange(at..<min(bytes.count, at + rng.int(in: 1...16)))
        default:
            // Large values in length/size fields.
            for k in 0..<min(4, bytes.count - at) { bytes[at + k] = 0xFF }
        }
    }
}

/// Recomputes the CRC of every complete chunk, so that libpng accepts the chunk framing.
func repairPNGChecksums(_ bytes: inout [UInt8]) {
    var pos = 8
    while pos + 12 <= bytes.count {
        let length = Int(bytes[pos]) << 24 | Int(bytes[pos + 1]) << 16 | Int(bytes[pos + 2]) << 8 | Int(bytes[pos + 3])
        guard length <= bytes.count - pos - 12 else { return }
        let crc = crc32(bytes[(pos + 4)..<(pos + 8 + length)])
        for k in 0..<4 { bytes[pos + 8 + length + k] = UInt8((crc >> (24 - 8 * UInt32(k))) & 0xFF) }
        pos += 12 + length
    }
}

func crc32<C: Collection>(_ data: C) -> UInt32 where C.Element == UInt8 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in data {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
    }
    return ~crc
}

/// A PNG with IHDR's size replaced (and its CRC fixed).
func withIHDR(_ png: [UInt8], width: UInt32, height: UInt32) -> [UInt8] {
    var b = png
    for k in 0..<4 {
        b[16 + k] = UInt8((width >> (24 - 8 * UInt32(k))) & 0xFF)
        b[20 + k] = UInt8((height >> (24 - 8 * UInt32(k))) & 0xFF)
    }
    repairPNGChecksums(&b)
    return b
}

/// A JPEG whose SOF0 frame header claims another size.
func withJPEGSize(_ jpeg: [UInt8], width: Int, height: Int) -> [UInt8] {
    var b = jpeg
    var pos = 2
    while pos + 9 < b.count, b[pos] == 0xFF {
        let marker = b[pos + 1]
        let length = Int(b[pos + 2]) << 8 | Int(b[pos + 3])
        if marker == 0xC0 || marker == 0xC2 {
            b[pos + 5] = UInt8(height >> 8); b[pos + 6] = UInt8(height & 0xFF)
            b[pos + 7] = UInt8(width >> 8); b[pos + 8] = UInt8(width & 0xFF)
            return b
        }
        pos += 2 + length
    }
    return b
}
