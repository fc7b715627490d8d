import Degradations
import Foundation
import Imaging
import SeededRandom
import TestPhotos
import Testing
import Training
@testable import savl

@Suite("savl degrade")
struct DegradeCommandTests {
    /// A fresh folder with HR images of the given sizes, named hr0.png, hr1.png, ...
    private func folder(_ sizes: [(Int, Int)]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("savl-degrade-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var rng = SeededGenerator(seed: 3)
        for (i, (w, h)) in sizes.enumerated() {
            let picture = DegradationThroughput.syntheticPicture(side: max(w, h), &rng)
            try writeImage(picture.cropped(x: 0, y: 0, width: w, height: h), to: dir.appendingPathComponent("hr\(i).png"))
        }
        return dir
    }

    private func run(_ arguments: [String]) throws -> [String] {
        let command = try #require(try Savl.parseAsRoot(["degrade"] + arguments) as? DegradeCommand)
        return try command.execute()
    }

    private func bytes(_ url: URL) throws -> Data { try Data(contentsOf: url) }

    @Test("writes LR, parameters, 16-bit maps and a sheet; the same seed gives the same bytes", arguments: DegradationPreset.allCases)
    func outputs(preset: DegradationPreset) throws {
        let input = try folder([(96, 64)])
        let hr = input.appendingPathComponent("hr0.png").path
        let a = input.appendingPathComponent("a"), b = input.appendingPathComponent("b"), c = input.appendingPathComponent("c")
        for (out, seed) in [(a, "7"), (b, "7"), (c, "8")] {
            _ = try run([hr, "-o", out.path, "--preset", preset.rawValue, "--seed", seed, "--maps", "--sheet"])
        }
        let lr = try readImage(at: a.appendingPathComponent("hr0.png"))
        #expect(lr.width == 24 && lr.height == 16 && lr.bitDepth == 8)
        let record = try JSONDecoder().decode(DegradationRecord.self, from: bytes(a.appendingPathComponent("hr0.json")))
        #expect(record.parameters.scale == 4 && record.seed == 7 && record.preset == preset.shortName)
        #expect(record.imageSeed == TestSet.imageSeed(setSeed: 7, fileName: "hr0.png"))
        for kind in GroundTruthMaps.Kind.allCases {
            let entry = try #require(record.maps?[kind.rawValue])
            #expect(entry.range == [kind.range.lowerBound, kind.range.upperBound])
            let map = try readImage(at: a.appendingPathComponent(entry.file))
            #expect(map.bitDepth == 16 && map.channels == 1 && map.width == 24 && map.height == 16)
        }
        #expect(FileManager.default.fileExists(atPath: a.appendingPathComponent("hr0_sheet.png").path))
        for file in ["hr0.png", "hr0.json", "hr0_noiseSigma.png", "hr0_sheet.png"] {
            #expect(try bytes(a.appendingPathComponent(file)) == bytes(b.appendingPathComponent(file)), "\(file) differs between equal seeds")
        }
        if preset != .bicubic {
            #expect(try bytes(a.appendingPathComponent("hr0.png")) != bytes(c.appendingPathComponent("hr0.png")))
        }
    }

    @Test("a test set gets a fixed name, a manifest and a checksum that repeats")
    func testSet() throws {
        let input = try folder([(64, 64), (70, 50)])
        let out1 = input.appendingPathComponent("sets1").path, out2 = input.appendingPathComponent("sets2").path
        let lines1 = try run([input.path, "--test-set", "-o", out1, "--preset", "heterogeneous", "--seed", "1"])
        let lines2 = try run([input.path, "--test-set", "-o", out2, "--preset", "heterogeneous", "--seed", "1"])
        let setName = "\(input.lastPathComponent)-hetero-x4"
        #expect(lines1.contains { $0.hasPrefix("\(setName): 2 images") })
        let checksum = try #require(lines1.last)
        #expect(checksum.hasPrefix("sha256 ") && checksum.count == 7 + 64)
        #expect(lines2.last == checksum)
        let root = URL(fileURLWithPath: out1).appendingPathComponent(setName)
        // 70x50 is cropped to a multiple of the scale, and the cropped HR is part of the set.
        let hr = try readImage(at: root.appendingPathComponent("HR/hr1.png"))
        #expect(hr.width == 68 && hr.height == 48)
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("maps/hr1_affected.png").path))
        let manifest = try JSONDecoder().decode(TestSetManifest.self, from: bytes(root.appendingPathComponent("manifest.json")))
        #expect(manifest.images == ["hr0", "hr1"] && "sha256 " + manifest.sha256 == checksum)
        let other = try run([input.path, "--test-set", "-o", input.appendingPathComponent("sets3").path, "--preset", "heterogeneous", "--seed", "2"])
        #expect(other.last != checksum)
    }

    @Test("bad input is refused with a clear message before anything is written")
    func badInput() throws {
        let input = try folder([(130, 96), (28, 28), (64, 64)])
        let out = input.appendingPathComponent("out")
        func message(_ arguments: [String]) -> String {
            do {
                _ = try run(arguments)
                return ""
            } catch {
                return Savl.message(for: error)
            }
        }
        #expect(message([input.appendingPathComponent("hr0.png").path, "-o", out.path]).contains("not divisible by the scale 4"))
        #expect(message([input.appendingPathComponent("hr1.png").path, "-o", out.path]).contains("smaller than the minimum"))
        #expect(message([input.appendingPathComponent("hr2.png").path, "-o", out.path, "--crop", "96"]).contains("smaller than the crop 96x96"))
        #expect(message([input.appendingPathComponent("hr2.png").path, "-o", out.path, "--crop", "30"]).contains("multiple of the scale"))
        #expect(message([input.appendingPathComponent("missing.png").path, "-o", out.path]).contains("no such file"))
        #expect(!FileManager.default.fileExists(atPath: out.path))

        var config = DegradationConfig.preset(.realesrgan)
        config.first.noise.grayProbability = 2
        let configURL = input.appendingPathComponent("bad.json")
        try JSONEncoder().encode(config).write(to: configURL)
        let error = message([input.appendingPathComponent("hr2.png").path, "-o", out.path, "--config", configURL.path])
        #expect(error.contains("first.noise.grayProbability: 2.0 is not a probability"))
        try Data("first:\n  noise: {greyProbability: 0.5}\n".utf8).write(to: configURL)
        #expect(message([input.appendingPathComponent("hr2.png").path, "-o", out.path, "--config", configURL.path])
            .contains("first.noise.greyProbability: unknown key (did you mean 'grayProbability'?)"))
        try Data("final: {jpegQuality: many}\n".utf8).write(to: configURL)
        #expect(message([input.appendingPathComponent("hr2.png").path, "-o", out.path, "--config", configURL.path])
            .contains("final.jpegQuality[0]: expected an integer, got 'many'"))
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test("a YAML configuration is laid over the preset: keys left out keep the preset's values")
    func partialConfig() throws {
        let input = try folder([(64, 64)])
        let configURL = input.appendingPathComponent("jpeg.yml")
        try Data("final:\n  jpegQuality: [90, 92]   # only this changes\nheterogeneity: {jpegProbability: 0}\n".utf8).write(to: configURL)
        let out = input.appendingPathComponent("out")
        _ = try run([input.appendingPathComponent("hr0.png").path, "-o", out.path, "--preset", "realesrgan", "--config", configURL.path])
        let record = try JSONDecoder().decode(DegradationRecord.self, from: Data(contentsOf: out.appendingPathComponent("hr0.json")))
        #expect(record.parameters.final?.jpeg.levels.allSatisfy { (90...92).contains($0) } == true)
        let config = try DegradationConfig.load(yaml: String(contentsOf: configURL, encoding: .utf8), over: .preset(.realesrgan))
        var expected = DegradationConfig.preset(.realesrgan)
        expected.final.jpegQuality = 90...92
        expected.heterogeneity = HeterogeneityConfig()
        expected.heterogeneity?.jpegProbability = 0
        #expect(config == expected)
    }

    @Test("--print-config gives a configuration that --config accepts and that reproduces the preset")
    func printConfig() throws {
        let input = try folder([(64, 64)])
        let json = try #require(try run(["--print-config", "--preset", "heterogeneous"]).first)
        let configURL = input.appendingPathComponent("hetero.json")
        try Data(json.utf8).write(to: configURL)
        #expect(try JSONDecoder().decode(DegradationConfig.self, from: Data(json.utf8)) == .preset(.heterogeneous))
        let hr = input.appendingPathComponent("hr0.png").path
        _ = try run([hr, "-o", input.appendingPathComponent("p").path, "--preset", "heterogeneous"])
        _ = try run([hr, "-o", input.appendingPathComponent("c").path, "--config", configURL.path])
        #expect(try bytes(input.appendingPathComponent("p/hr0.png")) == bytes(input.appendingPathComponent("c/hr0.png")))
    }

    @Test("what a killed run left mid-write is removed; an empty configuration is refused")
    func leftoversAndEmptyConfigurations() throws {
        let input = try folder([(64, 48)])
        defer { try? FileManager.default.removeItem(at: input) }
        let hr = input.appendingPathComponent("hr0.png").path
        let out = input.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        for name in [".hr0.png.tmp-1k2", ".hr0.json.tmp-zz", "keep.txt"] { try Data([1]).write(to: out.appendingPathComponent(name)) }
        _ = try run([hr, "-o", out.path, "--preset", "bicubic"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted() == ["hr0.json", "hr0.png", "keep.txt"])
        let empty = input.appendingPathComponent("empty.yml")
        try "# to do\n".write(to: empty, atomically: true, encoding: .utf8)
        let error = try #require(throws: DegradeCommand.Failure.self) { try run([hr, "-o", out.path, "--config", empty.path]) }
        #expect(error.description.contains("empty configuration"), "\(error)")
    }
}
