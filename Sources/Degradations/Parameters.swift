import Foundation

/// Everything one degradation applied, with which values: the output of sampling and the input of
/// `degrade(_:parameters:generator:)`. Encodes to the parameters JSON `savl degrade` writes.
public struct DegradationParameters: Codable, Equatable, Sendable {
    /// The pipeline that ran.
    public var pipeline: PipelineKind
    /// Downscaling factor from HR to LR.
    public var scale: Int
    /// HR size in pixels.
    public var hrWidth: Int, hrHeight: Int
    /// First order (nil for the bicubic pipeline).
    public var first: StageParameters?
    /// Second order (nil for the bicubic pipeline).
    public var second: StageParameters?
    /// Final resize, sinc and JPEG (nil for the bicubic pipeline).
    public var final: FinalParameters?

    /// LR size in pixels.
    public var lrWidth: Int { hrWidth / scale }
    /// LR height in pixels.
    public var lrHeight: Int { hrHeight / scale }
    /// HR width over height, the frame every soft mask is drawn in.
    public var aspect: Double { Double(hrWidth) / Double(hrHeight) }

    /// Every soft mask in use, for the affected-region flag.
    public var masks: [SoftMask] {
        [first?.blur?.mask, second?.noise.strength.mask, final?.jpeg.mask].compactMap { $0 }
    }

    /// Creates parameters; the bicubic pipeline needs no stages.
    public init(pipeline: PipelineKind, scale: Int, hrWidth: Int, hrHeight: Int,
                first: StageParameters? = nil, second: StageParameters? = nil, final: FinalParameters? = nil) {
        self.pipeline = pipeline
        self.scale = scale
        self.hrWidth = hrWidth
        self.hrHeight = hrHeight
        self.first = first
        self.second = second
        self.final = final
    }
}

/// One order of the second-order pipeline.
public struct StageParameters: Codable, Equatable, Sendable {
    /// The blur kernel, or one kernel per level when its width varies; nil when the step was skipped.
    public var blur: Varying<KernelParameters>?
    /// The random resize.
    public var resize: ResizeParameters
    /// The noise.
    public var noise: NoiseParameters
    /// JPEG quality.
    public var jpegQuality: Int

    /// Creates one order's parameters.
    public init(blur: Varying<KernelParameters>?, resize: ResizeParameters, noise: NoiseParameters, jpegQuality: Int) {
        self.blur = blur
        self.resize = resize
        self.noise = noise
        self.jpegQuality = jpegQuality
    }
}

/// Whether a random resize enlarged, shrank or kept the size.
public enum ResizeDirection: String, Codable, Sendable {
    case up, down, keep
}

/// A random resize. In the first order `factor` is relative to the current size; in the second order
/// relative to the LR size (as Real-ESRGAN does), so the second order's noise lands near LR scale.
public struct ResizeParameters: Codable, Equatable, Sendable {
    /// Enlarge, shrink or keep.
    public var direction: ResizeDirection
    /// Size factor (1 for keep).
    public var factor: Double
    /// Resampling filter.
    public var mode: InterpolationMode

    /// Creates resize parameters.
    public init(direction: ResizeDirection, factor: Double, mode: InterpolationMode) {
        self.direction = direction
        self.factor = factor
        self.mode = mode
    }
}

/// The distribution of additive noise.
public enum NoiseKind: String, Codable, Sendable {
    /// `x + σ/255 · n`, n ~ N(0, 1).
    case gaussian
    /// `x + scale · (Poisson(x̂ v) / v - x̂)`, with x̂ the image rounded to 8 bits and `v` the power of two
    /// at or above its number of distinct values.
    case poisson
}

/// One noise step.
public struct NoiseParameters: Codable, Equatable, Sendable {
    /// Gaussian or Poisson.
    public var kind: NoiseKind
    /// One noise image shared by all channels (else independent per channel).
    public var gray: Bool
    /// σ on the 0-255 scale (Gaussian) or the scale (Poisson), possibly varying over the image.
    public var strength: Varying<Double>

    /// Creates noise parameters.
    public init(kind: NoiseKind, gray: Bool, strength: Varying<Double>) {
        self.kind = kind
        self.gray = gray
        self.strength = strength
    }
}

/// The final resize to LR size, sinc filter and JPEG.
public struct FinalParameters: Codable, Equatable, Sendable {
    /// JPEG before the resize and sinc (else after).
    public var jpegFirst: Bool
    /// Resampling filter of the resize to LR size.
    public var mode: InterpolationMode
    /// The sinc kernel; nil when the step was skipped.
    public var sinc: KernelParameters?
    /// JPEG quality, possibly varying over the image.
    public var jpeg: Varying<Int>

    /// Creates final-step parameters.
    public init(jpegFirst: Bool, mode: InterpolationMode, sinc: KernelParameters?, jpeg: Varying<Int>) {
        self.jpegFirst = jpegFirst
        self.mode = mode
        self.sinc = sinc
        self.jpeg = jpeg
    }
}
