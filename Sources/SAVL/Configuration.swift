/// The architecture of a SAVL model: encoder, likelihood decoder and guided SR network.
///
/// Every field has a documented default through the presets; `validate()` names the first bad field.
public struct SAVLConfig: Codable, Equatable, Sendable {
    /// The block family of the SR network.
    public enum BlockKind: String, Codable, Sendable, CaseIterable {
        /// Residual conv-LeakyReLU-conv blocks; the severity map drives a spatial gate (CPU-friendly).
        case conv
        /// (Shifted) window self-attention with relative position bias; the severity map re-weights the logits.
        case attention
    }

    /// What the degradation code is (the method, and its ablations).
    public enum CodeMode: String, Codable, Sendable, CaseIterable {
        /// Per-pixel Gaussian posterior N(mu, sigma^2), sampled in training, KL to N(0, I) (the method).
        case variational
        /// Per-pixel code mu without sigma or KL.
        case deterministic
        /// One posterior per image (mu and log sigma^2 pooled over pixels), like DASR.
        case global
        /// No degradation code: a plain SR network of the same size.
        case none
        /// No encoder: the SR network is guided by the ground-truth degradation maps of the training
        /// pairs (`oracleChannels` of them, zero-padded to d channels) through the same guidance modules.
        /// A research bound on what any code can give at this size, not a model for photos.
        case oracle
    }

    /// Channels of the ground-truth degradation maps an `oracle` model reads (the training pipeline's
    /// per-pixel blur width, noise sigma and JPEG severity, and three per-image parameters).
    public static let oracleChannels = 6

    /// How the SR network goes from LR features to the HR image.
    public enum Upsampler: String, Codable, Sendable, CaseIterable {
        /// A conv to 4 C channels and a pixel shuffle per factor 2, then a conv to RGB (EDSR, SwinIR).
        case progressive
        /// One conv to 3 s^2 channels and a pixel shuffle by s (ESPCN, Real-ESRGAN's compact model):
        /// every conv runs at LR size, which for `small` at x4 halves the compute of a training step.
        case direct
    }

    /// The interpolation of the LR input that the SR network's output is added to.
    public enum Skip: String, Codable, Sendable, CaseIterable {
        /// Bilinear (models v1 and v2, and files that do not name a skip).
        case bilinear
        /// MATLAB bicubic, the field's baseline; the last conv starts at zero, so an untrained network
        /// returns exactly bicubic interpolation and training only has to learn what improves on it.
        case bicubic
    }

    /// The likelihood of the SAVL-LM decoder.
    public enum Likelihood: String, Codable, Sendable, CaseIterable {
        /// Laplacian with a fixed scale: L1 reconstruction.
        case laplace
        /// Laplacian whose per-pixel log-scale b the decoder predicts: |y - y_hat| / b + log b.
        case heteroscedastic
    }

    /// Name of the preset this configuration started from.
    public var preset: String
    /// Upscaling factor, 2 or 4.
    public var scale: Int
    /// Dimension d of the per-pixel degradation code.
    public var latentDim: Int
    /// Feature channels of the SR network.
    public var features: Int
    /// Residual groups of the SR network.
    public var groups: Int
    /// Blocks per residual group, each preceded by the guidance module.
    public var blocksPerGroup: Int
    /// The block family.
    public var blockKind: BlockKind
    /// Feature channels of the degradation encoder.
    public var encoderFeatures: Int
    /// Residual blocks of the encoder; its receptive field is 3 + 4 * blocks LR pixels wide.
    public var encoderBlocks: Int
    /// Feature channels of the likelihood decoder.
    public var decoderFeatures: Int
    /// Residual blocks of the decoder; its receptive field is 5 + 4 * blocks LR pixels wide.
    public var decoderBlocks: Int
    /// The degradation code.
    public var code: CodeMode
    /// The decoder's likelihood.
    public var likelihood: Likelihood
    /// The upsampler of the SR network.
    public var upsampler: Upsampler
    /// The interpolated input the SR network adds its output to.
    public var skip: Skip = .bilinear
    /// Side of the window (odd, in LR pixels) the encoder's output is averaged over before it becomes the
    /// posterior: 1 keeps the per-pixel code; wider makes the code a smooth field, which cannot hold
    /// pixel-scale content and can pool a degradation's evidence (noise, blur) over more pixels.
    public var codeWindow: Int = 1
    /// Side of the window (odd, in LR pixels) whose mean the encoder's input has subtracted: 0 gives the
    /// encoder the LR image itself; w > 0 gives it y - mean_w(y), the image's detail without its colours and
    /// shading, where noise, blur and JPEG blocks show and most of what identifies a photo does not.
    public var encoderHighPass: Int = 0
    /// Window side of attention blocks.
    public var windowSize: Int
    /// Attention heads of attention blocks.
    public var heads: Int
    /// Hidden width of the attention blocks' MLP, as a multiple of `features`.
    public var mlpRatio: Int

    /// The receptive field of the degradation encoder, in LR pixels (odd: the window is centred).
    public var encoderReceptiveField: Int { 3 + 4 * encoderBlocks + codeWindow - 1 + max(0, encoderHighPass - 1) }

    /// A preset: `tiny` (tests), `small` (the CPU default), `paper` (attention blocks, about 14 M parameters).
    public static func preset(_ name: String, scale: Int = 4) throws -> SAVLConfig {
        var c: SAVLConfig
        switch name {
        case "tiny":
            c = SAVLConfig(preset: name, scale: scale, latentDim: 4, features: 8, groups: 1, blocksPerGroup: 2, blockKind: .conv,
                           encoderFeatures: 8, encoderBlocks: 1, decoderFeatures: 8, decoderBlocks: 2, code: .variational,
                           likelihood: .laplace, upsampler: .progressive, windowSize: 4, heads: 2, mlpRatio: 2)
        case "small":
            c = SAVLConfig(preset: name, scale: scale, latentDim: 16, features: 48, groups: 2, blocksPerGroup: 4, blockKind: .conv,
                           encoderFeatures: 32, encoderBlocks: 4, decoderFeatures: 32, decoderBlocks: 2, code: .variational,
                           likelihood: .laplace, upsampler: .direct, windowSize: 8, heads: 4, mlpRatio: 2)
        case "paper":
            c = SAVLConfig(preset: name, scale: scale, latentDim: 64, features: 180, groups: 6, blocksPerGroup: 6, blockKind: .attention,
                           encoderFeatures: 64, encoderBlocks: 4, decoderFeatures: 64, decoderBlocks: 3, code: .variational,
                           likelihood: .laplace, upsampler: .progressive, windowSize: 16, heads: 6, mlpRatio: 2)
        default:
            throw SAVLError("unknown preset '\(name)' (known: tiny, small, paper)")
        }
        try c.validate()
        return c
    }

    /// Checks every field; the error names the first field out of range.
    public func validate() throws {
        func check(_ ok: Bool, _ field: String, _ rule: String) throws {
            if !ok { throw SAVLError("model.\(field): \(rule)") }
        }
        try check(scale == 2 || scale == 4, "scale", "must be 2 or 4, got \(scale)")
        try check(latentDim >= 1, "latentDim", "must be at least 1, got \(latentDim)")
        try check(features >= 4, "features", "must be at least 4, got \(features)")
        try check(groups >= 1 && blocksPerGroup >= 1, "groups", "groups and blocksPerGroup must be at least 1")
        if code == .oracle {
            try check(latentDim >= Self.oracleChannels, "latentDim", "must be at least \(Self.oracleChannels) for the oracle (the maps it reads), got \(latentDim)")
        }
        try check(codeWindow >= 1 && codeWindow % 2 == 1, "codeWindow", "must be odd and at least 1, got \(codeWindow)")
        try check(encoderHighPass == 0 || (encoderHighPass >= 3 && encoderHighPass % 2 == 1), "encoderHighPass",
                  "must be 0 (off) or odd and at least 3, got \(encoderHighPass)")
        try check(encoderFeatures >= 1 && encoderBlocks >= 0, "encoderFeatures", "encoder needs features >= 1 and blocks >= 0")
        try check(decoderFeatures >= 1 && decoderBlocks >= 0, "decoderFeatures", "decoder needs features >= 1 and blocks >= 0")
        if blockKind == .attention {
            try check(windowSize >= 2, "windowSize", "must be at least 2, got \(windowSize)")
            try check(heads >= 1 && features % heads == 0, "heads", "must divide features (\(features)), got \(heads)")
            try check(mlpRatio >= 1, "mlpRatio", "must be at least 1, got \(mlpRatio)")
        }
    }
}

extension SAVLConfig {
    private enum CodingKeys: String, CodingKey {
        case preset, scale, latentDim, features, groups, blocksPerGroup, blockKind, encoderFeatures, encoderBlocks
        case decoderFeatures, decoderBlocks, code, likelihood, upsampler, skip, codeWindow, encoderHighPass, windowSize, heads, mlpRatio
    }

    /// Decodes every field; `skip`, added after models v1 and v2 were written, defaults to bilinear, and
    /// `codeWindow` and `encoderHighPass`, added after v3, to 1 and 0.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(preset: try c.decode(String.self, forKey: .preset), scale: try c.decode(Int.self, forKey: .scale),
                  latentDim: try c.decode(Int.self, forKey: .latentDim), features: try c.decode(Int.self, forKey: .features),
                  groups: try c.decode(Int.self, forKey: .groups), blocksPerGroup: try c.decode(Int.self, forKey: .blocksPerGroup),
                  blockKind: try c.decode(BlockKind.self, forKey: .blockKind),
                  encoderFeatures: try c.decode(Int.self, forKey: .encoderFeatures), encoderBlocks: try c.decode(Int.self, forKey: .encoderBlocks),
                  decoderFeatures: try c.decode(Int.self, forKey: .decoderFeatures), decoderBlocks: try c.decode(Int.self, forKey: .decoderBlocks),
                  code: try c.decode(CodeMode.self, forKey: .code), likelihood: try c.decode(Likelihood.self, forKey: .likelihood),
                  upsampler: try c.decode(Upsampler.self, forKey: .upsampler),
                  skip: try c.decodeIfPresent(Skip.self, forKey: .skip) ?? .bilinear,
                  codeWindow: try c.decodeIfPresent(Int.self, forKey: .codeWindow) ?? 1,
                  encoderHighPass: try c.decodeIfPresent(Int.self, forKey: .encoderHighPass) ?? 0,
                  windowSize: try c.decode(Int.self, forKey: .windowSize), heads: try c.decode(Int.self, forKey: .heads),
                  mlpRatio: try c.decode(Int.self, forKey: .mlpRatio))
    }
}

/// An error in building or running a SAVL model.
public struct SAVLError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
