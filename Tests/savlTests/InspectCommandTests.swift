import Foundation
import Imaging
import SAVL
import SeededRandom
import Tensors
import TestPhotos
import Testing
@testable import savl

/// Tests of `savl inspect`: the executable end to end, and the field, PCA and drawing it rests on.
@Suite struct InspectCommandTests {
    @Test func writesMapsSheetResultAndReport() throws {
        let dir = try temporaryDirectory("inspect")
        defer { try? FileManager.default.removeItem(at: dir) }
        let modelURL = try makeModelFile(in: dir)
        let input = dir.appendingPathComponent("scene.png")
        try writeImage(photo(width: 60, height: 44, channels: 4, seed: 3), to: input)
        let out = dir.appendingPathComponent("out")
        let run = try savl(["inspect", input.path, "-o", out.path, "--model", modelURL.path])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        func read(_ suffix: String) throws -> Image { try readImage(at: out.appendingPathComponent("scene_\(suffix)")) }

        let code = try read("code.png"), severity = try read("severity.png"), sr = try read("sr.png"), sheet = try read("sheet.png")
        #expect(code.width == 60 && code.height == 44 && code.channels == 3)
        #expect(severity.width > 60 + 30 && severity.height >= 44)
        #expect(sr.width == 240 && sr.height == 176 && sr.channels == 4)
        #expect(sheet.width == 60 + 8 + 60 + 8 + severity.width)
        #expect(try read("input.png").planes == (try readImage(at: input)).planes)
        for c in 0..<3 {
            let plane = code.planes[(c * code.pixelCount)..<((c + 1) * code.pixelCount)]
            #expect(plane.min() == 0 && plane.max() == 1, "component \(c) is not stretched to [0, 1]")
        }

        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("scene_inspect.json"))) as! [String: Any]
        let variance = try #require(report["variance"] as? [String: Double])
        #expect(variance["min"]! > 0 && variance["min"]! <= variance["mean"]! && variance["mean"]! <= variance["max"]!)
        let axes = try #require(report["principalAxes"] as? [[String: Any]])
        let shares = axes.map { $0["share"] as! Double }
        #expect(axes.count == 3 && shares == shares.sorted(by: >) && shares.reduce(0, +) <= 1 + 1e-9)
        let codeInfo = try #require(report["code"] as? [String: Any])
        #expect(codeInfo["channels"] as? Int == 4 && (codeInfo["min"] as! [Double]).count == 4)
        #expect((report["files"] as? [String: String])?["severity"] == "scene_severity.png")
    }

    @Test func codelessModelsAndMissingFilesAreErrors() throws {
        let dir = try temporaryDirectory("inspect-modes")
        defer { try? FileManager.default.removeItem(at: dir) }
        var rng = SeededGenerator(seed: 2)
        var config = try SAVLConfig.preset("tiny")
        config.code = .none
        let codeless = dir.appendingPathComponent("plain.safetensors")
        try ModelFile.save(SAVLModel(config, rng: &rng), to: codeless)
        let input = dir.appendingPathComponent("x.png")
        try writeImage(photo(width: 16, height: 16, channels: 3, seed: 1), to: input)
        let run = try savl(["inspect", input.path, "-o", dir.appendingPathComponent("o").path, "--model", codeless.path])
        #expect(run.status == 1 && run.stderr.contains("has no degradation code"), "stderr: \(run.stderr)")
        let missing = try savl(["inspect", dir.appendingPathComponent("nope.png").path, "-o", dir.path, "--model", makeModelFile(in: dir).path])
        #expect(missing.status == 1 && missing.stderr.contains("nope.png: no such file"), "stderr: \(missing.stderr)")
        let help = try savl(["inspect", "--help"])
        #expect(help.status == 0 && help.stdout.contains("NAME_severity.png") && help.stdout.contains("--no-sr"))
    }
}
