import Foundation
import Testing
@testable import Imaging

@Suite struct PNGTests {
    /// Palette, tRNS, 1/2/4 bit, Adam7 and colour-space chunks, written from the specification
    /// by the fixture script: every sample must come back exactly as stored.
    @Test func decodesEveryKindExactly() throws {
        let goldens = try Goldens.load()
        #expect(goldens.png.count >= 14)
        for c in goldens.png {
            let image = try PNG.decode(Goldens.bytes(c.file))
            #expect(image.width == c.width && image.height == c.height, "\(c.file)")
            #expect(image.channels == c.channels, "\(c.file): \(image.channels) channels")
            #expect(image.bitDepth == c.bitDepth, "\(c.file)")
            let expected = try Goldens.floats(c.expected)
            if image.planes.count == expected.count {
                // Exact up to float rounding of k / 255 and k / 65535.
                #expect(maxAbsDifference(image.planes, expected) < 1e-7, "\(c.file)")
            }
        }
    }

    @Test(arguments: [1, 2, 3, 4], [8, 16])
    func roundTripIsExact(channels: Int, bitDepth: Int) throws {
        for (w, h) in [(1, 1), (17, 5), (64, 33)] {
            let image = TestImages.exact(width: w, height: h, channels: channels, bitDepth: bitDepth, seed: UInt64(w * 31 + channels))
            let decoded = try PNG.decode(PNG.encode(image))
            #expect(TestImages.identical(decoded, image), "\(channels) channels, \(bitDepth) bit, \(w)x\(h)")
        }
    }

    @Test func bitDepthCanBeChosenOnWrite() throws {
        let image = TestImages.exact(width: 9, height: 4, channels: 3, bitDepth: 16)
        let eight = try PNG.decode(PNG.encode(image, bitDepth: 8))
        #expect(eight.bitDepth == 8)
        #expect(TestImages.maxDifference(eight, image) <= 0.5 / 255 + 1e-6)
        #expect(throws: ImageError.self) { try PNG.encode(image, bitDepth: 12) }
    }

    @Test func iccProfileIsCarried() throws {
        var image = TestImages.exact(width: 5, height: 4, channels: 3, bitDepth: 8)
        image.iccProfile = syntheticICCProfile(colourSpace: "RGB ")
        #expect(try PNG.decode(PNG.encode(image)).iccProfile == image.iccProfile)
        var image16 = TestImages.exact(width: 5, height: 4, channels: 4, bitDepth: 16)
        image16.iccProfile = image.iccProfile
        #expect(try PNG.decode(PNG.encode(image16)).iccProfile == image.iccProfile)
        // A gray image cannot carry an RGB profile: it is dropped, the image is still written.
        var gray = TestImages.exact(width: 5, height: 4, channels: 1, bitDepth: 8)
        gray.iccProfile = image.iccProfile
        let decoded = try PNG.decode(PNG.encode(gray))
        #expect(decoded.iccProfile == nil && TestImages.identical(decoded, Image(width: 5, height: 4, channels: 1, planes: gray.planes)))
        gray.iccProfile = syntheticICCProfile(colourSpace: "GRAY")
        #expect(try PNG.decode(PNG.encode(gray)).iccProfile == gray.iccProfile)
    }

    @Test func pixelLimitIsCheckedBeforeDecoding() throws {
        let bytes = try PNG.encode(TestImages.exact(width: 50, height: 40, channels: 3, bitDepth: 8))
        let error = #expect(throws: ImageError.self) { try PNG.decode(bytes, maxPixels: 1999) }
        #expect(error?.kind == .badSize)
        #expect(error?.reason.contains("50x40") == true)
        #expect(try PNG.decode(bytes, maxPixels: 2000).width == 50)
    }

    /// A 512x512 picture survives encode + decode exactly at 8 and 16 bits (the speed is `savl bench-imaging`'s).
    @Test func largeRoundTripIsExact() throws {
        for depth in [8, 16] {
            var image = TestImages.smooth(width: 512, height: 512)
            image.bitDepth = depth
            let decoded = try PNG.decode(PNG.encode(image))
            let levels = Float((1 << depth) - 1)
            #expect(decoded.width == 512 && decoded.height == 512 && decoded.bitDepth == depth)
            #expect(decoded.planes == image.planes.map { ($0 * levels).rounded() / levels }, "\(depth)-bit")
        }
    }
}

/// A minimal ICC profile libpng accepts: a 128-byte header (monitor class, XYZ PCS, D50),
/// an empty tag table, and some payload so that the bytes are not trivial.
func syntheticICCProfile(colourSpace: String) -> [UInt8] {
    var p = [UInt8](repeating: 0, count: 132 + 64)
    func put(_ s: String, at o: Int) { for (i, b) in s.utf8.enumerated() { p[o + i] = b } }
    func put32(_ v: UInt32, at o: Int) { for i in 0..<4 { p[o + i] = UInt8((v >> (24 - 8 * UInt32(i))) & 0xFF) } }
    put32(UInt32(p.count), at: 0)
    p[8] = 4  // version 4.0
    put("mntr", at: 12); put(colourSpace, at: 16); put("XYZ ", at: 20); put("acsp", at: 36)
    put32(0x0000_F6D6, at: 68); put32(0x0001_0000, at: 72); put32(0x0000_D32D, at: 76)
    for i in 132..<p.count { p[i] = UInt8(i % 251) }
    return p
}
