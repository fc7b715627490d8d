import Foundation
import Imaging
import Testing
@testable import Evaluation

/// Nearest-neighbour upscaling, to show that any `Upscaler` plugs into the benchmark.
struct NearestUpscaler: Upscaler {
    var name: String { "nearest" }
    func upscale(_ image: Image, scale: Int) throws -> Image {
        resize(image, width: image.width * scale, height: image.height * scale, method: .nearest)
    }
}

/// Returns an image of the wrong size.
struct BrokenUpscaler: Upscaler {
    var name: String { "broken" }
    func upscale(_ image: Image, scale: Int) throws -> Image { image }
}

/// A smooth, 8-bit image (bicubic does well on it).
func smoothImage(width: Int, height: Int, channels: Int) -> Image {
    var planes = [Float]()
    for c in 0..<channels {
        for y in 0..<height {
            for x in 0..<width {
                let v = 0.5 + 0.3 * sin(Double(x) / 7 + Double(c)) * cos(Double(y) / 9)
                planes.append(Float((v * 255).rounded() / 255))
            }
        }
    }
    return Image(width: width, height: height, channels: channels, planes: planes)
}

func temporaryFolder(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("savl-\(label)-\(UInt64.random(in: 0...UInt64.max))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite struct BenchmarkTests {
    @Test func hrIsCroppedTopLeftToAMultipleOfTheScaleWithoutAlpha() throws {
        let rgba = smoothImage(width: 50, height: 39, channels: 4)
        let hr = try Benchmark(scale: 4).preparedHR(rgba)
        #expect(hr.width == 48 && hr.height == 36 && hr.channels == 3)
        #expect(hr.planes[0] == rgba.planes[0] && hr.planes[47] == rgba.planes[47] && hr.planes[48] == rgba.planes[50])
        #expect(throws: MetricError.self) { try Benchmark(scale: 4).preparedHR(smoothImage(width: 3, height: 40, channels: 3)) }
        let lr = Benchmark(scale: 4).lowResolution(of: hr)
        #expect(lr.width == 12 && lr.height == 9 && lr.planes == lr.quantized().planes)
    }

    @Test func scoresAreFiniteAndBicubicBeatsNearest() throws {
        let image = smoothImage(width: 64, height: 48, channels: 3)
        let bicubic = try Benchmark(scale: 2).score(image, name: "s")
        let nearest = try Benchmark(scale: 2, upscaler: NearestUpscaler()).score(image, name: "s")
        #expect(bicubic.psnr > nearest.psnr && bicubic.ssim > nearest.ssim)
        #expect(bicubic.psnr > 30 && bicubic.psnr.isFinite)
        let error = #expect(throws: MetricError.self) { try Benchmark(scale: 2, upscaler: BrokenUpscaler()).score(image, name: "s") }
        #expect(error?.description.contains("expected 64x48") == true)
    }

    @Test func runScoresSortedFilesAndGoesOnPastFailures() throws {
        let dir = try temporaryFolder("bench")
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeImage(smoothImage(width: 40, height: 40, channels: 3), to: dir.appendingPathComponent("b.png"))
        try writeImage(smoothImage(width: 36, height: 44, channels: 1), to: dir.appendingPathComponent("a.png"))
        try writeImage(smoothImage(width: 32, height: 32, channels: 3), to: dir.appendingPathComponent("c.JPG"), quality: 95)
        try Data([0x89, 0x50, 0x4E, 0x47]).write(to: dir.appendingPathComponent("d-broken.png"))
        try Data("x".utf8).write(to: dir.appendingPathComponent("readme.txt"))
        try Data().write(to: dir.appendingPathComponent(".hidden.png"))

        var seen: [String] = []
        let report = Benchmark(scale: 2).run(directory: dir) { result in
            switch result {
            case .success(let s): seen.append(s.name)
            case .failure(let f): seen.append(URL(fileURLWithPath: f.path).lastPathComponent)
            }
        }
        #expect(seen == ["a.png", "b.png", "c.JPG", "d-broken.png"])
        #expect(report.images.map(\.name) == ["a.png", "b.png", "c.JPG"])
        #expect(report.failures.count == 1 && report.failures[0].path.hasSuffix("d-broken.png"))
        let mean = report.images.map(\.psnr).reduce(0, +) / 3
        #expect(abs((report.meanPSNR ?? 0) - mean) < 1e-12)
        #expect(report.name == dir.lastPathComponent)
    }

    @Test func missingOrEmptyFoldersAreFailures() throws {
        let dir = try temporaryFolder("bench-empty")
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = Benchmark(scale: 2).run(directory: dir)
        #expect(empty.images.isEmpty && empty.meanPSNR == nil && empty.failures.count == 1)
        let missing = Benchmark(scale: 2).run(directory: dir.appendingPathComponent("nope"))
        #expect(missing.failures.first?.reason == "no such folder")
    }

    /// A set's mean shift counts a gray image's one value for R, G and B.
    @Test func setMeansCoverGrayAndColourImages() {
        let gray = ImageScore(name: "g.png", width: 8, height: 8, psnr: 30, ssim: 0.9, rgbPSNR: 30, meanShift: [2])
        let colour = ImageScore(name: "c.png", width: 8, height: 8, psnr: 20, ssim: 0.7, rgbPSNR: 18, meanShift: [1, -1, 0])
        let set = SetReport(name: "S", path: "/x/S", images: [gray, colour], failures: [])
        #expect(set.meanPSNR == 25 && set.meanRGBPSNR == 24 && set.meanShift == [1.5, 0.5, 1])
        #expect(abs(set.meanSSIM! - 0.8) < 1e-12)
    }

    @Test func reportRendersTableAndJSON() throws {
        let score = ImageScore(name: "same.png", width: 8, height: 8, psnr: .infinity, ssim: 1, rgbPSNR: .infinity,
                               meanShift: [0.25, -1.5, 0])
        let set = SetReport(name: "S", path: "/x/S", images: [score], failures: [EvalFailure(path: "/x/S/bad.png", reason: "corrupt")])
        let report = BenchmarkReport(scale: 4, method: "bicubic", channel: .y, border: 4, sets: [set, set])
        let table = report.table()
        #expect(table.contains("same.png") && table.contains("inf") && table.contains("summary") && table.contains("1 failed"))
        #expect(table.contains("RGB PSNR") && table.contains("+0.2/-1.5/+0.0"), "\(table)")
        let json = try JSONSerialization.jsonObject(with: report.json()) as? [String: Any]
        let sets = try #require(json?["sets"] as? [[String: Any]])
        #expect((sets[0]["meanPSNR"] as? String) == "inf")
        #expect(report.failures.count == 2)
    }
}
