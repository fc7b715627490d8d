import Foundation
import SeededRandom
import Testing
@testable import Degradations

@Suite("Parameter sampling")
struct SamplingTests {
    @Test("over thousands of samples every parameter stays within its configured range", arguments: [DegradationPreset.realesrgan, .heterogeneous])
    func ranges(preset: DegradationPreset) throws {
        let sampler = try DegradationSampler(config: .preset(preset))
        let config = sampler.config
        var rng = SeededGenerator(seed: 2024)
        for _ in 0..<4000 {
            let p = sampler.sample(hrWidth: 192, hrHeight: 160, scale: 4, using: &rng)
            let first = try #require(p.first), second = try #require(p.second), final = try #require(p.final)
            for (stage, sc) in [(first, config.first), (second, config.second)] {
                for kernel in stage.blur?.levels ?? [] { checkKernel(kernel, sc.blur) }
                let r = stage.resize
                switch r.direction {
                case .up: #expect(r.factor >= 1 && r.factor <= sc.resize.range.upperBound)
                case .down: #expect(r.factor >= sc.resize.range.lowerBound && r.factor <= 1)
                case .keep: #expect(r.factor == 1)
                }
                let strengthRange = stage.noise.kind == .gaussian ? sc.noise.sigma : sc.noise.poissonScale
                #expect(stage.noise.strength.levels.allSatisfy { strengthRange.contains($0) })
                #expect(sc.jpegQuality.contains(stage.jpegQuality))
            }
            if let sinc = final.sinc {
                #expect(sinc.size % 2 == 1 && config.final.sincSizes.contains(sinc.size))
                guard case let .sinc(cutoff) = sinc.shape else { Issue.record("final filter is not sinc"); continue }
                #expect(config.final.sincCutoff.contains(cutoff))
            }
            #expect(final.jpeg.levels.allSatisfy { config.final.jpegQuality.contains($0) })
            if let h = config.heterogeneity {
                let varying = [first.blur?.isConstant == false, !second.noise.strength.isConstant, !final.jpeg.isConstant]
                #expect(varying.filter { $0 }.count >= h.minimumVarying)
                for levels in [first.blur?.levels.count, second.noise.strength.levels.count, final.jpeg.levels.count].compactMap({ $0 }) where levels > 1 {
                    #expect(h.levels.contains(levels))
                }
            } else {
                #expect(p.masks.isEmpty)
            }
        }
    }

    private func checkKernel(_ k: KernelParameters, _ b: BlurConfig) {
        #expect(k.size % 2 == 1 && b.sizes.contains(k.size))
        switch k.shape {
        case let .gaussian(sx, sy, r):
            #expect(b.sigma.contains(sx) && b.sigma.contains(sy) && abs(r) <= Double.pi)
        case let .generalizedGaussian(sx, sy, _, beta):
            #expect(b.sigma.contains(sx) && b.sigma.contains(sy) && b.generalizedBeta.contains(beta))
        case let .plateau(sx, sy, _, beta):
            #expect(b.sigma.contains(sx) && b.sigma.contains(sy) && b.plateauBeta.contains(beta))
        case let .sinc(cutoff):
            #expect(cutoff >= Double.pi / 5 && cutoff <= Double.pi)
        }
    }

    @Test("choices come with Real-ESRGAN's probabilities")
    func frequencies() throws {
        let sampler = try DegradationSampler(config: .preset(.realesrgan))
        var rng = SeededGenerator(seed: 7)
        let n = 20_000
        var up = 0, down = 0, keep = 0, gray = 0, gaussian = 0, finalSinc = 0, secondBlur = 0, firstSinc = 0, iso = 0, jpegFirst = 0
        for _ in 0..<n {
            let p = sampler.sample(hrWidth: 192, hrHeight: 192, scale: 4, using: &rng)
            switch p.first!.resize.direction {
            case .up: up += 1
            case .down: down += 1
            case .keep: keep += 1
            }
            if p.first!.noise.gray { gray += 1 }
            if p.first!.noise.kind == .gaussian { gaussian += 1 }
            if p.final!.sinc != nil { finalSinc += 1 }
            if p.final!.jpegFirst { jpegFirst += 1 }
            if p.second!.blur != nil { secondBlur += 1 }
            switch p.first!.blur!.base.kind {
            case .sinc: firstSinc += 1
            case .isotropicGaussian: iso += 1
            default: break
            }
        }
        func near(_ count: Int, _ p: Double) -> Bool { abs(Double(count) / Double(n) - p) < 0.015 }
        #expect(near(up, 0.2) && near(down, 0.7) && near(keep, 0.1))
        #expect(near(gray, 0.4) && near(gaussian, 0.5))
        #expect(near(finalSinc, 0.8) && near(secondBlur, 0.8) && near(jpegFirst, 0.5))
        #expect(near(firstSinc, 0.1) && near(iso, 0.9 * 0.45))
    }

    @Test("varying parameters share one mask with the configured probability, and at least one varies")
    func sharedMasks() throws {
        let sampler = try DegradationSampler(config: .preset(.heterogeneous))
        var rng = SeededGenerator(seed: 17)
        var several = 0, shared = 0
        for _ in 0..<4000 {
            let masks = sampler.sample(hrWidth: 128, hrHeight: 128, scale: 4, using: &rng).masks
            #expect(!masks.isEmpty)
            guard masks.count > 1 else { continue }
            several += 1
            if masks.allSatisfy({ $0 == masks[0] }) { shared += 1 }
        }
        #expect(several > 1000)
        #expect(abs(Double(shared) / Double(several) - 0.5) < 0.04, "\(shared) of \(several) share a mask")
    }

    @Test("equal seeds give equal parameters, and parameters survive a JSON round trip")
    func determinismAndCodable() throws {
        let sampler = try DegradationSampler(config: .preset(.heterogeneous))
        for seed in UInt64(0)..<50 {
            var a = SeededGenerator(seed: seed), b = SeededGenerator(seed: seed)
            let p = sampler.sample(hrWidth: 256, hrHeight: 192, scale: 4, using: &a)
            #expect(p == sampler.sample(hrWidth: 256, hrHeight: 192, scale: 4, using: &b))
            let decoded = try JSONDecoder().decode(DegradationParameters.self, from: JSONEncoder().encode(p))
            #expect(decoded == p)
        }
    }

    @Test("soft masks are smooth fields in [0, 1] that agree across resolutions")
    func masks() throws {
        let sampler = try DegradationSampler(config: .preset(.heterogeneous))
        var rng = SeededGenerator(seed: 31)
        for _ in 0..<60 {
            let mask = sampler.sampleMask(MaskConfig(), aspect: 1.5, &rng)
            let fine = mask.evaluate(width: 192, height: 128, aspect: 1.5)
            let coarse = mask.evaluate(width: 48, height: 32, aspect: 1.5)
            #expect(fine.allSatisfy { $0 >= 0 && $0 <= 1 })
            var steepest: Float = 0
            for y in 0..<128 { for x in 1..<192 { steepest = max(steepest, abs(fine[y * 192 + x] - fine[y * 192 + x - 1])) } }
            #expect(steepest < 0.25, "\(mask) jumps by \(steepest) between neighbours")
            // Each coarse pixel is close to the mean of the 4x4 fine pixels it covers.
            var worst: Float = 0
            for y in 0..<32 {
                for x in 0..<48 {
                    var mean: Float = 0
                    for dy in 0..<4 { for dx in 0..<4 { mean += fine[(4 * y + dy) * 192 + 4 * x + dx] / 16 } }
                    worst = max(worst, abs(mean - coarse[y * 48 + x]))
                }
            }
            #expect(worst < 0.1, "\(mask): coarse and fine differ by \(worst)")
        }
        let weights = Varying(levels: [1.0, 2.0, 3.0], mask: .linearGradient(angle: 0.3, offset: 0, width: 0.5)).weights(width: 20, height: 10, aspect: 2)
        for i in 0..<200 { #expect(abs(weights[0][i] + weights[1][i] + weights[2][i] - 1) < 1e-6) }
    }
}
