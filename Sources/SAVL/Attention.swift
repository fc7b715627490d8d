import Foundation
import Layers
import SeededRandom
import Tensors

/// `attention` family block (Swin-style): LayerNorm, (shifted) window multi-head self-attention with relative
/// position bias, MLP; DSCA's channel gate before it, and the severity map re-weighting the logits of each
/// head h by -gamma_h |s_i - s_j| (gamma_h = softplus of a learned value, so >= 0).
/// Height and width must be multiples of the window (the model pads its input).
public final class GuidedAttentionBlock: Module, GuidedBlock {
    public let guide: DegradationGuidance?
    public let norm1: LayerNorm, norm2: LayerNorm
    public let qkv: Linear, proj: Linear
    public let mlp1: Linear, mlp2: Linear
    /// Relative position bias table, ((2 ws - 1)^2, heads).
    public let relativePositionBias: Parameter
    /// Per-head severity weights before softplus.
    public let severityWeight: Parameter?
    let window: Int, heads: Int, shifted: Bool
    private let relativeIndex: [Int]

    public init(_ config: SAVLConfig, shifted: Bool, rng: inout SeededGenerator) {
        let c = config.features, ws = config.windowSize
        guide = config.code == .none ? nil : DegradationGuidance(latentDim: config.latentDim, features: c, spatialGate: false, rng: &rng)
        norm1 = LayerNorm(c); norm2 = LayerNorm(c)
        qkv = Linear(c, 3 * c, rng: &rng); proj = Linear(c, c, rng: &rng)
        mlp1 = Linear(c, config.mlpRatio * c, rng: &rng); mlp2 = Linear(config.mlpRatio * c, c, rng: &rng)
        relativePositionBias = Parameter(Tensor.normal([(2 * ws - 1) * (2 * ws - 1), config.heads], std: 0.02, using: &rng))
        severityWeight = config.code == .none ? nil : Parameter(Tensor.zeros([config.heads]))
        window = ws; heads = config.heads; self.shifted = shifted
        var index: [Int] = []
        for i in 0..<(ws * ws) {
            for j in 0..<(ws * ws) {
                index.append((i / ws - j / ws + ws - 1) * (2 * ws - 1) + (i % ws - j % ws + ws - 1))
            }
        }
        relativeIndex = index
    }

    public func callAsFunction(_ x: Tensor, _ guidance: Guidance) throws -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        guard h % window == 0, w % window == 0 else { throw SAVLError("attention block: \(h)x\(w) is not a multiple of the window \(window)") }
        let g = try guide?(x, guidance) ?? x
        let tokens = try g.permuted([0, 2, 3, 1])  // (N, H, W, C)
        let shift = shifted && min(h, w) > window ? window / 2 : 0
        var a = try norm1(tokens)
        if shift > 0 { a = try roll(a, by: -shift) }
        var logitsBias = try relativeBias()
        if shift > 0 { logitsBias = try logitsBias + shiftMask(n: n, h: h, w: w, shift: shift) }
        if let severity = guidance.severity, let severityWeight {
            var s = try severity.permuted([0, 2, 3, 1])
            if shift > 0 { s = try roll(s, by: -shift) }
            let sw = try partition(s).reshaped([-1, window * window])  // (B', L)
            let distance = try abs(sw.reshaped([-1, 1, window * window, 1]) - sw.reshaped([-1, 1, 1, window * window]))
            logitsBias = try logitsBias - distance * softplus(severityWeight.value).reshaped([1, heads, 1, 1])
        }
        var attended = try windowAttention(partition(a), bias: logitsBias)
        attended = try merge(attended, n: n, h: h, w: w)
        if shift > 0 { attended = try roll(attended, by: shift) }
        let mid = try tokens + attended
        let out = try mid + mlp2(gelu(mlp1(norm2(mid))))
        return try out.permuted([0, 3, 1, 2]).reshaped([n, c, h, w])
    }

    /// Multi-head attention within windows: (B', L, C) to (B', L, C).
    private func windowAttention(_ t: Tensor, bias: Tensor) throws -> Tensor {
        let (b, l, c) = (t.shape[0], t.shape[1], t.shape[2])
        let hd = c / heads
        let q3 = try qkv(t).reshaped([b, l, 3, heads, hd]).permuted([2, 0, 3, 1, 4])  // (3, B', heads, L, hd)
        let q = try q3.sliced(axis: 0, 0..<1).reshaped([b, heads, l, hd]) * (1 / Float(hd).squareRoot())
        let k = try q3.sliced(axis: 0, 1..<2).reshaped([b, heads, l, hd])
        let v = try q3.sliced(axis: 0, 2..<3).reshaped([b, heads, l, hd])
        let logits = try matmul(q, k.transposed()) + bias
        let o = try matmul(softmax(logits, axis: -1), v)  // (B', heads, L, hd)
        return try proj(o.permuted([0, 2, 1, 3]).reshaped([b, l, c]))
    }

    /// (1, heads, L, L) relative position bias.
    private func relativeBias() throws -> Tensor {
        let l = window * window
        return try relativePositionBias.value.gathered(rows: relativeIndex).reshaped([l, l, heads]).permuted([2, 0, 1]).reshaped([1, heads, l, l])
    }

    /// (N, H, W, C) to windows (N nW, L, C).
    private func partition(_ t: Tensor) throws -> Tensor {
        let (n, h, w, c) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
        return try t.reshaped([n, h / window, window, w / window, window, c]).permuted([0, 1, 3, 2, 4, 5]).reshaped([-1, window * window, c])
    }

    /// Windows (N nW, L, C) back to (N, H, W, C).
    private func merge(_ t: Tensor, n: Int, h: Int, w: Int) throws -> Tensor {
        let c = t.shape[2]
        return try t.reshaped([n, h / window, w / window, window, window, c]).permuted([0, 1, 3, 2, 4, 5]).reshaped([n, h, w, c])
    }

    /// Cyclic shift of axes 1 and 2 of (N, H, W, C) by `k` (negative: towards the origin).
    private func roll(_ t: Tensor, by k: Int) throws -> Tensor {
        var out = t
        for axis in [1, 2] {
            let size = out.shape[axis], s = ((k % size) + size) % size
            guard s != 0 else { continue }
            out = try concat([out.sliced(axis: axis, (size - s)..<size), out.sliced(axis: axis, 0..<(size - s))], axis: axis)
        }
        return out
    }

    /// -100 between tokens of a shifted window that come from different image regions: (N nW, 1, L, L).
    private func shiftMask(n: Int, h: Int, w: Int, shift: Int) throws -> Tensor {
        func region(_ i: Int, _ size: Int) -> Int { i < size - window ? 0 : (i < size - shift ? 1 : 2) }
        let l = window * window, nh = h / window, nw = w / window
        var mask = [Float](repeating: 0, count: nh * nw * l * l)
        for wy in 0..<nh {
            for wx in 0..<nw {
                let labels = (0..<l).map { t in region(wy * window + t / window, h) * 3 + region(wx * window + t % window, w) }
                let base = (wy * nw + wx) * l * l
                for i in 0..<l { for j in 0..<l where labels[i] != labels[j] { mask[base + i * l + j] = -100 } }
            }
        }
        let single = Tensor(shape: [1, nh * nw, 1, l, l], values: mask)
        return try (single * Tensor.ones([n, 1, 1, 1, 1])).reshaped([n * nh * nw, 1, l, l])
    }
}
