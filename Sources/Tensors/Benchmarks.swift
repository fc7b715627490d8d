import Foundation

extension Array where Element == Double {
    /// The middle value once sorted (the upper middle of an even count): how benchmarks summarise
    /// timings on a noisy machine. Nan for an empty array.
    public var median: Double { isEmpty ? .nan : sorted()[count / 2] }
}

/// The median wall time in milliseconds of `repeats` runs of `body`, after one untimed warm-up run.
public func medianMilliseconds(repeats: Int, _ body: () throws -> Void) rethrows -> Double {
    try body()
    var times: [Double] = []
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    return times.median
}

/// Median milliseconds of the three convolution passes, for `savl bench`.
public struct ConvTimings: Codable, Sendable {
    public var forward: Double, backwardData: Double, backwardWeights: Double
    /// Multiply-adds of one pass; GFLOP/s = 2 * macs / seconds / 1e9.
    public var macs: Int
}

/// Times a convolution's forward, backward-data and backward-weights kernels on the fast path
/// (activations in the blocked layout, as inside a network), `repeats` times each after a warm-up.
public func measureConv2d(batch: Int, channels: Int, size: Int, kernel: Int = 3, repeats: Int = 10) throws -> ConvTimings {
    let g = ConvGeometry(n: batch, cin: channels, h: size, w: size, cout: channels, kh: kernel, kw: kernel,
                         stride: 1, padding: kernel / 2, dilation: 1, groups: 1)
    let x = try Tensor.full([batch, channels, size, size], 0.5).inLayout(Kernels.activationLayout(channels))
    let w = Tensor.full([channels, channels, kernel, kernel], 0.01), b = Tensor.zeros([channels])
    let gy = try Tensor.full([batch, channels, size, size], 0.1).inLayout(Kernels.activationLayout(channels))
    func median(_ body: () throws -> Void) rethrows -> Double { try medianMilliseconds(repeats: repeats, body) }
    return ConvTimings(
        forward: try median { _ = try DNNLConv.forward(x, w, b, g) },
        backwardData: try median { _ = try DNNLConv.backwardData(gy, w, g, like: x) },
        backwardWeights: try median { _ = try DNNLConv.backwardWeights(gy, x, g, bias: true) },
        macs: g.macs)
}
