import Foundation
import Imaging
import SeededRandom

/// Adds the noise `parameters` describe to `image` and clamps to [0, 1].
///
/// Returns the noisy image and the standard deviation of the noise added at each pixel on the 0-255
/// scale (before clamping): σ(u) for Gaussian noise, `scale(u) · sqrt(x̂ v) / v · 255` for Poisson noise
/// (the RMS over channels when channels differ).
///
/// - Parameter aspect: the HR width / height ratio the strength's soft mask was drawn for.
public func addNoise(_ image: Image, _ parameters: NoiseParameters, aspect: Double,
                     generator rng: inout SeededGenerator) -> (image: Image, sigma: [Float]) {
    let (w, h) = (image.width, image.height)
    let strength = parameters.strength.values(width: w, height: h, aspect: aspect)
    switch parameters.kind {
    case .gaussian: return (addGaussian(image, strength: strength, gray: parameters.gray, &rng), strength)
    case .poisson: return addPoisson(image, scale: strength, gray: parameters.gray, &rng)
    }
}

private func addGaussian(_ image: Image, strength: [Float], gray: Bool, _ rng: inout SeededGenerator) -> Image {
    var output = image
    let n = image.pixelCount
    var sampler = NormalSampler()
    var draws = [Float](repeating: 0, count: n)
    strength.withUnsafeBufferPointer { s in
        draws.withUnsafeMutableBufferPointer { z in
            output.planes.withUnsafeMutableBufferPointer { planes in
                for c in 0..<image.channels {
                    if c == 0 || !gray { sampler.fill(z, &rng) }
                    let p = planes.baseAddress! + c * n
                    for i in 0..<n {
                        p[i] = min(1, max(0, p[i] + s[i] * (1 / 255) * z[i]))
                    }
                }
            }
        }
    }
    return output
}

/// Real-ESRGAN's Poisson noise: the image is rounded to 8 bits, `v` is the power of two at or above its
/// number of distinct values, counts are drawn from Poisson(x̂ v), and `scale · (count / v - x̂)` is added.
private func addPoisson(_ image: Image, scale: [Float], gray: Bool, _ rng: inout SeededGenerator) -> (image: Image, sigma: [Float]) {
    let n = image.pixelCount
    let sources: [[Float]]
    if gray && image.channels >= 3 {
        let p = image.planes
        sources = [(0..<n).map { 0.299 * p[$0] + 0.587 * p[n + $0] + 0.114 * p[2 * n + $0] }]
    } else if gray {
        sources = [Array(image.planes[0..<n])]
    } else {
        sources = (0..<image.channels).map { Array(image.planes[($0 * n)..<(($0 + 1) * n)]) }
    }
    let levels = sources.map { $0.map { UInt8(min(255, max(0, ($0 * 255).rounded(.toNearestOrEven)))) } }
    var present = [Bool](repeating: false, count: 256)
    for plane in levels { for q in plane { present[Int(q)] = true } }
    let distinct = present.filter { $0 }.count
    let vals = Float(1 << Int(ceil(log2(Double(max(distinct, 1))))))
    let tables = PoissonTables(present: present, vals: Double(vals))

    var output = image
    var variance = [Float](repeating: 0, count: n)
    var noise = [Float](repeating: 0, count: n)
    for (index, plane) in levels.enumerated() {
        tables.withSampler { sample in
            for i in 0..<n {
                let q = Int(plane[i])
                let count = sample(q, rng.uniform())
                let rounded = Float(q) / 255
                noise[i] = scale[i] * (Float(count) / vals - rounded)
                variance[i] += scale[i] * scale[i] * rounded / vals
            }
        }
        let targets = gray ? Array(0..<image.channels) : [index]
        output.planes.withUnsafeMutableBufferPointer { planes in
            for c in targets {
                let p = planes.baseAddress! + c * n
                for i in 0..<n { p[i] = min(1, max(0, p[i] + noise[i])) }
            }
        }
    }
    let sigma = variance.map { ($0 / Float(levels.count)).squareRoot() * 255 }
    return (output, sigma)
}

/// Inversion sampling of Poisson(q / 255 · v) for the 8-bit levels q present, with one guide table per
/// level (about one comparison a draw). All tables live in two flat arrays.
struct PoissonTables {
    private var cdf: [Float] = []
    private var guide: [Int32] = []
    /// Per level: start of its CDF, its length, start of its guide table.
    private var start = [Int](repeating: 0, count: 256)
    private var length = [Int](repeating: 0, count: 256)
    private var guideStart = [Int](repeating: 0, count: 256)

    init(present: [Bool], vals: Double) {
        for q in 0..<256 where present[q] {
            // λ ≤ 256 here, so exp(-λ) does not underflow and the recurrence p(k) = p(k-1) λ / k is accurate.
            let lambda = Double(q) / 255 * vals
            let limit = Int(lambda + 12 * lambda.squareRoot() + 20)
            var p = exp(-lambda), total = p
            start[q] = cdf.count
            cdf.append(Float(total))
            var k = 1
            while k <= limit && total < 1 - 1e-12 {
                p *= lambda / Double(k)
                total += p
                cdf.append(Float(total))
                k += 1
            }
            cdf[cdf.count - 1] = 1
            let g = cdf.count - start[q]
            length[q] = g
            guideStart[q] = guide.count
            var j = 0
            for slot in 0..<g {
                let threshold = Float(slot) / Float(g)
                while cdf[start[q] + j] <= threshold && j < g - 1 { j += 1 }
                guide.append(Int32(j))
            }
        }
    }

    /// Calls `body` with a sampler `(level, u) -> count` giving the smallest k with cdf(k) > u.
    func withSampler<R>(_ body: ((Int, Float) -> Int) -> R) -> R {
        cdf.withUnsafeBufferPointer { c in
            guide.withUnsafeBufferPointer { g in
                start.withUnsafeBufferPointer { s in
                    length.withUnsafeBufferPointer { l in
                        guideStart.withUnsafeBufferPointer { gs in
                            body { q, u in
                                let n = l[q], table = c.baseAddress! + s[q]
                                var k = Int(g[gs[q] + min(Int(u * Float(n)), n - 1)])
                                while table[k] <= u && k < n - 1 { k += 1 }
                                return k
                            }
                        }
                    }
                }
            }
        }
    }
}
