import Foundation

/// The probabilities of the six Gaussian-family kernel kinds (Real-ESRGAN's `kernel_prob`); they sum to 1.
public struct KernelMix: Codable, Equatable, Sendable {
    /// Isotropic Gaussian (0.45).
    public var isotropic = 0.45
    /// Anisotropic, rotated Gaussian (0.25).
    public var anisotropic = 0.25
    /// Isotropic generalized Gaussian (0.12).
    public var generalizedIsotropic = 0.12
    /// Anisotropic generalized Gaussian (0.03).
    public var generalizedAnisotropic = 0.03
    /// Isotropic plateau (0.12).
    public var plateauIsotropic = 0.12
    /// Anisotropic plateau (0.03).
    public var plateauAnisotropic = 0.03
    /// Real-ESRGAN's mix.
    public init() {}

    /// Plain Gaussian kernels only: isotropic with probability `isotropic`, anisotropic otherwise.
    public init(gaussianOnly isotropic: Double) {
        self.isotropic = isotropic
        anisotropic = 1 - isotropic
        generalizedIsotropic = 0; generalizedAnisotropic = 0; plateauIsotropic = 0; plateauAnisotropic = 0
    }

    /// The kinds with their probabilities, in a fixed order.
    var entries: [(KernelKind, Double)] {
        [(.isotropicGaussian, isotropic), (.anisotropicGaussian, anisotropic),
         (.generalizedIsotropic, generalizedIsotropic), (.generalizedAnisotropic, generalizedAnisotropic),
         (.plateauIsotropic, plateauIsotropic), (.plateauAnisotropic, plateauAnisotropic)]
    }
}

/// How one blur step draws its kernel (Real-ESRGAN's blur settings of one order).
public struct BlurConfig: Codable, Equatable, Sendable {
    /// Kernel sizes: the odd values in this range, equally likely (7...21).
    public var sizes: ClosedRange<Int> = 7...21
    /// Probability of a sinc (circular low-pass) kernel instead of a Gaussian-family one (0.1).
    public var sincProbability = 0.1
    /// Probabilities of the Gaussian-family kinds.
    public var kinds = KernelMix()
    /// Range of σx and σy in pixels ([0.2, 3] first order, [0.2, 1.5] second).
    public var sigma: ClosedRange<Double> = 0.2...3
    /// Range of β for generalized Gaussian kernels ([0.5, 4]).
    public var generalizedBeta: ClosedRange<Double> = 0.5...4
    /// Range of β for plateau kernels ([1, 2]).
    public var plateauBeta: ClosedRange<Double> = 1...2
    /// Real-ESRGAN's first-order blur settings.
    public init() {}
}

/// Resampling filters the random resize chooses between, equally likely.
public enum InterpolationMode: String, Codable, CaseIterable, Sendable {
    case area, bilinear, bicubic
}

/// How one random resize step draws its factor (Real-ESRGAN's `resize_prob` and `resize_range`).
public struct ResizeConfig: Codable, Equatable, Sendable {
    /// Probabilities of enlarging, shrinking and keeping the size; they sum to 1 ([0.2, 0.7, 0.1] first order).
    public var up = 0.2, down = 0.7, keep = 0.1
    /// Factor range: enlarging draws from [1, upper], shrinking from [lower, 1] ([0.15, 1.5] first order).
    public var range: ClosedRange<Double> = 0.15...1.5
    /// Resampling modes, equally likely.
    public var modes: [InterpolationMode] = InterpolationMode.allCases
    /// Real-ESRGAN's first-order resize settings.
    public init() {}
}

/// How one noise step draws its kind and strength (Real-ESRGAN's noise settings of one order).
public struct NoiseConfig: Codable, Equatable, Sendable {
    /// Probability of Gaussian noise; Poisson otherwise (0.5).
    public var gaussianProbability = 0.5
    /// Gaussian σ on the 0-255 scale ([1, 30] first order, [1, 25] second).
    public var sigma: ClosedRange<Double> = 1...30
    /// Poisson noise scale ([0.05, 3] first order, [0.05, 2.5] second).
    public var poissonScale: ClosedRange<Double> = 0.05...3
    /// Probability that the noise is the same in every channel (0.4).
    public var grayProbability = 0.4
    /// Real-ESRGAN's first-order noise settings.
    public init() {}
}

/// One order of the pipeline: blur, random resize, noise, JPEG.
public struct StageConfig: Codable, Equatable, Sendable {
    /// Probability that the blur step runs (1 first order, 0.8 second).
    public var blurProbability = 1.0
    /// How the kernel is drawn.
    public var blur = BlurConfig()
    /// How the random resize is drawn.
    public var resize = ResizeConfig()
    /// How the noise is drawn.
    public var noise = NoiseConfig()
    /// JPEG quality range, integers, equally likely ([30, 95]).
    public var jpegQuality: ClosedRange<Int> = 30...95
    /// Real-ESRGAN's first-order settings (see `realESRGANSecond` for the second order).
    public init() {}
}

/// The last step: resize to LR size with a sinc filter, and JPEG, in random order.
public struct FinalConfig: Codable, Equatable, Sendable {
    /// Probability that the final sinc filter is applied (0.8).
    public var sincProbability = 0.8
    /// Sinc kernel sizes, odd values in this range (7...21).
    public var sincSizes: ClosedRange<Int> = 7...21
    /// Sinc cutoff ω in radians per pixel ([π/3, π]).
    public var sincCutoff: ClosedRange<Double> = (Double.pi / 3)...Double.pi
    /// Probability that JPEG comes before the resize and sinc (0.5).
    public var jpegFirstProbability = 0.5
    /// Resampling modes of the final resize, equally likely.
    public var modes: [InterpolationMode] = InterpolationMode.allCases
    /// JPEG quality range ([30, 95]).
    public var jpegQuality: ClosedRange<Int> = 30...95
    /// Real-ESRGAN's final-step settings.
    public init() {}
}

/// Shapes of the soft masks that make a parameter vary over the image, and their sizes.
/// Lengths are in units of the image's geometric mean side.
public struct MaskConfig: Codable, Equatable, Sendable {
    /// Probabilities of a linear gradient, Gaussian blobs and a feathered region (ellipse or rectangle).
    public var gradient = 1.0 / 3, blobs = 1.0 / 3, region = 1.0 / 3
    /// Width of a gradient's transition band.
    public var gradientWidth: ClosedRange<Double> = 0.1...0.6
    /// Number of blobs.
    public var blobCount: ClosedRange<Int> = 1...3
    /// Blob standard deviation.
    public var blobSigma: ClosedRange<Double> = 0.08...0.25
    /// Half-extent of a region along each of its axes.
    public var regionRadius: ClosedRange<Double> = 0.15...0.4
    /// Feather of a region's edge.
    public var feather: ClosedRange<Double> = 0.05...0.3
    /// Equally likely shapes of moderate size.
    public init() {}
}

/// Which parameters vary over the image, and how strongly.
///
/// The varying steps are the first-order blur (its width), the second-order noise (its σ or Poisson
/// scale) and the final JPEG (its quality): the ground-truth maps describe exactly these steps.
public struct HeterogeneityConfig: Codable, Equatable, Sendable {
    /// Probability that the first-order blur width varies (a sinc first-order kernel never varies).
    public var blurProbability = 0.5
    /// Probability that the second-order noise strength varies.
    public var noiseProbability = 0.5
    /// Probability that the final JPEG quality varies.
    public var jpegProbability = 0.5
    /// When fewer steps than this were chosen to vary, more are chosen at random.
    public var minimumVarying = 1
    /// Number of levels a varying parameter takes (2...3).
    public var levels: ClosedRange<Int> = 2...3
    /// Smallest distance between the lowest and highest level, as a fraction of the parameter's range.
    public var contrast = 0.5
    /// Probability that all varying parameters follow one shared mask (one affected region), rather
    /// than a mask each (0.5).
    public var sharedMaskProbability = 0.5
    /// Shapes and sizes of the soft masks.
    public var masks = MaskConfig()
    /// The heterogeneous preset's settings.
    public init() {}
}

/// The kind of pipeline.
public enum PipelineKind: String, Codable, CaseIterable, Sendable {
    /// MATLAB-style bicubic downscale only.
    case bicubic
    /// Real-ESRGAN's second-order pipeline (optionally heterogeneous).
    case secondOrder
}

/// A complete, typed degradation configuration. Defaults are Real-ESRGAN's x4plus training settings.
///
/// ```swift
/// let config = DegradationConfig.preset(.heterogeneous)
/// try config.validate()
/// ```
public struct DegradationConfig: Codable, Equatable, Sendable {
    /// Bicubic only, or the second-order pipeline.
    public var pipeline: PipelineKind = .secondOrder
    /// First order of the second-order pipeline.
    public var first = StageConfig()
    /// Second order.
    public var second = StageConfig.realESRGANSecond
    /// Final resize, sinc and JPEG.
    public var final = FinalConfig()
    /// Spatially varying parameters; nil for a homogeneous pipeline.
    public var heterogeneity: HeterogeneityConfig?
    /// The `realesrgan` preset.
    public init() {}

    /// The configuration of a named preset.
    public static func preset(_ preset: DegradationPreset) -> DegradationConfig {
        var config = DegradationConfig()
        switch preset {
        case .bicubic: config.pipeline = .bicubic
        case .mild: config = .mild
        case .realesrgan: break
        case .heterogeneous: config.heterogeneity = HeterogeneityConfig()
        }
        return config
    }

    /// The `mild` preset: what a decent camera or a careful export leaves. The second-order pipeline with
    /// light Gaussian blur (σ 0.2-1.0 px; isotropic 70 %, anisotropic 30 %, no heavy-tailed or sinc kernels), sizes mostly kept, low noise (Gaussian σ 1-5
    /// or Poisson scale 0.05-0.5, then σ 1-3 or 0.05-0.3), JPEG 75-95 at every step, and the final sinc
    /// filter half as often.
    public static var mild: DegradationConfig {
        var config = DegradationConfig()
        for order in 0..<2 {
            var s = order == 0 ? config.first : config.second
            s.blurProbability = order == 0 ? 1 : 0.3
            s.blur.sizes = 7...13
            s.blur.sincProbability = 0
            s.blur.kinds = KernelMix(gaussianOnly: 0.7)
            s.blur.sigma = order == 0 ? 0.2...1.0 : 0.2...0.6
            s.resize.up = 0.1; s.resize.down = 0.2; s.resize.keep = 0.7
            s.resize.range = 0.75...1.25
            s.noise.sigma = order == 0 ? 1...5 : 1...3
            s.noise.poissonScale = order == 0 ? 0.05...0.5 : 0.05...0.3
            s.jpegQuality = 75...95
            if order == 0 { config.first = s } else { config.second = s }
        }
        config.final.sincProbability = 0.4
        config.final.jpegQuality = 75...95
        return config
    }
}

extension StageConfig {
    /// Real-ESRGAN's second-order settings.
    public static var realESRGANSecond: StageConfig {
        var s = StageConfig()
        s.blurProbability = 0.8
        s.blur.sigma = 0.2...1.5
        s.resize.up = 0.3; s.resize.down = 0.4; s.resize.keep = 0.3
        s.resize.range = 0.3...1.2
        s.noise.sigma = 1...25
        s.noise.poissonScale = 0.05...2.5
        return s
    }
}

/// The named configurations `savl degrade --preset` offers.
public enum DegradationPreset: String, Codable, CaseIterable, Sendable {
    /// MATLAB bicubic downscale only (the classic benchmark setting).
    case bicubic
    /// Light blur, low noise and JPEG 75-95: a photo that is only a little soft (see `DegradationConfig.mild`).
    case mild
    /// Real-ESRGAN's second-order pipeline with its x4plus training defaults.
    case realesrgan
    /// The second-order pipeline with blur width, noise level and JPEG quality varying over the image.
    case heterogeneous

    /// The short name used in test-set names (`Set14-hetero-x4`).
    public var shortName: String {
        switch self {
        case .bicubic: return "bicubic"
        case .mild: return "mild"
        case .realesrgan: return "realesrgan"
        case .heterogeneous: return "hetero"
        }
    }
}
