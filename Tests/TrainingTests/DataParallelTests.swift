import Collectives
import Foundation
import Testing
@testable import Training

/// What data-parallel training rests on, in one process: the shards of a batch put together are the
/// batch, and a batch size must divide into the ranks. Runs on 2 ranks are tested under mpirun (savlTests).
struct DataParallelTests {
    @Test func theShardsOfABatchAreTheBatch() throws {
        let space = try Workspace("shards", count: 3)
        defer { space.remove() }
        var config = try tinyConfig(photos: space.photos, steps: 10, stage1Steps: 5, mix: DegradationMix())
        config.batchSize = 4
        config.objective.crossContent = true
        let photos = try PhotoDataset(folders: [space.photos], minimumSide: config.data.hrCropSize)
        let builder = try BatchBuilder(photos: photos, config: config)
        let whole = try builder.batch(step: 3)
        let halves = try [0..<2, 2..<4].map { try builder.batch(step: 3, pairs: $0) }
        #expect(halves[0].lr.shape == [2, 3, 8, 8] && halves[1].hr.shape == [2, 3, 32, 32])
        #expect(halves[0].lr.values + halves[1].lr.values == whole.lr.values)
        #expect(halves[0].hr.values + halves[1].hr.values == whole.hr.values)
        #expect(halves[0].content.values + halves[1].content.values == whole.content.values)
        let partners = try halves.map { try #require($0.partner) }
        #expect(partners[0].lr.values + partners[1].lr.values == whole.partner?.lr.values)
        #expect(try builder.batch(step: 3, pairs: 1..<2).hr.values == Array(whole.hr.values[(3 * 32 * 32)..<(6 * 32 * 32)]))

        let prefetcher = BatchPrefetcher(builder: builder, steps: 3..<4, capacity: 1, pairs: 2..<4)
        #expect(try prefetcher.next().lr.values == halves[1].lr.values)
    }

    @Test func aSingleProcessDrawsTheWholeBatch() {
        let parallel = DataParallel(communicator: SingleProcess())
        #expect(parallel.shard(batchSize: 16) == 0..<16)
        #expect(parallel.writes)
    }

    @Test func aBatchMustDivideIntoTheRanks() throws {
        try DataParallel.checkBatch(16, ranks: 4)
        let error = try #require(throws: TrainingError.self) { try DataParallel.checkBatch(6, ranks: 4) }
        #expect(error.message == "optimizer.batchSize 6 (the global batch) does not divide into 4 ranks; use a multiple of 4, such as 4 or 8, or a number of ranks that divides 6")
        let small = try #require(throws: TrainingError.self) { try DataParallel.checkBatch(2, ranks: 3) }
        #expect(small.message.contains("such as 3,"))
    }
}
