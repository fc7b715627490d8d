import Degradations
import Foundation
import Imaging
import SeededRandom
import Testing

/// The library behind `savl degrade`, without the command line.
@Suite struct DegradationBatchTests {
    private func folder(count: Int, side: Int) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("savl-batch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var rng = SeededGenerator(seed: 5)
        for i in 0..<count {
            try writeImage(DegradationThroughput.syntheticPicture(side: side, &rng), to: dir.appendingPathComponent("p\(i).png"))
        }
        return dir
    }

    @Test func aTestSetHoldsEveryFileItsManifestNamesAndTheirChecksum() throws {
        let input = try folder(count: 2, side: 64)
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("savl-batch-out-\(UUID().uuidString)")
        defer { for url in [input, output] { try? FileManager.default.removeItem(at: url) } }
        var batch = DegradationBatch(inputs: [input.path], output: output, config: .preset(.heterogeneous), configLabel: "hetero")
        batch.testSet = true
        batch.name = "pair-set"
        let lines = try batch.run()
        let root = output.appendingPathComponent("pair-set")
        let manifest = try JSONDecoder().decode(TestSetManifest.self, from: Data(contentsOf: root.appendingPathComponent("manifest.json")))
        #expect(manifest.images == ["p0", "p1"] && manifest.scale == 4 && manifest.preset == "hetero")
        for file in manifest.files { #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent(file).path), "\(file)") }
        #expect(manifest.files.contains("LR/p0.png") && manifest.files.contains("HR/p1.png") && manifest.files.contains("params/p0.json"))
        #expect(try readImage(at: root.appendingPathComponent("LR/p0.png")).width == 16)
        #expect(try DegradationBatch.checksum(of: manifest.files, in: root) == manifest.sha256)
        #expect(lines.last == "sha256 \(manifest.sha256)")

        // The same seed gives the same bytes.
        let again = output.appendingPathComponent("again")
        var second = batch
        second.output = again
        _ = try second.run()
        let other = try JSONDecoder().decode(TestSetManifest.self, from: Data(contentsOf: again.appendingPathComponent("pair-set/manifest.json")))
        #expect(other.sha256 == manifest.sha256)
    }

    @Test func nothingIsWrittenWhenAnInputIsUnusable() throws {
        let input = try folder(count: 1, side: 64)
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("savl-batch-out-\(UUID().uuidString)")
        defer { for url in [input, output] { try? FileManager.default.removeItem(at: url) } }
        var batch = DegradationBatch(inputs: [input.appendingPathComponent("p0.png").path, input.appendingPathComponent("missing.png").path],
                                     output: output, config: .preset(.bicubic), configLabel: "bicubic")
        #expect(throws: DegradationBatchError.self) { try batch.run() }
        batch.inputs = [input.appendingPathComponent("p0.png").path]
        batch.crop = 80
        let error = try #require(throws: DegradationBatchError.self) { try batch.run() }
        #expect(error.description.contains("smaller than the crop"))
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }
}
