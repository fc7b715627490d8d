import Foundation
import Imaging
import SeededRandom
import Testing
@testable import Degradations

@Suite("Second-order pipeline and ground-truth maps")
struct PipelineTests {
    static let hr: Image = {
        var rng = SeededGenerator(seed: 77)
        return texturedImage(width: 128, height: 96, &rng)
    }()

    @Test("same seed, same bytes; another seed, other bytes", arguments: DegradationPreset.allCases)
    func determinism(preset: DegradationPreset) throws {
        let sampler = try DegradationSampler(config: .preset(preset))
        func run(_ seed: UInt64) throws -> DegradationResult {
            var rng = SeededGenerator(seed: seed)
            let p = sampler.sample(hrWidth: 128, hrHeight: 96, scale: 4, using: &rng)
            return try degrade(Self.hr, parameters: p, generator: &rng)
        }
        let a = try run(5), b = try run(5)
        #expect(a.lr == b.lr && a.maps == b.maps)
        #expect(a.lr.width == 32 && a.lr.height == 24 && a.lr.channels == 3)
        #expect(a.lr.planes.allSatisfy { ($0 * 255).rounded() == $0 * 255 && $0 >= 0 && $0 <= 1 })
        if preset != .bicubic { #expect(try run(6).lr != a.lr) }
    }

    @Test("gray images stay gray and alpha is dropped", arguments: [1, 2, 4])
    func channels(count: Int) throws {
        var rng = SeededGenerator(seed: 10)
        let hr = randomImage(width: 64, height: 48, channels: count, &rng)
        let sampler = try DegradationSampler(config: .preset(.heterogeneous))
        let (_, result) = try sampler.degrade(hr, scale: 4, using: &rng)
        #expect(result.lr.channels == (count <= 2 ? 1 : 3) && result.lr.width == 16 && result.lr.height == 12)
    }

    @Test("the bicubic preset is MATLAB bicubic downscaling and nothing else")
    func bicubic() throws {
        let p = DegradationParameters(pipeline: .bicubic, scale: 4, hrWidth: 128, hrHeight: 96)
        var rng = SeededGenerator(seed: 0)
        let result = try degrade(Self.hr, parameters: p, generator: &rng)
        #expect(result.lr == quantized(resize(Self.hr, width: 32, height: 24, method: .matlabBicubic)))
        #expect(result.maps == GroundTruthMaps(width: 32, height: 24))
    }

    @Test("bad input fails before any work with a clear message")
    func badInput() throws {
        #expect(throws: DegradationError.notDivisible(width: 130, height: 96, scale: 4)) { try checkDegradable(width: 130, height: 96, scale: 4) }
        #expect(throws: DegradationError.tooSmall(width: 28, height: 96, scale: 4, minimum: minimumLRSide)) {
            try checkDegradable(width: 28, height: 96, scale: 4)
        }
        #expect(DegradationError.notDivisible(width: 130, height: 96, scale: 4).description.contains("not divisible by the scale 4"))
        let p = DegradationParameters(pipeline: .bicubic, scale: 4, hrWidth: 64, hrHeight: 64)
        var rng = SeededGenerator(seed: 0)
        #expect(throws: DegradationError.self) { try degrade(Self.hr, parameters: p, generator: &rng) }
    }

    @Test("lower JPEG quality, larger error")
    func jpegOrdering() throws {
        let errors = try [30, 50, 70, 90].map { q in
            let out = try compress(Self.hr, .constant(q), aspect: 1)
            return zip(out.planes, Self.hr.planes).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
        }
        #expect(errors[0] > errors[1] && errors[1] > errors[2] && errors[2] > errors[3], "\(errors)")
    }

    @Test("maps of a homogeneous sample are constant and equal what was applied")
    func homogeneousMaps() throws {
        let sampler = try DegradationSampler(config: .preset(.realesrgan))
        var rng = SeededGenerator(seed: 12)
        for _ in 0..<5 {
            let p = sampler.sample(hrWidth: 128, hrHeight: 96, scale: 4, using: &rng)
            let maps = try degrade(Self.hr, parameters: p, generator: &rng).maps
            let width = Float(BlurKernel(p.first!.blur!.base).width)
            #expect(maps.blurWidth.allSatisfy { abs($0 - width) < 1e-5 })
            #expect(maps.jpegQuality.allSatisfy { $0 == Float(p.final!.jpeg.base) })
            #expect(maps.affected.allSatisfy { $0 == 0 })
            if p.second!.noise.kind == .gaussian {
                #expect(maps.noiseSigma.allSatisfy { abs($0 - Float(p.second!.noise.strength.base)) < 1e-4 })
            }
        }
    }

    @Test("regions marked noisier have a larger residual against the noise-free result")
    func noisierRegions() throws {
        let sampler = try DegradationSampler(config: .preset(.heterogeneous))
        var rng = SeededGenerator(seed: 3)
        var checked = 0
        while checked < 6 {
            var p = sampler.sample(hrWidth: 128, hrHeight: 96, scale: 4, using: &rng)
            guard !p.second!.noise.strength.isConstant else { continue }
            let levels = p.second!.noise.strength.levels
            guard abs(levels.first! - levels.last!) > 0.5 * abs(levels.max()! - levels.min()!) else { continue }
            // JPEG after the noise turns it into artefacts that differ between the two runs everywhere.
            p.second!.jpegQuality = 95
            p.final!.jpeg = .constant(95)
            var clean = p
            clean.first!.noise.strength = .constant(0)
            clean.second!.noise.strength = .constant(0)
            p.first!.noise.strength = .constant(0)
            var a = SeededGenerator(seed: 1), b = SeededGenerator(seed: 1)
            let noisy = try degrade(Self.hr, parameters: p, generator: &a)
            let reference = try degrade(Self.hr, parameters: clean, generator: &b).lr
            let sigma = noisy.maps.noiseSigma
            let sorted = sigma.sorted()
            let (low, high) = (sorted[sorted.count / 4], sorted[3 * sorted.count / 4])
            guard high > 1.5 * low + 1 else { continue }
            func residual(_ keep: (Float) -> Bool) -> Double {
                var total = 0.0, count = 0
                for c in 0..<3 {
                    for i in sigma.indices where keep(sigma[i]) {
                        let d = Double(noisy.lr.planes[c * sigma.count + i] - reference.planes[c * sigma.count + i])
                        total += d * d
                        count += 1
                    }
                }
                return total / Double(count)
            }
            let quiet = residual { $0 <= low }, loud = residual { $0 >= high }
            #expect(loud > 1.5 * quiet, "residual variance \(loud) where σ ≥ \(high) vs \(quiet) where σ ≤ \(low); \(p.second!.noise)")
            checked += 1
        }
    }

    @Test("regions marked blurrier have less high-frequency energy")
    func blurrierRegions() throws {
        let sampler = try DegradationSampler(config: .preset(.heterogeneous))
        var rng = SeededGenerator(seed: 4)
        var detail = SeededGenerator(seed: 9)
        let hr = randomImage(width: 192, height: 192, channels: 3, &detail)
        var checked = 0
        while checked < 6 {
            var p = sampler.sample(hrWidth: 192, hrHeight: 192, scale: 4, using: &rng)
            guard let blur = p.first?.blur, !blur.isConstant else { continue }
            // Keep the first-order blur and what only rescales it; silence the rest.
            p.first!.resize = ResizeParameters(direction: .keep, factor: 1, mode: .area)
            p.second!.resize = ResizeParameters(direction: .keep, factor: 1, mode: .area)
            p.first!.noise.strength = .constant(0)
            p.second!.noise.strength = .constant(0)
            p.second!.blur = nil
            p.first!.jpegQuality = 100
            p.second!.jpegQuality = 100
            p.final = FinalParameters(jpegFirst: false, mode: .area, sinc: nil, jpeg: .constant(100))
            var g = SeededGenerator(seed: 0)
            let result = try degrade(hr, parameters: p, generator: &g)
            let widths = result.maps.blurWidth
            let sorted = widths.sorted()
            let (low, high) = (sorted[sorted.count / 4], sorted[3 * sorted.count / 4])
            guard high > low + 0.5 else { continue }
            let (w, h) = (result.lr.width, result.lr.height)
            let plane = Array(result.lr.planes[0..<(w * h)])
            let sharp = laplacianEnergy(plane, width: w, height: h) { widths[$1 * w + $0] <= low }
            let soft = laplacianEnergy(plane, width: w, height: h) { widths[$1 * w + $0] >= high }
            #expect(soft < sharp, "energy \(soft) where width ≥ \(high) vs \(sharp) where width ≤ \(low)")
            checked += 1
        }
    }

    @Test("heterogeneous maps follow their masks and flag the affected regions")
    func heterogeneousMaps() throws {
        let mask = SoftMask.linearGradient(angle: 0, offset: 0, width: 0.1)
        let sampler = try DegradationSampler(config: .preset(.realesrgan))
        var rng = SeededGenerator(seed: 21)
        var p = sampler.sample(hrWidth: 128, hrHeight: 128, scale: 4, using: &rng)
        p.final!.jpeg = Varying(levels: [90, 40], mask: mask)
        p.second!.noise = NoiseParameters(kind: .gaussian, gray: false, strength: Varying(levels: [3, 18], mask: mask))
        let kernels = [1.0, 2.5].map { KernelParameters(size: 21, shape: .gaussian(sigmaX: $0, sigmaY: $0, rotation: 0)) }
        p.first!.blur = Varying(levels: kernels, mask: mask)
        var hrRng = SeededGenerator(seed: 1)
        let result = try degrade(texturedImage(width: 128, height: 128, &hrRng), parameters: p, generator: &rng)
        let m = result.maps
        let (left, right) = (16 * 32 + 2, 16 * 32 + 29)
        #expect(abs(m.jpegQuality[left] - 90) < 1e-3 && abs(m.jpegQuality[right] - 40) < 1e-3)
        #expect(abs(m.noiseSigma[left] - 3) < 1e-3 && abs(m.noiseSigma[right] - 18) < 1e-3)
        #expect(abs(Double(m.blurWidth[left]) - BlurKernel(kernels[0]).width) < 1e-4)
        #expect(abs(Double(m.blurWidth[right]) - BlurKernel(kernels[1]).width) < 1e-4)
        #expect(m.affected[left] == 0 && m.affected[right] == 1)
        // In the transition the blur width is the mixture's second moment.
        let middle = 16 * 32 + 16
        let field = mask.evaluate(width: 32, height: 32, aspect: 1)[middle]
        let expected = ((1 - field) * Float(BlurKernel(kernels[0]).width * BlurKernel(kernels[0]).width)
            + field * Float(BlurKernel(kernels[1]).width * BlurKernel(kernels[1]).width)).squareRoot()
        #expect(abs(m.blurWidth[middle] - expected) < 1e-4)
        // 16-bit storage round trip stays within one step of the range.
        let stored = GroundTruthMaps.values(of: m.image(.noiseSigma), kind: .noiseSigma)
        #expect(zip(stored, m.noiseSigma).allSatisfy { abs($0 - $1) < 1e-4 })
    }
}

/// A smooth picture with edges and fine texture, like a photo crop.
func texturedImage(width: Int, height: Int, _ rng: inout SeededGenerator) -> Image {
    var planes = [Float](repeating: 0, count: width * height * 3)
    for c in 0..<3 {
        for y in 0..<height {
            for x in 0..<width {
                let smooth = 0.5 + 0.25 * sin(Double(x) * 0.11 + Double(c)) * cos(Double(y) * 0.07)
                let edge = (x / 16 + y / 16) % 2 == 0 ? 0.15 : -0.15
                planes[(c * height + y) * width + x] = Float(min(1, max(0, smooth + edge + 0.05 * Double(rng.uniform()))))
            }
        }
    }
    return Image(width: width, height: height, channels: 3, planes: planes)
}
