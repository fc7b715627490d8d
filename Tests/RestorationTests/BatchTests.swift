import Foundation
import Imaging
import SAVL
import SeededRandom
import TestPhotos
import Testing
@testable import Restoration

/// How a batch is shared among MPI ranks: the deal, and the work read off file headers.
@Suite struct BatchTests {
    @Test func largestFilesAreDealtFirstToTheLeastLoadedRank() {
        // Costs 9, 7, 6, 5, 4, 1: 9 to rank 0, 7 and 6 to rank 1 (7 < 9), 5 to rank 0 (9 < 13), 4 to rank 1 (13 < 14), 1 to rank 0 (14 < 17).
        let shares = UpscaleRanks.deal(costs: [1, 9, 4, 7, 6, 5], ranks: 2)
        #expect(shares == [[1, 5, 0], [3, 4, 2]])   // loads 9+5+1 = 15 and 7+6+4 = 17
        #expect(Set(shares.flatMap { $0 }) == Set(0..<6))
        #expect(UpscaleRanks.deal(costs: [3, 3], ranks: 3) == [[0], [1], []])
    }

    @Test func theQueueOrderIsLargestFirst() {
        #expect(UpscaleRanks.byDecreasingCost([1, 9, 4, 7, 6, 5, 9]) == [1, 6, 3, 4, 5, 2, 0])
    }

    /// A batch does the jobs its `next` hands it (a rank's part of a shared queue), and only those.
    @Test func aBatchDoesTheJobsItIsHanded() throws {
        let dir = try temporaryDirectory("batch-next")
        defer { try? FileManager.default.removeItem(at: dir) }
        var rng = SeededGenerator(seed: 2)
        let config = try SAVLConfig.preset("tiny")
        let model = SAVLModel(config, rng: &rng)
        model.eval()
        let resolver = TiledSuperResolver(model: model, strength: 1, cleanCode: [Float](repeating: 0, count: config.latentDim))
        let pipeline = UpscalePipeline(resolver: resolver, tile: 64, overlap: 8, memoryBudget: 1 << 30, colourCorrection: ColourCorrection(sigma: 0))
        let jobs = try (0..<3).map { i in
            let input = dir.appendingPathComponent("in\(i).png")
            try writeImage(photo(width: 16, height: 12, channels: 3, seed: UInt64(i)), to: input)
            return UpscaleJob(input: input, output: dir.appendingPathComponent("out\(i).png"), format: .png)
        }
        var handed = [2, 0].makeIterator()
        let reporter = CountingReporter()
        let ok = try UpscaleBatch(pipeline: pipeline, options: UpscaleOptions(), skipExisting: false, jobs: jobs)
            .run(reporter, next: { handed.next() })
        #expect(ok && reporter.begun == ["in2.png", "in0.png"] && reporter.totals == [2, 0, 0])
        #expect((0..<3).map { FileManager.default.fileExists(atPath: jobs[$0].output.path) } == [true, false, true])
    }

    @Test func headersGiveThePixels() throws {
        let dir = try temporaryDirectory("ranks-headers")
        defer { try? FileManager.default.removeItem(at: dir) }
        let png = dir.appendingPathComponent("a.png")
        try writeImage(photo(width: 37, height: 21, channels: 3, seed: 1), to: png)
        #expect(UpscaleRanks.cost(of: png) == 37 * 21)
        // A baseline JPEG's SOF0 after an APP0 segment: height 300, width 400.
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x4A, 0x46, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x01, 0x2C, 0x01, 0x90, 0x03]
        #expect(UpscaleRanks.dimensions(jpeg).map { [$0.0, $0.1] } == [400, 300])
        let bmp: [UInt8] = [0x42, 0x4D] + [UInt8](repeating: 0, count: 16) + [10, 0, 0, 0, 0xFB, 0xFF, 0xFF, 0xFF]
        #expect(UpscaleRanks.dimensions(bmp).map { [$0.0, $0.1] } == [10, 5])
        let webp = try encodeImage(photo(width: 29, height: 17, channels: 3, seed: 1), format: .webp, quality: 80)
        #expect(UpscaleRanks.dimensions(Array(webp.prefix(64))).map { [$0.0, $0.1] } == [29, 17])
        let other = dir.appendingPathComponent("b.txt")
        try Data(repeating: 1, count: 123).write(to: other)
        #expect(UpscaleRanks.cost(of: other) == 123)
    }
}

/// Records which files a batch begins, and its totals.
private final class CountingReporter: UpscaleReporter {
    var begun: [String] = []
    var totals: [Int] = []
    func beginFile(_ index: Int, _ name: String) { begun.append(name) }
    func tile(_ phase: UpscalePhase, _ done: Int, _ total: Int) {}
    func written(_ output: String, detail: String) {}
    func skipped(_ reason: String) {}
    func note(_ message: String) {}
    func failed(_ message: String) { Issue.record("\(message)") }
    func finish(written: Int, skipped: Int, failed: Int) { totals = [written, skipped, failed] }
}
