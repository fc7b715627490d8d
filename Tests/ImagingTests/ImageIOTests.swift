import Foundation
import Testing
@testable import Imaging

/// A fresh empty directory under the system temporary directory.
func makeTemporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("savl-\(label)-\(UInt64.random(in: 0...UInt64.max))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite struct ImageIOTests {
    @Test func writesAndReadsBothFormatsByContent() throws {
        let dir = try makeTemporaryDirectory("io")
        defer { try? FileManager.default.removeItem(at: dir) }
        let image = TestImages.exact(width: 20, height: 10, channels: 3, bitDepth: 16)
        let png = dir.appendingPathComponent("a.png")
        try writeImage(image, to: png)
        #expect(TestImages.identical(try readImage(at: png), image))

        let jpeg = dir.appendingPathComponent("b.JPG")
        try writeImage(TestImages.smooth(width: 20, height: 10), to: jpeg, quality: 90)
        #expect(try readImage(at: jpeg).channels == 3)

        // Content decides, not the extension.
        let misnamed = dir.appendingPathComponent("really-a-png.jpg")
        try FileManager.default.copyItem(at: png, to: misnamed)
        #expect(try readImage(at: misnamed).bitDepth == 16)
        // An explicit format overrides the extension.
        let explicit = dir.appendingPathComponent("c.dat")
        try writeImage(image, to: explicit, format: .png, bitDepth: 8)
        #expect(try readImage(at: explicit).bitDepth == 8)

        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty, "temporary files left: \(leftovers)")
    }

    @Test func overwritesAtomicallyAndKeepsTheOldFileOnFailure() throws {
        let dir = try makeTemporaryDirectory("atomic")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("out.jpg")
        try writeImage(TestImages.smooth(width: 8, height: 8), to: url)
        let before = try Data(contentsOf: url)
        // Invalid quality: encoding fails before anything is written.
        let error = #expect(throws: ImageError.self) { try writeImage(TestImages.smooth(width: 8, height: 8), to: url, quality: 0) }
        #expect(error?.file == url.path)
        #expect(try Data(contentsOf: url) == before)
        try writeImage(TestImages.smooth(width: 16, height: 8), to: url, quality: 50)
        #expect(try readImage(at: url).width == 16)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.jpg"])
    }

    @Test func writeErrorsNameTheFileAndLeaveNothing() throws {
        let dir = try makeTemporaryDirectory("werr")
        defer { try? FileManager.default.removeItem(at: dir) }
        let image = TestImages.smooth(width: 4, height: 4)
        let missingDir = dir.appendingPathComponent("no/such/dir/x.png")
        let e1 = #expect(throws: ImageError.self) { try writeImage(image, to: missingDir) }
        #expect(e1?.kind == .writeFailed && e1?.description.contains(missingDir.path) == true)
        let unknown = dir.appendingPathComponent("x.tiff")
        let e2 = #expect(throws: ImageError.self) { try writeImage(image, to: unknown) }
        #expect(e2?.kind == .invalidArgument && e2?.description.contains("x.tiff") == true)
        // The target is a directory: the rename fails, the temporary file is removed.
        let e3 = #expect(throws: ImageError.self) { try writeImage(image, to: dir, format: .png) }
        #expect(e3?.kind == .writeFailed)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        #expect(throws: ImageError.self) { try writeImage(Image(width: 0, height: 0, channels: 3, planes: []), to: dir.appendingPathComponent("e.png")) }
    }

    @Test func readErrorsSayWhatIsWrong() throws {
        let dir = try makeTemporaryDirectory("rerr")
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("missing.png")
        let e1 = #expect(throws: ImageError.self) { try readImage(at: missing) }
        #expect(e1?.description == "\(missing.path): no such file")
        let e2 = #expect(throws: ImageError.self) { try readImage(at: dir) }
        #expect(e2?.reason.contains("directory") == true)
        let gif = dir.appendingPathComponent("anim.png")
        try Data("GIF89a\u{1}\u{0}\u{1}\u{0}".utf8).write(to: gif)
        let e3 = #expect(throws: ImageError.self) { try readImage(at: gif) }
        #expect(e3?.kind == .unsupportedFormat && e3?.reason.contains("GIF") == true)
    }

    @Test func processWidePixelLimitIsAdjustable() throws {
        let bytes = try PNG.encode(TestImages.exact(width: 30, height: 30, channels: 1, bitDepth: 8))
        #expect(ImageLimits.maxPixels == ImageLimits.defaultMaxPixels)
        #expect(try decodeImage(bytes).width == 30)
        #expect(throws: ImageError.self) { try decodeImage(bytes, maxPixels: 899) }
    }
}
