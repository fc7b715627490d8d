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

    struct Result: Codable {
        var preset: String
        var pairsPerSecond: Double
        var millisecondsPerPair: Double
    }

    struct Report: Codable {
        var crop: Int
        var scale: Int
        var pairs: Int
        var source: String
        var threads: Int
        var results: [Result]
    }

    func run() throws {
        let crops = try sourceCrops(count: 16)
        var results: [Result] = []
        for preset in DegradationPreset.allCases {
            let sampler = try DegradationSampler(config: .preset(preset))
            var rng = SeededGenerator(seed: 1)
            for i in 0..<min(10, pairs) { try pair(sampler, crops[i % crops.count], &rng) }
            let start = DispatchTime.now().uptimeNanoseconds
            for i in 0..<pairs { try pair(sampler, crops[i % crops.count], &rng) }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            results.append(Result(preset: preset.rawValue, pairsPerSecond: Double(pairs) / seconds, millisecondsPerPair: seconds * 1000 / Double(pairs)))
        }
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

    private func pair(_ sampler: DegradationSampler, _ hr: Image, _ rng: inout SeededGenerator) throws {
        let parameters = sampler.sample(hrWidth: hr.width, hrHeight: hr.height, scale: scale, using: &rng)
        _ = try degrade(hr, parameters: parameters, generator: &rng)
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
            picture = Self.syntheticPicture(side: 2 * crop, &rng)
        }
        return (0..<count).map { _ in
            picture.cropped(x: rng.int(in: 0...(picture.width - crop)), y: rng.int(in: 0...(picture.height - crop)),
                            width: crop, height: crop)
        }
    }

    /// Smooth shading, hard-edged shapes and fine grain: the mix of content a photo crop has.
    static func syntheticPicture(side: Int, _ rng: inout SeededGenerator) -> Image {
        let n = side * side
        var planes = [Float](repeating: 0, count: 3 * n)
        let discs = (0..<12).map { _ in (x: rng.uniform() * Float(side), y: rng.uniform() * Float(side), r: 8 + rng.uniform() * Float(side) / 6,
                                         colour: [rng.uniform(), rng.uniform(), rng.uniform()]) }
        for y in 0..<side {
            for x in 0..<side {
                var colour: [Float] = (0..<3).map { c in
                    0.45 + 0.3 * sin(Float(x) * 0.021 * Float(c + 1) + Float(y) * 0.013)
                }
                for d in discs where (Float(x) - d.x) * (Float(x) - d.x) + (Float(y) - d.y) * (Float(y) - d.y) < d.r * d.r {
                    colour = d.colour
                }
                for c in 0..<3 { planes[c * n + y * side + x] = min(1, max(0, colour[c] + 0.06 * (rng.uniform() - 0.5))) }
            }
        }
        return Image(width: side, height: side, channels: 3, planes: planes)
    }
}
