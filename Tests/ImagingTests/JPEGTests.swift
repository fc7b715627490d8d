import CTurboJPEG
import Foundation
import Testing
@testable import Imaging

@Suite struct JPEGTests {
    @Test func colourRoundTripIsClose() throws {
        let image = TestImages.smooth(width: 64, height: 48)
        let bytes = try JPEG.encode(image, quality: 95)
        #expect(bytes.starts(with: [0xFF, 0xD8, 0xFF]))
        let decoded = try JPEG.decode(bytes)
        #expect(decoded.width == 64 && decoded.height == 48 && decoded.channels == 3 && decoded.bitDepth == 8)
        #expect(TestImages.maxDifference(decoded, image) < 0.04)
    }

    @Test func grayStaysGrayAndAlphaIsDropped() throws {
        let gray = TestImages.smooth(width: 30, height: 20, channels: 2)
        let decoded = try JPEG.decode(JPEG.encode(gray, quality: 90))
        #expect(decoded.channels == 1)
        let rgba = TestImages.smooth(width: 30, height: 20, channels: 4)
        #expect(try JPEG.decode(JPEG.encode(rgba, quality: 90)).channels == 3)
    }

    @Test func lowerQualityGivesSmallerFilesAndLargerErrors() throws {
        let image = TestImages.smooth(width: 96, height: 96)
        let q30 = try JPEG.encode(image, quality: 30), q95 = try JPEG.encode(image, quality: 95)
        #expect(q30.count < q95.count)
        let e30 = TestImages.maxDifference(try JPEG.decode(q30), image)
        let e95 = TestImages.maxDifference(try JPEG.decode(q95), image)
        #expect(e30 > e95)
    }

    @Test func subsamplingChoicesDiffer() throws {
        let image = TestImages.exact(width: 32, height: 32, channels: 3, bitDepth: 8)
        let full = try JPEG.encode(image, quality: 90, subsampling: .none)
        let quarter = try JPEG.encode(image, quality: 90, subsampling: .quarter)
        #expect(full.count > quarter.count)
    }

    @Test func invalidArgumentsThrow() {
        let image = TestImages.smooth(width: 8, height: 8)
        #expect(throws: ImageError.self) { try JPEG.encode(image, quality: 0) }
        #expect(throws: ImageError.self) { try JPEG.encode(image, quality: 101) }
        #expect(throws: ImageError.self) { try JPEG.decode([]) }
        #expect(throws: ImageError.self) { try JPEG.decode([0xFF, 0xD8, 0xFF, 0xE0, 0, 16]) }
    }

    @Test func truncatedFileIsAnError() throws {
        let bytes = try JPEG.encode(TestImages.smooth(width: 64, height: 64), quality: 90)
        for cut in [bytes.count / 4, bytes.count / 2, bytes.count - 3] {
            #expect(throws: ImageError.self) { try JPEG.decode(Array(bytes[..<cut])) }
        }
    }

    @Test func pixelLimitIsCheckedFromTheHeader() throws {
        let bytes = try JPEG.encode(TestImages.smooth(width: 40, height: 30), quality: 90)
        let error = #expect(throws: ImageError.self) { try JPEG.decode(bytes, maxPixels: 1000) }
        #expect(error?.kind == .badSize)
        #expect(try JPEG.decode(bytes, maxPixels: 1200).width == 40)
    }

    @Test func iccProfileIsCarried() throws {
        var image = TestImages.smooth(width: 16, height: 16)
        image.iccProfile = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }  // needs two APP2 chunks
        let decoded = try JPEG.decode(JPEG.encode(image, quality: 80))
        #expect(decoded.iccProfile == image.iccProfile)
    }

    @Test(arguments: 1...8)
    func exifOrientationIsApplied(orientation: Int) throws {
        let image = TestImages.smooth(width: 24, height: 16)
        let plain = try JPEG.encode(image, quality: 90)
        let rotated = insertingExifOrientation(orientation, into: plain, littleEndian: orientation % 2 == 0)
        let upright = try JPEG.decode(rotated)
        #expect(TestImages.identical(upright, try JPEG.decode(plain).applyingOrientation(orientation)))
        #expect(upright.width == (orientation >= 5 ? 16 : 24))
    }

    @Test func orientationTransformsAreTheRightOnes() {
        // 3x2 image with values 0...5 row-major.
        let image = Image(width: 3, height: 2, channels: 1, planes: (0..<6).map(Float.init))
        #expect(image.applyingOrientation(2).planes == [2, 1, 0, 5, 4, 3])
        #expect(image.applyingOrientation(3).planes == [5, 4, 3, 2, 1, 0])
        #expect(image.applyingOrientation(4).planes == [3, 4, 5, 0, 1, 2])
        #expect(image.applyingOrientation(5).planes == [0, 3, 1, 4, 2, 5])
        #expect(image.applyingOrientation(6).planes == [3, 0, 4, 1, 5, 2])  // clockwise
        #expect(image.applyingOrientation(7).planes == [5, 2, 4, 1, 3, 0])
        #expect(image.applyingOrientation(8).planes == [2, 5, 1, 4, 0, 3])  // counter-clockwise
    }

    /// A JPEG cut before its frame header says so, rather than reporting a 0x0 image.
    @Test func aJPEGCutShortIsTruncated() throws {
        let bytes = try JPEG.encode(TestImages.smooth(width: 40, height: 30), quality: 85)
        for length in [4, 20, 30, 60] {
            let error = try #require(throws: ImageError.self) { try JPEG.decode(Array(bytes[..<length])) }
            #expect(error.kind == .corrupt && error.reason.contains("truncated"), "\(length) bytes: \(error.reason)")
            #expect(!error.reason.contains("0x0"), "\(length) bytes: \(error.reason)")
        }
    }

    /// 512x512 encode + decode keeps the size and the picture (its speed is `savl bench-imaging`'s, see BENCHMARKS.md);
    /// encoding is deterministic, so a second round trip of the decoded image changes it little.
    @Test func roundTripOf512IsFaithful() throws {
        let image = TestImages.smooth(width: 512, height: 512)
        let bytes = try JPEG.encode(image, quality: 75)
        #expect(try JPEG.encode(image, quality: 75) == bytes)
        let decoded = try JPEG.decode(bytes)
        #expect(decoded.width == 512 && decoded.height == 512 && decoded.channels == 3)
        #expect(maxAbsDifference(decoded.planes, image.planes) < 8 / 255, "q75 on a smooth image moves no value by 8 levels")
    }
}

/// Inserts an APP1 Exif segment holding only an orientation tag right after SOI.
func insertingExifOrientation(_ orientation: Int, into jpeg: [UInt8], littleEndian: Bool) -> [UInt8] {
    func u16(_ v: Int) -> [UInt8] { littleEndian ? [UInt8(v & 0xFF), UInt8(v >> 8)] : [UInt8(v >> 8), UInt8(v & 0xFF)] }
    func u32(_ v: Int) -> [UInt8] { littleEndian ? u16(v & 0xFFFF) + u16(v >> 16) : u16(v >> 16) + u16(v & 0xFFFF) }
    var tiff: [UInt8] = littleEndian ? [0x49, 0x49] : [0x4D, 0x4D]
    tiff += u16(42) + u32(8)
    tiff += u16(2)  // two entries: an unrelated tag first
    tiff += u16(0x010F) + u16(2) + u32(4) + [0x41, 0x42, 0x43, 0]
    tiff += u16(0x0112) + u16(3) + u32(1) + u16(orientation) + [0, 0]
    tiff += u32(0)
    let payload = Array("Exif\0\0".utf8) + tiff
    let length = payload.count + 2
    return [0xFF, 0xD8, 0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + payload + jpeg[2...]
}

/// CMYK JPEGs from print workflows become RGB.
@Suite struct CMYKJPEGTests {
    /// An Adobe-style YCCK JPEG (TurboJPEG writes the Adobe segment) of inverted CMYK samples, 255 = no ink.
    func adobeJPEG(width: Int, height: Int, inverted: (Int, Int) -> [UInt8]) throws -> [UInt8] {
        var pixels: [UInt8] = []
        for y in 0..<height { for x in 0..<width { pixels += inverted(x, y) } }
        let handle = try #require(tjInitCompress())
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let status = tjCompress2(handle, pixels, Int32(width), 0, Int32(height), Int32(TJPF_CMYK.rawValue), &output, &size,
                                 Int32(TJSAMP_444.rawValue), 100, 0)
        defer { tjFree(output) }
        #expect(status == 0)
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }

    @Test func adobeCMYKBecomesRGB() throws {
        // Left half red (no cyan, full magenta and yellow), right half mid gray (black ink only).
        let bytes = try adobeJPEG(width: 32, height: 16) { x, _ in x < 16 ? [255, 0, 0, 255] : [255, 255, 255, 128] }
        let image = try JPEG.decode(bytes)
        #expect(image.channels == 3 && image.width == 32 && image.height == 16 && image.iccProfile == nil)
        func pixel(_ x: Int, _ y: Int) -> [Int] { (0..<3).map { Int((image.planes[$0 * image.pixelCount + y * 32 + x] * 255).rounded()) } }
        for (got, want) in [(pixel(4, 8), [255, 0, 0]), (pixel(28, 8), [128, 128, 128])] {
            #expect(zip(got, want).allSatisfy { abs($0 - $1) <= 3 }, "\(got) vs \(want)")
        }
    }
}
