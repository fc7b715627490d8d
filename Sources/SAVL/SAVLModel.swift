import Layers
import SeededRandom
import Tensors

/// Weights of the stage-1 objective L1(SR, HR) + alpha L_rec + beta KL.
public struct ObjectiveWeights: Codable, Equatable, Sendable {
    /// Weight of the likelihood (reconstruction) term.
    public var alpha: Float
    /// Weight of the KL to N(0, I) (mutual-information suppression).
    public var beta: Float
    /// Whether the SR loss's gradient reaches the encoder in stage 1 (true: joint training). The SR
    /// network reads mu itself, not a noisy sample, so the KL does not bound what that path can carry:
    /// false leaves the code to the likelihood and KL terms.
    public var srTrainsEncoder: Bool
    /// Cross-content re-degradation (false: the paper's objective). One sampled degradation is applied
    /// to two HR crops A and B with different noise; the encoder reads y_A and the likelihood decoder
    /// must re-create y_B from (z_B, r_A). The content and the noise realisation of A are then useless
    /// to the decoder: only the degradation is shared, so only it is worth encoding.
    public var crossContent: Bool
    /// Free bits (Kingma et al. 2016), in nats per LR pixel per latent channel (0: off): a channel's KL,
    /// averaged over the batch and pixels, costs nothing below this, so the posterior is not pushed all
    /// the way to the prior early in training (the paper's objective collapses to 0.003 nats per pixel).
    public var freeBits: Float

    public init(alpha: Float = 1, beta: Float = 0.01, srTrainsEncoder: Bool = true, crossContent: Bool = false, freeBits: Float = 0) {
        self.alpha = alpha
        self.beta = beta
        self.srTrainsEncoder = srTrainsEncoder
        self.crossContent = crossContent
        self.freeBits = freeBits
    }

    private enum CodingKeys: String, CodingKey { case alpha, beta, srTrainsEncoder, crossContent, freeBits }

    /// Decodes the weights; `srTrainsEncoder`, `crossContent` and `freeBits` are absent from the checkpoints of runs that predate them.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        alpha = try c.decode(Float.self, forKey: .alpha)
        beta = try c.decode(Float.self, forKey: .beta)
        srTrainsEncoder = try c.decodeIfPresent(Bool.self, forKey: .srTrainsEncoder) ?? true
        crossContent = try c.decodeIfPresent(Bool.self, forKey: .crossContent) ?? false
        freeBits = try c.decodeIfPresent(Float.self, forKey: .freeBits) ?? 0
    }
}

/// The second crop of cross-content re-degradation: crop B degraded by the degradation of crop A.
public struct Partner {
    /// y_B, (N, 3, h, w).
    public var lr: Tensor
    /// z_B, the clean HR crop B downsampled by MATLAB bicubic, (N, 3, h, w).
    public var content: Tensor

    public init(lr: Tensor, content: Tensor) {
        self.lr = lr
        self.content = content
    }
}

/// The terms of the objective of one batch; `total` is what is minimised (`kl` is the posterior's KL
/// itself, whatever free bits make of it in `total`).
public struct Objective {
    public var total: Tensor
    public var srL1: Tensor
    public var reconstruction: Tensor
    public var kl: Tensor
}

/// A SAVL model: degradation encoder, likelihood decoder (training only) and guided SR network.
///
/// ```swift
/// var rng = SeededGenerator(seed: 0)
/// let model = SAVLModel(try .preset("small"), rng: &rng)
/// let sr = try GradMode.withoutGrad { try model(lr) }      // (N, 3, 4h, 4w)
/// ```
public final class SAVLModel: Module {
    public let config: SAVLConfig
    public let encoder: DegradationEncoder?
    public let decoder: LikelihoodDecoder?
    public let sr: GuidedSRNetwork

    public init(_ config: SAVLConfig, rng: inout SeededGenerator) {
        self.config = config
        let hasCode = config.code != .none && config.code != .oracle
        encoder = hasCode ? DegradationEncoder(config, rng: &rng) : nil
        decoder = hasCode ? LikelihoodDecoder(config, rng: &rng) : nil
        sr = GuidedSRNetwork(config, rng: &rng)
    }

    /// The posterior of an LR batch, or nil for the no-code ablation.
    public func posterior(_ lr: Tensor) throws -> Posterior? {
        try encoder?(lr)
    }

    /// What the SR network reads from a posterior: its mean and its severity map.
    public func guidance(_ posterior: Posterior?, height: Int, width: Int) throws -> Guidance {
        guard let posterior else { return Guidance(mean: nil, severity: nil) }
        return Guidance(mean: posterior.mean, severity: try posterior.severity(height: height, width: width))
    }

    /// Super-resolves an LR batch (N, 3, h, w) with the posterior mode; any size (padded for attention windows).
    /// An `oracle` model reads the ground-truth `maps` (N, `SAVLConfig.oracleChannels`, h, w) instead.
    public func callAsFunction(_ lr: Tensor, maps: Tensor? = nil) throws -> Tensor {
        try checkInput(lr, "LR input")
        let multiple = config.blockKind == .attention ? config.windowSize : 1
        let (h, w) = (lr.shape[2], lr.shape[3])
        let ph = (multiple - h % multiple) % multiple, pw = (multiple - w % multiple) % multiple
        func pad(_ t: Tensor) throws -> Tensor { ph + pw > 0 ? try t.padded2d(top: 0, bottom: ph, left: 0, right: pw) : t }
        let x = try pad(lr)
        let guide = config.code == .oracle
            ? try Guidance.oracle(maps: pad(checkedMaps(maps, like: lr)), latentDim: config.latentDim)
            : try guidance(posterior(x), height: x.shape[2], width: x.shape[3])
        let out = try sr(x, guide)
        guard ph + pw > 0 else { return out }
        return try out.sliced(axis: 2, 0..<(h * config.scale)).sliced(axis: 3, 0..<(w * config.scale))
    }

    /// The training objective of one batch.
    ///
    /// - Parameters:
    ///   - lr: degraded LR y, (N, 3, h, w).
    ///   - hr: the HR target x, (N, 3, h s, w s).
    ///   - content: z, the clean HR downsampled by MATLAB bicubic to (N, 3, h, w).
    ///   - stage: 1 trains everything jointly; 2 freezes the encoder (its posterior is computed without gradients) and uses L1 only.
    ///   - partner: crop B of cross-content re-degradation (`weights.crossContent`); the decoder re-creates
    ///     its LR from its content and the code of `lr`. Needed in stage 1 when `weights.crossContent`.
    ///   - maps: the ground-truth maps an `oracle` model reads, (N, `SAVLConfig.oracleChannels`, h, w).
    ///   - noise: eps for the reparameterised sample, (N, d, h, w) (or (N, d, 1, 1) for a global code); drawn from `rng` when nil.
    public func objective(lr: Tensor, hr: Tensor, content: Tensor, weights: ObjectiveWeights, stage: Int = 1,
                          partner: Partner? = nil, maps: Tensor? = nil,
                          noise: Tensor? = nil, rng: inout SeededGenerator) throws -> Objective {
        try checkInput(lr, "LR batch")
        let s = config.scale
        guard hr.shape == [lr.shape[0], 3, lr.shape[2] * s, lr.shape[3] * s] else {
            throw SAVLError("HR batch has shape \(hr.shape); expected \([lr.shape[0], 3, lr.shape[2] * s, lr.shape[3] * s]) for LR \(lr.shape) at x\(s)")
        }
        guard content.shape == lr.shape else { throw SAVLError("content batch has shape \(content.shape); expected the LR shape \(lr.shape)") }
        let zero = Tensor(0)
        guard let encoder, let decoder else {
            let guide = config.code == .oracle
                ? try Guidance.oracle(maps: checkedMaps(maps, like: lr), latentDim: config.latentDim) : Guidance(mean: nil, severity: nil)
            let l1 = try l1Loss(sr(lr, guide), hr)
            return Objective(total: l1, srL1: l1, reconstruction: zero, kl: zero)
        }
        if stage == 2 {
            let post = try GradMode.withoutGrad { try encoder(lr) }
            let l1 = try l1Loss(sr(lr, guidance(post, height: lr.shape[2], width: lr.shape[3])), hr)
            return Objective(total: l1, srL1: l1, reconstruction: zero, kl: zero)
        }
        let post = try encoder(lr)
        let code = try post.sample(noise: noise, rng: &rng)
        var target = (lr: lr, content: content)
        if weights.crossContent {
            guard let partner else { throw SAVLError("cross-content re-degradation needs the partner crop B in stage 1") }
            guard partner.lr.shape == lr.shape, partner.content.shape == lr.shape else {
                throw SAVLError("partner batch has shapes \(partner.lr.shape) and \(partner.content.shape); expected the LR shape \(lr.shape)")
            }
            target = (partner.lr, partner.content)
        }
        let (reconstruction, logScale) = try decoder(content: target.content, code: code)
        let rec = try LikelihoodDecoder.reconstructionLoss(target.lr, reconstruction, logScale: logScale)
        let kl = try post.klToStandardNormal()
        let klCost = weights.freeBits > 0 ? try post.klWithFreeBits(weights.freeBits) : kl
        let read = weights.srTrainsEncoder ? post : Posterior(mean: post.mean.detached(), logVariance: post.logVariance?.detached())
        let l1 = try l1Loss(sr(lr, guidance(read, height: lr.shape[2], width: lr.shape[3])), hr)
        let total = try l1 + rec * weights.alpha + klCost * weights.beta
        return Objective(total: total, srL1: l1, reconstruction: rec, kl: kl)
    }

    /// The oracle's maps, checked against the LR batch they describe.
    private func checkedMaps(_ maps: Tensor?, like lr: Tensor) throws -> Tensor {
        guard let maps else { throw SAVLError("an oracle model reads ground-truth degradation maps; none were given") }
        let expected = [lr.shape[0], SAVLConfig.oracleChannels, lr.shape[2], lr.shape[3]]
        guard maps.shape == expected else { throw SAVLError("maps have shape \(maps.shape); expected \(expected)") }
        return maps
    }

    private func checkInput(_ x: Tensor, _ what: String) throws {
        guard x.rank == 4, x.shape[1] == 3, x.shape[2] > 0, x.shape[3] > 0 else {
            throw SAVLError("\(what) must be (N, 3, h, w), got \(x.shape)")
        }
    }
}
