import Foundation
import Imaging
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
        let other = dir.appendingPathComponent("b.txt")
        try Data(repeating: 1, count: 123).write(to: other)
        #expect(UpscaleRanks.cost(of: other) == 123)
    }
}
