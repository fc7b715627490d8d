import Foundation
import Testing
@testable import Imaging

/// WebP through libwebp: lossy round trips, alpha, gray, and the files savl refuses.
@Suite struct WebPTests {
    /// The mean absolute difference of two images of the same shape, in 8-bit levels.
    func meanLevels(_ a: Image, _ b: Image) -> Float {
        zip(a.planes, b.planes).map { Swift.abs($0 - $1) }.reduce(0, +) / Float(a.planes.count) * 255
    }

    @Test func lossyRoundTripKeepsTheImage() throws {
        let image = TestImages.smooth(width: 37, height: 23)
        let bytes = try encodeImage(image, format: .webp, quality: 95)
        #expect(ImageFormat(signatureOf: bytes) == .webp && WebP.sniff(bytes))
        let back = try decodeImage(bytes)
        #expect(back.width == 37 && back.height == 23 && back.channels == 3 && back.bitDepth == 8)
        #expect(meanLevels(back, image) < 2, "mean difference \(meanLevels(back, image)) levels")
        let rough = try decodeImage(encodeImage(image, format: .webp, quality: 5))
        #expect(meanLevels(rough, image) > meanLevels(back, image), "quality changes the result")
        #expect(throws: ImageError.self) { try encodeImage(image, format: .webp, quality: 0) }
    }

    @Test func alphaIsKeptAndGrayBecomesRGB() throws {
        let rgba = TestImages.smooth(width: 16, height: 12, channels: 4)
        let back = try decodeImage(encodeImage(rgba, format: .webp, quality: 90))
        #expect(back.channels == 4)
        // libwebp keeps alpha losslessly by default.
        let n = rgba.pixelCount
        let alphaError = zip(back.planes[(3 * n)...], rgba.planes[(3 * n)...]).map { Swift.abs($0 - $1) }.max() ?? 1
        #expect(alphaError <= 0.5 / 255, "alpha differs by \(alphaError * 255) levels")

        let gray = TestImages.smooth(width: 16, height: 12, channels: 1)
        let rgb = try decodeImage(encodeImage(gray, format: .webp, quality: 95))
        #expect(rgb.channels == 3)
        #expect(meanLevels(Image(width: 16, height: 12, channels: 1, planes: Array(rgb.planes[0..<n])), gray) < 3)
    }

    @Test func writeImageTakesTheFormatFromTheExtension() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("savl-webp-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("a.WEBP")
        try writeImage(TestImages.smooth(width: 8, height: 8), to: url)
        #expect(try readImage(at: url).width == 8)
        #expect(ImageFormat(pathExtension: "webp") == .webp && ImageFormat.webp.fileExtension == "webp")
        #expect(isReadableImageExtension("WebP"))
    }

    /// An animated file (a VP8X header with the animation flag) is refused by name; a cut file is
    /// reported as truncated; one cut inside its pixels as corrupt; a bomb before its pixels are allocated.
    @Test func badFilesGetClearErrors() throws {
        func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        func le24(_ v: Int) -> [UInt8] { Array(le32(v)[0..<3]) }
        let vp8x: [UInt8] = Array("VP8X".utf8) + le32(10) + [0x02, 0, 0, 0] + le24(99) + le24(99)
        let animated = Array("RIFF".utf8) + le32(4 + vp8x.count) + Array("WEBP".utf8) + vp8x
        #expect(throws: ImageError.self) { try decodeImage(animated) }
        do { _ = try decodeImage(animated) } catch let error as ImageError { #expect(error.kind == .unsupportedFormat && "\(error)".contains("animated")) }

        let good = try encodeImage(TestImages.smooth(width: 40, height: 30), format: .webp, quality: 90)
        do { _ = try decodeImage(Array(good[0..<20])); Issue.record("a cut header decoded") } catch let error as ImageError {
            #expect("\(error)".contains("truncated"), "\(error)")
        }
        let halved = Array(good[0..<(good.count / 2)])
        do { _ = try decodeImage(halved); Issue.record("half a file decoded") } catch let error as ImageError {
            #expect(error.kind == .corrupt && "\(error)".contains("40x30"), "\(error)")
        }
        #expect(throws: ImageError.self) { try decodeImage(good, maxPixels: 1000) }
    }
}
