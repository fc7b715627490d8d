import ArgumentParser
import Degradations
import Foundation
import Imaging
import SeededRandom

/// `savl bench-degradations`: training pairs per second on one core, per preset.
struct BenchDegradationsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-degradations",
        abstract: "Measure degradation throughput (pairs per second, one thread) for training-size crops.",
        discussion: """
            Each pair is a parameter draw plus the whole pipeline on one HR crop (default 192x192 to 48x48). \
            Crops come from --image, or from a built-in synthetic picture with edges and texture.
            """)

    @Option(parsing: .unconditional, help: "Pairs to time per preset.")
    var pairs = 300

    @Option(parsing: .unconditional, help: "HR crop side in pixels.")
    var crop = 192

    @Option(parsing: .unconditional, help: "Downscaling factor.")
    var scale = 4

    @Option(help: "A photo to take random crops from (default: a synthetic picture).")
    var image: String?

    @Flag(help: "Print the results as JSON.")
    var json = false

    func validate() throws {
        guard pairs > 0 else { throw ValidationError("--pairs must be positive") }
        guard crop % scale == 0, crop / scale >= minimumLRSide else {
            throw ValidationError("--crop \(crop) must be a multiple of the scale with an LR side of at least \(minimumLRSide)")
        }
    }

    struct Report: Codable {
        var crop: Int
        var scale: Int
        var pairs: Int
        var source: String
        var threads: Int
        var results: [DegradationThroughput.Result]
    }

    func run() throws {
        let crops = try sourceCrops(count: 16)
        let results = try DegradationThroughput.measure(crops: crops, pairs: pairs, scale: scale)
        let report = Report(crop: crop, scale: scale, pairs: pairs, source: image ?? "synthetic", threads: 1, results: results)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print("degradation throughput, \(crop)x\(crop) HR -> \(crop / scale)x\(crop / scale) LR, 1 thread, \(pairs) pairs per preset (\(report.source))")
            for r in results {
                let name = r.preset.padding(toLength: 14, withPad: " ", startingAt: 0)
                print("  \(name)" + String(format: "%8.1f pairs/s  %7.2f ms/pair", r.pairsPerSecond, r.millisecondsPerPair))
            }
        }
    }

    /// `count` crops: random windows of the photo, or shifted windows of a synthetic picture.
    private func sourceCrops(count: Int) throws -> [Image] {
        var rng = SeededGenerator(seed: 42)
        let picture: Image
        if let image {
            picture = try readImage(at: URL(fileURLWithPath: image))
            guard picture.width >= crop && picture.height >= crop else {
                throw ValidationError("\(image) is \(picture.width)x\(picture.height), smaller than the crop \(crop)")
            }
        } else {
            picture = DegradationThroughput.syntheticPicture(side: 2 * crop, &rng)
        }
        return DegradationThroughput.crops(of: picture, side: crop, count: count, using: &rng)
    }
}
