import Foundation
import Imaging
import SeededRandom
import Testing
@testable import Degradations

@Suite("Noise")
struct NoiseTests {
    @Test("ziggurat draws are standard normal: mean, variance, kurtosis and tail mass")
    func normalSampler() {
        var rng = SeededGenerator(seed: 99)
        var sampler = NormalSampler()
        let n = 1_000_000
        var s1 = 0.0, s2 = 0.0, s4 = 0.0, tail = 0
        for _ in 0..<n {
            let z = Double(sampler.next(&rng))
            s1 += z; s2 += z * z; s4 += z * z * z * z
            if abs(z) > 3 { tail += 1 }
        }
        let mean = s1 / Double(n), variance = s2 / Double(n) - mean * mean
        #expect(abs(mean) < 0.005)
        #expect(abs(variance - 1) < 0.01)
        #expect(abs(s4 / Double(n) - 3) < 0.05)
        #expect(abs(Double(tail) / Double(n) - 0.0027) < 0.0004)
    }

    @Test("Gaussian noise on a flat image has the requested σ", arguments: [(5.0, false), (12.0, true), (25.0, false)])
    func gaussianSigma(sigma: Double, gray: Bool) {
        let image = Image(width: 256, height: 256, channels: 3, value: 0.5)
        var rng = SeededGenerator(seed: 1)
        let (noisy, map) = addNoise(image, NoiseParameters(kind: .gaussian, gray: gray, strength: .constant(sigma)), aspect: 1, generator: &rng)
        let n = image.pixelCount
        for c in 0..<3 {
            let std = standardDeviation(noisy.planes[(c * n)..<((c + 1) * n)]) * 255
            #expect(abs(std - sigma) / sigma < 0.03, "channel \(c): σ \(std), requested \(sigma)")
        }
        let sameAcrossChannels = (0..<n).allSatisfy { noisy.planes[$0] == noisy.planes[n + $0] }
        #expect(sameAcrossChannels == gray)
        #expect(map.allSatisfy { $0 == Float(sigma) })
    }

    @Test("Poisson noise follows the intensity: σ = scale · sqrt(x v) / v with v the power of two above the level count")
    func poissonSigma() {
        // 256 levels, so v = 256; left half at level 64, right half at 200, interleaved with a ramp row.
        let w = 256, h = 257
        var planes = [Float](repeating: 0, count: w * h)
        for x in 0..<w { planes[x] = Float(x) / 255 }
        for y in 1..<h { for x in 0..<w { planes[y * w + x] = x < 128 ? 64 / 255 : 200 / 255 } }
        let image = Image(width: w, height: h, channels: 1, planes: planes)
        var rng = SeededGenerator(seed: 2)
        let scale = 2.0
        let (noisy, map) = addNoise(image, NoiseParameters(kind: .poisson, gray: false, strength: .constant(scale)), aspect: 1, generator: &rng)
        for (level, range) in [(64.0, 0..<128), (200.0, 128..<256)] {
            var values: [Float] = []
            for y in 1..<h { for x in range { values.append(noisy.planes[y * w + x]) } }
            let expected = scale * (level / 255 * 256).squareRoot() / 256 * 255
            let measured = standardDeviation(values[...]) * 255
            #expect(abs(measured - expected) / expected < 0.04, "level \(level): σ \(measured), expected \(expected)")
            #expect(abs(Double(map[w + range.lowerBound]) - expected) / expected < 1e-4)
        }
    }

    @Test("a varying σ is applied per pixel as the soft mask says")
    func varyingGaussian() {
        let image = Image(width: 256, height: 256, channels: 1, value: 0.5)
        var rng = SeededGenerator(seed: 3)
        let mask = SoftMask.linearGradient(angle: 0, offset: 0, width: 0.2)
        let strength = Varying(levels: [4.0, 20.0], mask: mask)
        let (noisy, map) = addNoise(image, NoiseParameters(kind: .gaussian, gray: false, strength: strength), aspect: 1, generator: &rng)
        var left: [Float] = [], right: [Float] = []
        for y in 0..<256 {
            for x in 0..<64 { left.append(noisy.planes[y * 256 + x]) }
            for x in 192..<256 { right.append(noisy.planes[y * 256 + x]) }
        }
        #expect(abs(standardDeviation(left[...]) * 255 - 4) < 0.2)
        #expect(abs(standardDeviation(right[...]) * 255 - 20) < 0.8)
        #expect(map[0] == 4 && map[255] == 20)
    }

    @Test("the same generator state gives the same noise")
    func determinism() {
        var rng = SeededGenerator(seed: 8)
        let image = randomImage(width: 40, height: 30, channels: 3, &rng)
        for kind in [NoiseKind.gaussian, .poisson] {
            let p = NoiseParameters(kind: kind, gray: false, strength: .constant(kind == .gaussian ? 10 : 1))
            var a = SeededGenerator(seed: 4), b = SeededGenerator(seed: 4), c = SeededGenerator(seed: 5)
            let first = addNoise(image, p, aspect: 1, generator: &a).image
            #expect(first == addNoise(image, p, aspect: 1, generator: &b).image)
            #expect(first != addNoise(image, p, aspect: 1, generator: &c).image)
        }
    }
}

func standardDeviation(_ values: ArraySlice<Float>) -> Double {
    let n = Double(values.count)
    let mean = values.reduce(0.0) { $0 + Double($1) } / n
    return (values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n).squareRoot()
}
