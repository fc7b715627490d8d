import Foundation
import TestPhotos
import Testing

/// End-to-end tests of `savl eval`, running the built executable.
@Suite struct EvalCommandTests {
    @Test func reportsTablesAndJSON() throws {
        let dir = try temporaryDirectory("eval-ok")
        defer { try? FileManager.default.removeItem(at: dir) }
        try writePNG(width: 50, height: 38, channels: 3, to: dir.appendingPathComponent("a-rgb.png"))
        try writePNG(width: 40, height: 44, channels: 1, to: dir.appendingPathComponent("b-gray.png"))
        try writePNG(width: 48, height: 48, channels: 4, to: dir.appendingPathComponent("c-rgba.png"))
        try Data("not an image".utf8).write(to: dir.appendingPathComponent("notes.txt"))  // ignored
        let json = dir.appendingPathComponent("report.json")

        let run = try runSavl(["eval", dir.path, "--scale", "4", "--json", json.path])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        for name in ["a-rgb.png", "b-gray.png", "c-rgba.png", "mean (3)", "48x36"] {
            #expect(run.stdout.contains(name), "missing \(name) in:\n\(run.stdout)")
        }
        let report = try JSONDecoder().decode(Report.self, from: Data(contentsOf: json))
        #expect(report.scale == 4 && report.border == 4 && report.channel == "y" && report.method == "bicubic")
        let set = try #require(report.sets.first)
        #expect(set.images.map(\.name) == ["a-rgb.png", "b-gray.png", "c-rgba.png"])
        #expect(set.images.allSatisfy { $0.psnr > 15 && $0.psnr < 60 && $0.ssim > 0.2 && $0.ssim <= 1 })
        #expect(set.failures.isEmpty)
        let mean = set.images.map(\.psnr).reduce(0, +) / 3
        #expect(abs((set.meanPSNR ?? 0) - mean) < 1e-9)
    }

    @Test func badFilesAreListedAndTheOthersStillScored() throws {
        let dir = try temporaryDirectory("eval-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        try writePNG(width: 32, height: 32, channels: 3, to: dir.appendingPathComponent("good.png"))
        let good = try Data(contentsOf: dir.appendingPathComponent("good.png"))
        try good.prefix(good.count / 2).write(to: dir.appendingPathComponent("truncated.png"))
        try Data().write(to: dir.appendingPathComponent("empty.jpg"))
        let missing = dir.appendingPathComponent("no-such-set").path
        let json = dir.appendingPathComponent("r.json")

        let run = try runSavl(["eval", dir.path, missing, "--scale", "2", "--json", json.path])
        #expect(run.status == 1)
        #expect(run.stdout.contains("good.png") && run.stdout.contains("mean (1)"))
        #expect(run.stderr.contains("3 failures"), "stderr: \(run.stderr)")
        #expect(run.stderr.contains(dir.appendingPathComponent("truncated.png").path))
        #expect(run.stderr.contains(dir.appendingPathComponent("empty.jpg").path + ": file is empty"))
        #expect(run.stderr.contains("no-such-set: no such folder"))
        let report = try JSONDecoder().decode(Report.self, from: Data(contentsOf: json))
        #expect(report.sets.count == 2 && report.sets[0].images.count == 1 && report.sets[0].failures.count == 2)
    }

    @Test func unwritableJSONFailsWithoutLeavingAFile() throws {
        let dir = try temporaryDirectory("eval-json")
        defer { try? FileManager.default.removeItem(at: dir) }
        try writePNG(width: 24, height: 24, channels: 3, to: dir.appendingPathComponent("x.png"))
        let target = dir.appendingPathComponent("missing-dir/r.json").path
        let run = try runSavl(["eval", dir.path, "--scale", "2", "--json", target])
        #expect(run.status == 1)
        #expect(run.stderr.contains(target))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["x.png"])
    }

    /// A test-set folder (HR/ and LR/) is scored on its own LR images: with bicubic LR images the scores
    /// are those of the plain folder. A model scores the same through `--method model` as its `savl upscale`
    /// outputs do through `--results`, and a missing result file is a listed failure.
    @Test func testSetsModelsAndResultFolders() throws {
        let dir = try temporaryDirectory("eval-sets")
        defer { try? FileManager.default.removeItem(at: dir) }
        let hr = dir.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: hr, withIntermediateDirectories: true)
        try writePNG(width: 48, height: 40, channels: 3, to: hr.appendingPathComponent("a.png"))
        try writePNG(width: 36, height: 44, channels: 3, to: hr.appendingPathComponent("b.png"))
        let made = try runSavl(["degrade", "--test-set", "--preset", "bicubic", hr.path, "-o", dir.path])
        #expect(made.status == 0, "stderr: \(made.stderr)")
        let testSet = dir.appendingPathComponent("photos-bicubic-x4")

        func report(_ arguments: [String]) throws -> Report {
            let json = dir.appendingPathComponent("r.json")
            let run = try runSavl(["eval"] + arguments + ["--json", json.path, "--threads", "1"])
            #expect(run.status == 0, "stderr: \(run.stderr)")
            return try JSONDecoder().decode(Report.self, from: Data(contentsOf: json))
        }
        let plain = try report([hr.path]), fromSet = try report([testSet.path])
        #expect(fromSet.sets[0].images.map(\.name) == ["a.png", "b.png"])
        #expect(abs(try #require(fromSet.sets[0].meanPSNR) - #require(plain.sets[0].meanPSNR)) < 1e-9)

        let model = try makeModelFile(in: dir)
        let byModel = try report([testSet.path, "--method", "model", "--model", model.path])
        #expect(byModel.method.contains("tiny x4") && byModel.method.contains(model.path), "\(byModel.method)")
        let results = dir.appendingPathComponent("results/photos-bicubic-x4")
        let upscaled = try savl(["upscale", testSet.appendingPathComponent("LR").path, "-o", results.path, "--model", model.path])
        #expect(upscaled.status == 0, "stderr: \(upscaled.stderr)")
        let fromFiles = try report([testSet.path, "--results", dir.appendingPathComponent("results").path])
        #expect(fromFiles.method.hasPrefix("results in "))
        for (a, b) in zip(byModel.sets[0].images, fromFiles.sets[0].images) {
            #expect(a.name == b.name && abs(a.psnr - b.psnr) < 1e-9 && abs(a.ssim - b.ssim) < 1e-9)
        }

        try FileManager.default.removeItem(at: results.appendingPathComponent("b.png"))
        let missing = try runSavl(["eval", testSet.path, "--results", dir.appendingPathComponent("results").path])
        #expect(missing.status == 1 && missing.stdout.contains("a.png"))
        #expect(missing.stderr.contains(results.appendingPathComponent("b.png").path), "stderr: \(missing.stderr)")
        let noModel = try runSavl(["eval", testSet.path, "--method", "model", "--model", dir.appendingPathComponent("none.safetensors").path])
        #expect(noModel.status != 0 && noModel.stderr.contains("none.safetensors: no such file"), "stderr: \(noModel.stderr)")
        let mixed = try runSavl(["eval", testSet.path, "--model", model.path])
        #expect(mixed.status != 0 && mixed.stderr.contains("--model only applies with --method model"))
        let strengthAlone = try runSavl(["eval", testSet.path, "--strength", "0.5"])
        #expect(strengthAlone.status != 0 && strengthAlone.stderr.contains("--strength only applies with --method model"))
    }

    /// An oracle model is scored with --oracle-maps: a bicubic downscale gets the zero maps of a clean image,
    /// a test set's LR image its record's maps, and an LR image without a record is a listed failure.
    /// Without the flag an oracle model is refused, as the flag is for any other model.
    @Test func oracleModelsReadTheirMaps() throws {
        let dir = try temporaryDirectory("eval-oracle")
        defer { try? FileManager.default.removeItem(at: dir) }
        let hr = dir.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: hr, withIntermediateDirectories: true)
        try writePNG(width: 48, height: 40, channels: 3, to: hr.appendingPathComponent("a.png"))
        try writePNG(width: 36, height: 44, channels: 3, to: hr.appendingPathComponent("b.png"))
        let made = try runSavl(["degrade", "--test-set", "--preset", "heterogeneous", hr.path, "-o", dir.path, "--name", "hetero"])
        #expect(made.status == 0, "stderr: \(made.stderr)")
        let testSet = dir.appendingPathComponent("hetero")
        let oracle = try makeModelFile(in: dir, name: "oracle.safetensors", configure: {
            $0.code = .oracle
            $0.latentDim = 6
        }).path
        let plain = try makeModelFile(in: dir).path

        for folder in [hr, testSet] {
            let run = try runSavl(["eval", folder.path, "--method", "model", "--model", oracle, "--oracle-maps", "--threads", "1"])
            #expect(run.status == 0 && run.stdout.contains("a.png") && run.stdout.contains("mean (2)"), "stderr: \(run.stderr)")
        }
        try FileManager.default.removeItem(at: testSet.appendingPathComponent("params/b.json"))
        let noRecord = try runSavl(["eval", testSet.path, "--method", "model", "--model", oracle, "--oracle-maps", "--threads", "1"])
        #expect(noRecord.status == 1 && noRecord.stdout.contains("mean (1)"))
        #expect(noRecord.stderr.contains("params/b.json: no degradation record for b.png"), "stderr: \(noRecord.stderr)")

        let unmapped = try runSavl(["eval", hr.path, "--method", "model", "--model", oracle])
        #expect(unmapped.status != 0 && unmapped.stderr.contains("is an oracle model"), "stderr: \(unmapped.stderr)")
        let notOracle = try runSavl(["eval", hr.path, "--method", "model", "--model", plain, "--oracle-maps"])
        #expect(notOracle.status != 0 && notOracle.stderr.contains("--oracle-maps is for an oracle model"), "stderr: \(notOracle.stderr)")
        let bicubic = try runSavl(["eval", hr.path, "--oracle-maps"])
        #expect(bicubic.status != 0 && bicubic.stderr.contains("--oracle-maps only applies with --method model"))
        let upscale = try runSavl(["upscale", hr.appendingPathComponent("a.png").path, "-o", dir.appendingPathComponent("out").path, "--model", oracle])
        #expect(upscale.status != 0 && upscale.stderr.contains("is an oracle model"), "stderr: \(upscale.stderr)")
    }

    @Test func invalidArgumentsAreRejected() throws {
        #expect(try runSavl(["eval", "/tmp", "--scale", "1"]).status != 0)
        #expect(try runSavl(["eval", "/tmp", "--method", "lanczos"]).status != 0)
        #expect(try runSavl(["eval"]).status != 0)
    }

    /// The published bicubic baselines (Y, border = scale), within 0.05 dB and 0.002 SSIM.
    @Test(.enabled(if: evalData != nil, "needs ../shared/data/eval"))
    func reproducesPublishedBicubicBaselines() throws {
        let data = try #require(evalData)
        let published: [Int: [String: (psnr: Double, ssim: Double)]] = [
            4: ["Set5": (28.42, 0.8104), "Set14": (26.00, 0.7027)],
            2: ["Set5": (33.66, 0.9299), "Set14": (30.24, 0.8688)],
        ]
        let dir = try temporaryDirectory("eval-baseline")
        defer { try? FileManager.default.removeItem(at: dir) }
        for (scale, sets) in published {
            let json = dir.appendingPathComponent("x\(scale).json")
            let run = try runSavl(["eval", data.appendingPathComponent("Set5").path,
                                   data.appendingPathComponent("Set14").path, "--scale", "\(scale)", "--json", json.path])
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let report = try JSONDecoder().decode(Report.self, from: Data(contentsOf: json))
            for set in report.sets {
                let target = try #require(sets[set.name])
                let p = try #require(set.meanPSNR), s = try #require(set.meanSSIM)
                #expect(abs(p - target.psnr) < 0.05, "x\(scale) \(set.name): PSNR \(p), published \(target.psnr)")
                #expect(abs(s - target.ssim) < 0.002, "x\(scale) \(set.name): SSIM \(s), published \(target.ssim)")
            }
        }
    }
}

/// The fields of the JSON report the tests read.
struct Report: Decodable {
    struct Score: Decodable { let name: String; let width: Int; let height: Int; let psnr: Double; let ssim: Double }
    struct Failure: Decodable { let path: String; let reason: String }
    struct SetReport: Decodable {
        let name: String
        let images: [Score]
        let meanPSNR: Double?
        let meanSSIM: Double?
        let failures: [Failure]
    }
    let scale: Int
    let border: Int
    let channel: String
    let method: String
    let sets: [SetReport]
}

/// `../shared/data/eval` next to the repository, when present.
let evalData: URL? = {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let url = repo.deletingLastPathComponent().appendingPathComponent("shared/data/eval")
    return FileManager.default.fileExists(atPath: url.appendingPathComponent("Set5").path) ? url : nil
}()

/// Writes a small smooth test image as an 8-bit PNG with a minimal encoder (stored deflate
/// blocks), so these tests depend on nothing but the executable.
func writePNG(width: Int, height: Int, channels: Int, to url: URL) throws {
    let colorType: UInt8 = [1: 0, 2: 4, 3: 2, 4: 6][channels]!
    var raw = [UInt8]()
    for y in 0..<height {
        raw.append(0)
        for x in 0..<width {
            for c in 0..<channels {
                let v = c == 3 ? 255 : (x * 5 + y * 3 + c * 60 + (x * y) % 23) % 256
                raw.append(UInt8(v))
            }
        }
    }
    func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return be32(data.count) + body + be32(Int(crc32(body)))
    }
    var zlib: [UInt8] = [0x78, 0x01]
    var offset = 0
    repeat {
        let n = min(65_535, raw.count - offset)
        let last: UInt8 = offset + n == raw.count ? 1 : 0
        zlib += [last, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
        zlib += raw[offset..<(offset + n)]
        offset += n
    } while offset < raw.count
    var a: UInt32 = 1, b: UInt32 = 0
    for byte in raw { a = (a + UInt32(byte)) % 65_521; b = (b + a) % 65_521 }
    zlib += be32(Int(b << 16 | a))
    let ihdr = be32(width) + be32(height) + [8, colorType, 0, 0, 0]
    let png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr) + chunk("IDAT", zlib) + chunk("IEND", [])
    try Data(png).write(to: url)
}

func crc32(_ data: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in data {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
    }
    return ~crc
}
