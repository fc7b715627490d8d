import Degradations
import Foundation
import Imaging
import SAVL
import SeededRandom
import Testing
@testable import Training

/// The oracle's planes read back from a test set written by `savl degrade --test-set`, as `savl eval
/// --oracle-maps` gives them to an oracle model.
@Suite struct OracleMapsTests {
    /// A test set's record and 16-bit maps give the planes of the degradation that made its LR image, to the
    /// maps' quantisation (1/65535 of their range, scaled as `OracleMaps.planes` scales them).
    @Test func testSetRecordsGiveThePlanesOfTheirDegradation() throws {
        let folder = try temporaryFolder("oracle-record")
        defer { try? FileManager.default.removeItem(at: folder) }
        let photos = folder.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        try writeImage(syntheticPhoto(width: 96, height: 80, variant: 2), to: photos.appendingPathComponent("p0.png"))
        var batch = DegradationBatch(inputs: [photos.path], output: folder, config: .preset(.heterogeneous), configLabel: "hetero")
        batch.testSet = true
        batch.name = "set"
        _ = try batch.run()
        let root = folder.appendingPathComponent("set")

        let record = try JSONDecoder().decode(DegradationRecord.self, from: Data(contentsOf: root.appendingPathComponent("params/p0.json")))
        let hr = try readImage(at: root.appendingPathComponent("HR/p0.png"))
        var rng = SeededGenerator(seed: record.imageSeed)
        let parameters = try DegradationSampler(config: .preset(.heterogeneous)).sample(hrWidth: hr.width, hrHeight: hr.height, scale: 4, using: &rng)
        let result = try degrade(hr, parameters: parameters, generator: &rng)
        let expected = OracleMaps.planes(parameters: parameters, maps: result.maps)

        let read = try OracleMaps.planes(recordOf: root.appendingPathComponent("LR/p0.png"), width: 24, height: 20)
        #expect(read.channels == SAVLConfig.oracleChannels && read.width == 24 && read.height == 20)
        let n = 24 * 20
        // Map ranges 10, 64 and 100 over 65535 levels, scaled by 1/3, 1/25 and 1/70; rounding: half a level.
        let spans: [Double] = [10.0 / 3, 64.0 / 25, 100.0 / 70, 0, 0, 0]
        for (c, span) in spans.enumerated() {
            var worst = 0.0
            for i in (c * n)..<((c + 1) * n) { worst = max(worst, abs(Double(read.planes[i]) - Double(expected[i]))) }
            #expect(worst <= span / 65535 / 2 + 1e-6, "plane \(c) is off by \(worst)")
        }
        #expect(expected[..<(3 * n)].contains { $0 > 0.05 }, "a heterogeneous image has non-zero maps")

        #expect(OracleMaps.clean(width: 5, height: 4).planes == [Float](repeating: 0, count: SAVLConfig.oracleChannels * 20))
        try FileManager.default.removeItem(at: root.appendingPathComponent("params/p0.json"))
        let missing = try #require(throws: TrainingError.self) {
            try OracleMaps.planes(recordOf: root.appendingPathComponent("LR/p0.png"), width: 24, height: 20)
        }
        #expect(missing.message.contains("params/p0.json: no degradation record for p0.png"), "\(missing.message)")
    }
}
