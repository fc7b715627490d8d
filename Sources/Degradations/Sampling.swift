import Foundation
import SeededRandom

/// Draws `DegradationParameters` from a validated `DegradationConfig`.
///
/// Draws happen in a fixed order, so equal generator states give equal parameters.
///
/// ```swift
/// let sampler = try DegradationSampler(config: .preset(.heterogeneous))
/// var rng = SeededGenerator(seed: 7)
/// let parameters = sampler.sample(hrWidth: 192, hrHeight: 192, scale: 4, using: &rng)
/// ```
public struct DegradationSampler: Sendable {
    /// The configuration, already validated.
    public let config: DegradationConfig

    /// Validates `config`; throws `ConfigurationError` before any work starts.
    public init(config: DegradationConfig) throws {
        try config.validate()
        self.config = config
    }

    /// Samples every parameter of one degradation of a `hrWidth` x `hrHeight` image by `scale`.
    public func sample(hrWidth: Int, hrHeight: Int, scale: Int, using rng: inout SeededGenerator) -> DegradationParameters {
        var p = DegradationParameters(pipeline: config.pipeline, scale: scale, hrWidth: hrWidth, hrHeight: hrHeight)
        guard config.pipeline == .secondOrder else { return p }
        p.first = sampleStage(config.first, &rng)
        p.second = sampleStage(config.second, &rng)
        let f = config.final
        let sinc: KernelParameters? = rng.bernoulli(f.sincProbability)
            ? KernelParameters(size: oddSize(f.sincSizes, &rng), shape: .sinc(cutoff: rng.uniform(in: f.sincCutoff)))
            : nil
        let jpegFirst = rng.bernoulli(f.jpegFirstProbability)
        let mode = f.modes[rng.int(in: 0...(f.modes.count - 1))]
        p.final = FinalParameters(jpegFirst: jpegFirst, mode: mode, sinc: sinc, jpeg: .constant(rng.int(in: f.jpegQuality)))
        if let h = config.heterogeneity { makeHeterogeneous(&p, h, aspect: p.aspect, &rng) }
        return p
    }

    private func sampleStage(_ s: StageConfig, _ rng: inout SeededGenerator) -> StageParameters {
        let blur: Varying<KernelParameters>? = rng.bernoulli(s.blurProbability) ? .constant(sampleKernel(s.blur, &rng)) : nil
        let r = s.resize
        let u = rng.uniformDouble()
        let direction: ResizeDirection = u < r.up ? .up : (u < r.up + r.down ? .down : .keep)
        let factor: Double
        switch direction {
        case .up: factor = rng.uniform(in: 1...r.range.upperBound)
        case .down: factor = rng.uniform(in: r.range.lowerBound...1)
        case .keep: factor = 1
        }
        let mode = r.modes[rng.int(in: 0...(r.modes.count - 1))]
        let gaussian = rng.bernoulli(s.noise.gaussianProbability)
        let strength = rng.uniform(in: gaussian ? s.noise.sigma : s.noise.poissonScale)
        let gray = rng.bernoulli(s.noise.grayProbability)
        let noise = NoiseParameters(kind: gaussian ? .gaussian : .poisson, gray: gray, strength: .constant(strength))
        return StageParameters(blur: blur, resize: ResizeParameters(direction: direction, factor: factor, mode: mode),
                               noise: noise, jpegQuality: rng.int(in: s.jpegQuality))
    }

    /// Real-ESRGAN's mixed-kernel draw: a size, then sinc or one of the six Gaussian-family kinds.
    /// Sinc cutoffs are drawn from [π/3, π] below size 13 and [π/5, π] from 13 up (Real-ESRGAN's rule).
    func sampleKernel(_ b: BlurConfig, _ rng: inout SeededGenerator) -> KernelParameters {
        let size = oddSize(b.sizes, &rng)
        if rng.bernoulli(b.sincProbability) {
            let low = size < 13 ? Double.pi / 3 : Double.pi / 5
            return KernelParameters(size: size, shape: .sinc(cutoff: rng.uniform(in: low...Double.pi)))
        }
        var u = rng.uniformDouble()
        var kind = KernelKind.plateauAnisotropic
        for (k, p) in b.kinds.entries {
            if u < p { kind = k; break }
            u -= p
        }
        let sx = rng.uniform(in: b.sigma)
        let isotropic = [.isotropicGaussian, .generalizedIsotropic, .plateauIsotropic].contains(kind)
        let sy = isotropic ? sx : rng.uniform(in: b.sigma)
        let rotation = isotropic ? 0 : rng.uniform(in: -Double.pi...Double.pi)
        switch kind {
        case .isotropicGaussian, .anisotropicGaussian:
            return KernelParameters(size: size, shape: .gaussian(sigmaX: sx, sigmaY: sy, rotation: rotation))
        case .generalizedIsotropic, .generalizedAnisotropic:
            let beta = betaAroundOne(b.generalizedBeta, &rng)
            return KernelParameters(size: size, shape: .generalizedGaussian(sigmaX: sx, sigmaY: sy, rotation: rotation, beta: beta))
        default:
            let beta = betaAroundOne(b.plateauBeta, &rng)
            return KernelParameters(size: size, shape: .plateau(sigmaX: sx, sigmaY: sy, rotation: rotation, beta: beta))
        }
    }

    /// β below or above 1 with equal odds (as Real-ESRGAN draws it), or over the whole range if it excludes 1.
    private func betaAroundOne(_ range: ClosedRange<Double>, _ rng: inout SeededGenerator) -> Double {
        guard range.contains(1) else { return rng.uniform(in: range) }
        return rng.bernoulli(0.5) ? rng.uniform(in: range.lowerBound...1) : rng.uniform(in: 1...range.upperBound)
    }

    private func oddSize(_ range: ClosedRange<Int>, _ rng: inout SeededGenerator) -> Int {
        let low = range.lowerBound | 1
        let high = range.upperBound % 2 == 1 ? range.upperBound : range.upperBound - 1
        return low + 2 * rng.int(in: 0...((high - low) / 2))
    }

    // MARK: Heterogeneity

    private func makeHeterogeneous(_ p: inout DegradationParameters, _ h: HeterogeneityConfig, aspect: Double,
                                   _ rng: inout SeededGenerator) {
        let blurEligible = p.first?.blur.map { $0.base.kind != .sinc } ?? false
        var chosen = [rng.bernoulli(h.blurProbability) && blurEligible, rng.bernoulli(h.noiseProbability), rng.bernoulli(h.jpegProbability)]
        var candidates = [0, 1, 2].filter { !chosen[$0] && ($0 != 0 || blurEligible) }
        while chosen.filter({ $0 }).count < h.minimumVarying && !candidates.isEmpty {
            chosen[candidates.remove(at: rng.int(in: 0...(candidates.count - 1)))] = true
        }
        let shared = rng.bernoulli(h.sharedMaskProbability) ? sampleMask(h.masks, aspect: aspect, &rng) : nil
        func mask(_ rng: inout SeededGenerator) -> SoftMask { shared ?? sampleMask(h.masks, aspect: aspect, &rng) }
        if chosen[0], let base = p.first?.blur?.base {
            let (sx, sy) = Self.sigmas(base.shape)
            let widths = levels(config.first.blur.sigma, h, &rng)
            let kernels = widths.map { w -> KernelParameters in
                let ratioY = min(max(w * sy / sx, config.first.blur.sigma.lowerBound), config.first.blur.sigma.upperBound)
                return base.widened(by: w / sx).withSigmaY(ratioY)
            }
            p.first?.blur = Varying(levels: kernels, mask: mask(&rng))
        }
        if chosen[1], let noise = p.second?.noise {
            let range = noise.kind == .gaussian ? config.second.noise.sigma : config.second.noise.poissonScale
            p.second?.noise.strength = Varying(levels: levels(range, h, &rng), mask: mask(&rng))
        }
        if chosen[2] {
            let q = config.final.jpegQuality
            let values = levels(Double(q.lowerBound)...Double(q.upperBound), h, &rng).map { Int($0.rounded()) }
            p.final?.jpeg = Varying(levels: values, mask: mask(&rng))
        }
    }

    private static func sigmas(_ shape: KernelShape) -> (Double, Double) {
        switch shape {
        case let .gaussian(sx, sy, _), let .generalizedGaussian(sx, sy, _, _), let .plateau(sx, sy, _, _): return (sx, sy)
        case .sinc: return (1, 1)
        }
    }

    /// A few values spanning at least `contrast` of `range`, in random order of severity.
    func levels(_ range: ClosedRange<Double>, _ h: HeterogeneityConfig, _ rng: inout SeededGenerator) -> [Double] {
        let count = rng.int(in: h.levels)
        let gap = h.contrast * (range.upperBound - range.lowerBound)
        let low = rng.uniform(in: range.lowerBound...(range.upperBound - gap))
        let high = rng.uniform(in: (low + gap)...range.upperBound)
        var values = [low] + (0..<(count - 2)).map { _ in rng.uniform(in: low...high) }.sorted() + [high]
        if rng.bernoulli(0.5) { values.reverse() }
        return values
    }

    /// A soft mask of a random shape.
    func sampleMask(_ m: MaskConfig, aspect: Double, _ rng: inout SeededGenerator) -> SoftMask {
        let sx = aspect.squareRoot(), sy = 1 / aspect.squareRoot()
        let u = rng.uniformDouble()
        if u < m.gradient {
            return .linearGradient(angle: rng.uniform(in: -Double.pi...Double.pi), offset: rng.uniform(in: -0.25...0.25),
                                   width: rng.uniform(in: m.gradientWidth))
        }
        if u < m.gradient + m.blobs {
            let count = rng.int(in: m.blobCount)
            return .gaussianBlobs((0..<count).map { _ in
                SoftMask.Blob(centerX: rng.uniform(in: 0...sx), centerY: rng.uniform(in: 0...sy), sigma: rng.uniform(in: m.blobSigma))
            })
        }
        let cx = rng.uniform(in: (0.2 * sx)...(0.8 * sx)), cy = rng.uniform(in: (0.2 * sy)...(0.8 * sy))
        let a = rng.uniform(in: m.regionRadius), b = rng.uniform(in: m.regionRadius)
        let rotation = rng.uniform(in: -Double.pi...Double.pi), feather = rng.uniform(in: m.feather)
        return rng.bernoulli(0.5)
            ? .featheredEllipse(centerX: cx, centerY: cy, radiusX: a, radiusY: b, rotation: rotation, feather: feather)
            : .featheredRectangle(centerX: cx, centerY: cy, halfWidth: a, halfHeight: b, rotation: rotation, feather: feather)
    }
}

extension KernelParameters {
    /// The same kernel with σy replaced (Gaussian family only).
    func withSigmaY(_ sigmaY: Double) -> KernelParameters {
        var copy = self
        switch shape {
        case let .gaussian(sx, _, r): copy.shape = .gaussian(sigmaX: sx, sigmaY: sigmaY, rotation: r)
        case let .generalizedGaussian(sx, _, r, b): copy.shape = .generalizedGaussian(sigmaX: sx, sigmaY: sigmaY, rotation: r, beta: b)
        case let .plateau(sx, _, r, b): copy.shape = .plateau(sigmaX: sx, sigmaY: sigmaY, rotation: r, beta: b)
        case .sinc: break
        }
        return copy
    }
}
