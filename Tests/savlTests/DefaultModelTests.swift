import Foundation
import Restoration
import TestPhotos
import Testing
@testable import savl

/// The embedded default model: found without any path, described by `--dry-run`, and better than
/// bicubic on clean and on degraded photos (a broken or untrained embedded model fails here).
@Suite struct DefaultModelTests {
    @Test func isEmbeddedAndUsedWithoutModel() throws {
        let entry = try #require(UpscaleModels.embedded.first { $0.name == UpscaleModels.defaultName }, "no embedded default model")
        let loaded = try UpscaleModels.load(nil)
        #expect(loaded.source == "embedded model default" && loaded.model.config.preset == "small" && loaded.model.config.scale == 4)
        #expect(entry.bytes.count < 10 << 20, "the default model file must stay under 10 MB")
        #expect(try loaded.cleanCode().count == loaded.model.config.latentDim && loaded.metadata["clean_code"] != nil)

        let dir = try temporaryDirectory("default-model")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in.png")
        try writePNG(width: 40, height: 30, channels: 3, to: input)
        let out = dir.appendingPathComponent("out")
        let run = try savl(["upscale", input.path, "-o", out.path, "--progress", "json"])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(run.stderr.contains("embedded model default"), "stderr: \(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("in.png").path))
    }

    /// A copy of the binary elsewhere, run from another directory, still has its model.
    @Test func anInstalledCopyNeedsNoModelFile() throws {
        let dir = try temporaryDirectory("default-model-installed")
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("savl")
        try FileManager.default.copyItem(at: try savlExecutable(), to: copy)
        try writePNG(width: 24, height: 20, channels: 3, to: dir.appendingPathComponent("in.png"))
        let process = Process()
        process.executableURL = copy
        process.currentDirectoryURL = dir
        process.arguments = ["upscale", "in.png", "-o", "out", "--threads", "1", "--progress", "none"]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/in.png").path))
    }

    /// On Set5 degraded by the heterogeneous test-set preset, the default model scores well above bicubic.
    @Test(.enabled(if: evalData != nil, "needs ../shared/data/eval"))
    func beatsBicubicOnHeterogeneousSet5() throws {
        let data = try #require(evalData)
        let dir = try temporaryDirectory("default-model-set5")
        defer { try? FileManager.default.removeItem(at: dir) }
        let made = try runSavl(["degrade", "--test-set", "--preset", "heterogeneous", "--seed", "1",
                                data.appendingPathComponent("Set5").path, "-o", dir.path])
        #expect(made.status == 0, "stderr: \(made.stderr)")
        let set = dir.appendingPathComponent("Set5-hetero-x4").path
        func meanPSNR(_ extra: [String]) throws -> Double {
            let json = dir.appendingPathComponent("r.json")
            let run = try savl(["eval", set, "--json", json.path] + extra)
            #expect(run.status == 0, "stderr: \(run.stderr)")
            return try #require(JSONDecoder().decode(Report.self, from: Data(contentsOf: json)).sets.first?.meanPSNR)
        }
        let bicubic = try meanPSNR([]), model = try meanPSNR(["--method", "model"])
        // v3 scores 24.16 against bicubic's 23.39 here.
        #expect(model > bicubic + 0.5, "default model \(model) dB, bicubic \(bicubic) dB")
    }

    /// On clean Set5 (bicubic LR, the field's protocol) the default model is well above bicubic too:
    /// it must not smooth a clean photo as if it were degraded.
    @Test(.enabled(if: evalData != nil, "needs ../shared/data/eval"))
    func beatsBicubicOnCleanSet5() throws {
        let data = try #require(evalData)
        let dir = try temporaryDirectory("default-model-clean-set5")
        defer { try? FileManager.default.removeItem(at: dir) }
        func meanPSNR(_ extra: [String]) throws -> Double {
            let json = dir.appendingPathComponent("r.json")
            let run = try savl(["eval", data.appendingPathComponent("Set5").path, "--json", json.path] + extra)
            #expect(run.status == 0, "stderr: \(run.stderr)")
            return try #require(JSONDecoder().decode(Report.self, from: Data(contentsOf: json)).sets.first?.meanPSNR)
        }
        let bicubic = try meanPSNR([]), model = try meanPSNR(["--method", "model"])
        // v3 scores 29.73 against bicubic's 28.43 here.
        #expect(model > bicubic + 0.8, "default model \(model) dB, bicubic \(bicubic) dB")
    }
}
