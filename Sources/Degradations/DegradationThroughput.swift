import Dispatch
import Foundation
import Imaging
import SeededRandom

/// What `savl bench-degradations` measures: training pairs per second on one thread for each preset,
/// each pair a parameter draw plus the whole pipeline on one HR crop.
public enum DegradationThroughput {
    /// One preset's figure.
    public struct Result: Codable, Sendable {
        public var preset: String
        public var pairsPerSecond: Double
        public var millisecondsPerPair: Double
    }

    /// Times `pairs` pairs of each preset (after up to 10 untimed ones) on the crops given, in turn.
    public static func measure(crops: [Image], pairs: Int, scale: Int) throws -> [Result] {
        var results: [Result] = []
        for preset in DegradationPreset.allCases {
            let sampler = try DegradationSampler(config: .preset(preset))
            var rng = SeededGenerator(seed: 1)
            func pair(_ hr: Image) throws {
                let parameters = sampler.sample(hrWidth: hr.width, hrHeight: hr.height, scale: scale, using: &rng)
                _ = try degrade(hr, parameters: parameters, generator: &rng)
            }
            for i in 0..<min(10, pairs) { try pair(crops[i % crops.count]) }
            let start = DispatchTime.now().uptimeNanoseconds
            for i in 0..<pairs { try pair(crops[i % crops.count]) }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            results.append(Result(preset: preset.rawValue, pairsPerSecond: Double(pairs) / seconds,
                                  millisecondsPerPair: seconds * 1000 / Double(pairs)))
        }
        return results
    }

    /// `count` random `side` x `side` windows of `picture` (at least that large).
    public static func crops(of picture: Image, side: Int, count: Int, using rng: inout SeededGenerator) -> [Image] {
         (0..<count).map { _ in
            picture.cropped(x: rng.int(in: 0...(picture.width - side)), y: rng.int(in: 0...(picture.height - side)),
                            width: side, height: side)
        }
    }

    /// Smooth shading, hard-edged shapes and fine grain: the mix of content a photo crop has.
    public static func syntheticPicture(side: Int, _ rng: inout SeededGenerator) -> Image {
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
