import Layers
import SeededRandom
import Tensors

/// Residual block conv3x3 - LeakyReLU(0.1) - conv3x3, plus the input.
public final class ResidualBlock: Module, UnaryLayer {
    public let conv1: Conv2d, conv2: Conv2d

    public init(_ channels: Int, rng: inout SeededGenerator) {
        conv1 = Conv2d(channels, channels, kernel: 3, rng: &rng)
        conv2 = Conv2d(channels, channels, kernel: 3, rng: &rng)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x + conv2(leakyRelu(conv1(x), slope: 0.1))
    }
}

/// The per-pixel posterior q(r | y) = N(mu, diag exp(logVariance)), each (N, d, h, w),
/// or (N, d, 1, 1) for a global code. `logVariance` is nil for a deterministic code.
public struct Posterior {
    public var mean: Tensor
    public var logVariance: Tensor?

    /// A sample mu + sigma * eps (reparameterised; gradients reach mu and sigma). `noise` is eps, or drawn from `rng`.
    public func sample(noise: Tensor? = nil, rng: inout SeededGenerator) throws -> Tensor {
        guard let logVariance else { return mean }
        let eps = noise ?? Tensor.normal(mean.shape, using: &rng)
        return try mean + exp(logVariance * 0.5) * eps
    }

    /// KL(q || N(0, I)), summed over latent channels and averaged over pixels and batch:
    /// mean over (n, u) of 0.5 * sum_c (mu^2 + sigma^2 - 1 - log sigma^2). Zero for a deterministic code.
    public func klToStandardNormal() throws -> Tensor {
        guard let perValue = try klPerValue() else { return Tensor(0) }
        return try perValue.sum(axes: [1]).mean()
    }

    /// 0.5 (mu^2 + sigma^2 - 1 - log sigma^2) per value, (N, d, h, w); nil for a deterministic code.
    private func klPerValue() throws -> Tensor? {
        guard let logVariance else { return nil }
        return try (mean * mean + exp(logVariance) - logVariance - 1) * 0.5
    }

    /// The KL with free bits: sum over latent channels c of max(KL_c, `nats`), KL_c the channel's KL
    /// averaged over batch and pixels. Equals `klToStandardNormal()` where every channel is above `nats`;
    /// a channel below it gets no gradient from this term.
    public func klWithFreeBits(_ nats: Float) throws -> Tensor {
        guard let perValue = try klPerValue() else { return Tensor(0) }
        let perChannel = try perValue.mean(axes: [0, 2, 3])
        return try (relu(perChannel - nats) + nats).sum()
    }

    /// The severity map s (N, 1, h, w): the posterior variance averaged over latent channels, z-scored per
    /// image and negated, so high means mild. Zeros when there is no variance or a single pixel.
    public func severity(height: Int, width: Int) throws -> Tensor {
        let n = mean.shape[0]
        guard let level = try varianceLevel(), level.shape[2] * level.shape[3] > 1 else { return Tensor.zeros([n, 1, height, width]) }
        return try severityMap(level: level)
    }

    /// The posterior variance averaged over latent channels, (N, 1, h, w): the degradation level the
    /// severity map is made of. Nil for a deterministic code.
    public func varianceLevel() throws -> Tensor? {
        guard let logVariance else { return nil }
        return try exp(logVariance).mean(axes: [1], keepDims: true)
    }
}

/// A severity map from a degradation level (N, 1, h, w) that is high where the degradation is strong:
/// z-scored per image and negated, so high means mild. A constant level gives zeros.
public func severityMap(level: Tensor) throws -> Tensor {
    let centred = try level - level.mean(axes: [2, 3], keepDims: true)
    let std = try sqrt((centred * centred).mean(axes: [2, 3], keepDims: true) + 1e-6)
    return try -(centred / std)
}

/// The severity map of part of an image, z-scored by the whole image's statistics of the level (its mean,
/// and its standard deviation with 1e-6 added to the variance, as `severityMap(level:)` does per image)
/// and negated: tiles normalised this way agree with the map of the whole image.
public func severityMap(level: Tensor, imageMean: Float, imageStd: Float) throws -> Tensor {
    try (level - imageMean) * (-1 / imageStd)
}

/// The image-wide standard deviation `severityMap(level:imageMean:imageStd:)` takes, from the level's
/// mean and mean square over the image.
public func severityStd(mean: Double, meanSquare: Double) -> Float {
    Float((max(0, meanSquare - mean * mean) + 1e-6).squareRoot())
}

/// The amortized degradation encoder g: LR image to the per-pixel posterior, one fully convolutional pass,
/// no downsampling, receptive field `config.encoderReceptiveField` LR pixels (its convs', widened by the
/// `codeWindow` its output is averaged over and the `encoderHighPass` window its input's mean is taken over).
public final class DegradationEncoder: Module {
    public let head: Conv2d
    public let body: [ResidualBlock]
    public let out: Conv2d
    let mode: SAVLConfig.CodeMode
    let latentDim: Int
    let codeWindow: Int
    let highPass: Int

    public init(_ config: SAVLConfig, rng: inout SeededGenerator) {
        let f = config.encoderFeatures
        head = Conv2d(3, f, kernel: 3, rng: &rng)
        body = (0..<config.encoderBlocks).map { _ in ResidualBlock(f, rng: &rng) }
        mode = config.code
        latentDim = config.latentDim
        codeWindow = config.codeWindow
        highPass = config.encoderHighPass
        out = Conv2d(f, mode == .deterministic ? config.latentDim : 2 * config.latentDim, kernel: 1, rng: &rng)
    }

    /// The posterior of an LR batch (N, 3, h, w); log sigma^2 is clamped to [-10, 10].
    public func callAsFunction(_ y: Tensor) throws -> Posterior {
        try posterior(of: y, pooled: true)
    }

    /// The posterior at every pixel, (N, d, h, w), also for a `global` code: what it averages over the
    /// image. Tiles of an image pool it themselves, over the pixels they own.
    public func perPixel(_ y: Tensor) throws -> Posterior {
        try posterior(of: y, pooled: false)
    }

    private func posterior(of y: Tensor, pooled: Bool) throws -> Posterior {
        let input = highPass > 0 ? try y - avgPool2d(y, kernel: highPass, stride: 1, padding: highPass / 2, countPadding: false) : y
        var h = try leakyRelu(head(input), slope: 0.1)
        for block in body { h = try block(h) }
        var o = try out(h)
        if codeWindow > 1 { o = try avgPool2d(o, kernel: codeWindow, stride: 1, padding: codeWindow / 2, countPadding: false) }
        if mode == .global && pooled { o = try o.mean(axes: [2, 3], keepDims: true) }
        if mode == .deterministic { return Posterior(mean: o, logVariance: nil) }
        let d = latentDim
        return Posterior(mean: try o.sliced(axis: 1, 0..<d), logVariance: try clamp(o.sliced(axis: 1, d..<(2 * d)), min: -10, max: 10))
    }
}

/// The SAVL-LM likelihood decoder p(y | z, r): re-synthesises the degraded LR from the clean content z
/// and the degradation code r, with a residual connection to z.
public final class LikelihoodDecoder: Module {
    public let head: Conv2d
    public let body: [ResidualBlock]
    public let out: Conv2d
    let heteroscedastic: Bool

    public init(_ config: SAVLConfig, rng: inout SeededGenerator) {
        let f = config.decoderFeatures
        heteroscedastic = config.likelihood == .heteroscedastic
        head = Conv2d(3 + config.latentDim, f, kernel: 3, rng: &rng)
        body = (0..<config.decoderBlocks).map { _ in ResidualBlock(f, rng: &rng) }
        out = Conv2d(f, heteroscedastic ? 6 : 3, kernel: 3, rng: &rng)
    }

    /// The reconstruction y_hat (N, 3, h, w) and, for the heteroscedastic likelihood, log b (N, 3, h, w).
    public func callAsFunction(content z: Tensor, code r: Tensor) throws -> (Tensor, Tensor?) {
        let code = r.shape[2] == z.shape[2] && r.shape[3] == z.shape[3]
            ? r : try r * Tensor.ones([1, 1, z.shape[2], z.shape[3]])
        var h = try leakyRelu(head(concat([z, code], axis: 1)), slope: 0.1)
        for block in body { h = try block(h) }
        let o = try out(h)
        guard heteroscedastic else { return (try z + o, nil) }
        return (try z + o.sliced(axis: 1, 0..<3), try clamp(o.sliced(axis: 1, 3..<6), min: -7, max: 3))
    }

    /// The negative log-likelihood up to constants, averaged over values: |y - y_hat| (fixed scale)
    /// or |y - y_hat| / b + log b (heteroscedastic, b = exp(logScale)).
    public static func reconstructionLoss(_ y: Tensor, _ reconstruction: Tensor, logScale: Tensor?) throws -> Tensor {
        guard let logScale else { return try l1Loss(reconstruction, y) }
        return try (abs(y - reconstruction) * exp(-logScale) + logScale).mean()
    }
}
