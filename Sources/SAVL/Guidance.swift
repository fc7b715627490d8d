import Layers
import SeededRandom
import Tensors

/// What the SR network reads from the posterior: the mean (degradation type) and the severity map.
public struct Guidance {
    /// mu, (N, d, h, w) or (N, d, 1, 1); nil for the plain (no-code) network.
    public var mean: Tensor?
    /// s, (N, 1, h, w), high where the degradation is mild.
    public var severity: Tensor?

    public init(mean: Tensor?, severity: Tensor?) {
        self.mean = mean
        self.severity = severity
    }
}

extension Guidance {
    /// The guidance of an `oracle` model: the ground-truth maps (N, k, h, w), zero-padded to `latentDim`
    /// channels, stand for mu; their channel mean gives the severity map.
    public static func oracle(maps: Tensor, latentDim: Int) throws -> Guidance {
        let (n, k, h, w) = (maps.shape[0], maps.shape[1], maps.shape[2], maps.shape[3])
        let mean = k < latentDim ? try concat([maps, Tensor.zeros([n, latentDim - k, h, w])], axis: 1) : maps
        let severity = h * w > 1 ? try severityMap(level: maps.mean(axes: [1], keepDims: true)) : Tensor.zeros([n, 1, h, w])
        return Guidance(mean: mean, severity: severity)
    }
}

/// DSCA, the dual guidance before every block.
///
/// Channel path: two 1x1 convs on mu (d to d to C) give per-pixel channel gates 2 sigmoid(.) (1 at zero logits).
/// Spatial path (conv blocks): a 3x3 conv over [s, channel mean of the features] gives a spatial gate 2 sigmoid(.).
/// Attention blocks take the severity into their logits instead, so they have no spatial conv here.
public final class DegradationGuidance: Module {
    public let channel1: Conv2d, channel2: Conv2d
    public let spatial: Conv2d?

    public init(latentDim: Int, features: Int, spatialGate: Bool, rng: inout SeededGenerator) {
        channel1 = Conv2d(latentDim, latentDim, kernel: 1, rng: &rng)
        channel2 = Conv2d(latentDim, features, kernel: 1, rng: &rng)
        spatial = spatialGate ? Conv2d(2, 1, kernel: 3, rng: &rng) : nil
    }

    public func callAsFunction(_ f: Tensor, _ guidance: Guidance) throws -> Tensor {
        guard let mean = guidance.mean else { return f }
        let channelGate = try sigmoid(channel2(leakyRelu(channel1(mean), slope: 0.1))) * 2
        var out = try f * channelGate
        if let spatial, let severity = guidance.severity {
            let pooled = try out.mean(axes: [1], keepDims: true)
            out = try out * (sigmoid(spatial(concat([severity, pooled], axis: 1))) * 2)
        }
        return out
    }
}

/// A block of the SR network that reads the guidance.
public protocol GuidedBlock: Module {
    func callAsFunction(_ x: Tensor, _ guidance: Guidance) throws -> Tensor
}

/// `conv` family block: DSCA, then conv3x3 - LeakyReLU(0.1) - conv3x3 with a residual connection.
public final class GuidedConvBlock: Module, GuidedBlock {
    public let guide: DegradationGuidance?
    public let conv1: Conv2d, conv2: Conv2d

    public init(_ config: SAVLConfig, rng: inout SeededGenerator) {
        guide = config.code == .none ? nil : DegradationGuidance(latentDim: config.latentDim, features: config.features, spatialGate: true, rng: &rng)
        conv1 = Conv2d(config.features, config.features, kernel: 3, rng: &rng)
        conv2 = Conv2d(config.features, config.features, kernel: 3, rng: &rng)
    }

    public func callAsFunction(_ x: Tensor, _ guidance: Guidance) throws -> Tensor {
        let g = try guide?(x, guidance) ?? x
        return try g + conv2(leakyRelu(conv1(g), slope: 0.1))
    }
}

/// A residual group: guided blocks, a 3x3 conv, and a skip over the group.
public final class ResidualGroup: Module {
    public let blocks: [any GuidedBlock]
    public let conv: Conv2d

    public init(_ config: SAVLConfig, rng: inout SeededGenerator) {
        blocks = (0..<config.blocksPerGroup).map { i -> any GuidedBlock in
            switch config.blockKind {
            case .conv: GuidedConvBlock(config, rng: &rng)
            case .attention: GuidedAttentionBlock(config, shifted: i % 2 == 1, rng: &rng)
            }
        }
        conv = Conv2d(config.features, config.features, kernel: 3, rng: &rng)
    }

    public func callAsFunction(_ x: Tensor, _ guidance: Guidance) throws -> Tensor {
        try conv(blocks.reduce(x) { try $1($0, guidance) }) + x
    }
}

/// The SR network: shallow conv, residual groups of guided blocks, conv + pixel-shuffle upsampler
/// (`progressive` or `direct`), and a bilinear or bicubic skip from the LR input. Wide networks (over 64 features)
/// first reduce to 64 channels before a progressive upsampler, as SwinIR does, which keeps it small.
public final class GuidedSRNetwork: Module {
    public let head: Conv2d
    public let groups: [ResidualGroup]
    public let bodyConv: Conv2d
    public let reduce: Conv2d?
    public let upsample: [Conv2d]
    public let tail: Conv2d?
    let scale: Int
    let skip: SAVLConfig.Skip

    public init(_ config: SAVLConfig, rng: inout SeededGenerator) {
        let c = config.features, s = config.scale
        scale = s
        skip = config.skip
        head = Conv2d(3, c, kernel: 3, rng: &rng)
        groups = (0..<config.groups).map { _ in ResidualGroup(config, rng: &rng) }
        bodyConv = Conv2d(c, c, kernel: 3, rng: &rng)
        switch config.upsampler {
        case .progressive:
            let u = min(c, 64)
            reduce = u < c ? Conv2d(c, u, kernel: 3, rng: &rng) : nil
            upsample = (0..<(s == 4 ? 2 : 1)).map { _ in Conv2d(u, 4 * u, kernel: 3, rng: &rng) }
            tail = Conv2d(u, 3, kernel: 3, rng: &rng)
        case .direct:
            reduce = nil
            upsample = [Conv2d(c, 3 * s * s, kernel: 3, rng: &rng)]
            tail = nil
        }
        if skip == .bicubic, let last = tail ?? upsample.last {
            last.weight.zero()
            last.bias?.zero()
        }
    }

    /// The SR image (N, 3, h s, w s) of an LR batch (N, 3, h, w).
    public func callAsFunction(_ x: Tensor, _ guidance: Guidance) throws -> Tensor {
        let shallow = try head(x)
        var f = try groups.reduce(shallow) { try $1($0, guidance) }
        f = try bodyConv(f) + shallow
        if let reduce { f = try leakyRelu(reduce(f), slope: 0.1) }
        let base = try resize2d(x, height: x.shape[2] * scale, width: x.shape[3] * scale, mode: skip == .bicubic ? .bicubic : .bilinear)
        guard let tail else { return try pixelShuffle(upsample[0](f), scale) + base }
        for conv in upsample { f = try pixelShuffle(conv(f), 2) }
        return try tail(f) + base
    }
}
