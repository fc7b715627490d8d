import Foundation

/// Precomputed taps for resampling one axis: output sample `i` is
/// `sum over k of weights[i * taps + k] * input[indices[i * taps + k]]`.
///
/// Every output has the same number of taps (unused ones carry weight 0 and index 0), so the
/// resampling loops have no branches.
struct AxisWeights {
    let inLength: Int
    let outLength: Int
    let taps: Int
    var indices: [Int32]
    var weights: [Float]

    init(method: ResizeMethod, inLength: Int, outLength: Int) {
        precondition(inLength > 0 && outLength > 0, "resize lengths must be positive")
        switch method {
        case .matlabBicubic: self = AxisWeights.matlab(inLength: inLength, outLength: outLength)
        case .bicubic: self = AxisWeights.torchCubic(inLength: inLength, outLength: outLength)
        case .bilinear: self = AxisWeights.torchLinear(inLength: inLength, outLength: outLength)
        case .area: self = AxisWeights.adaptiveAverage(inLength: inLength, outLength: outLength)
        case .nearest: self = AxisWeights.torchNearest(inLength: inLength, outLength: outLength)
        }
    }

    private init(inLength: Int, outLength: Int, taps: Int, indices: [Int32], weights: [Float]) {
        self.inLength = inLength
        self.outLength = outLength
        self.taps = taps
        self.indices = indices
        self.weights = weights
    }

    // MARK: - MATLAB imresize, bicubic

    /// MATLAB's cubic kernel (Keys, a = -0.5).
    private static func matlabCubic(_ x: Double) -> Double {
        let ax = abs(x), ax2 = ax * ax, ax3 = ax2 * ax
        if ax <= 1 { return 1.5 * ax3 - 2.5 * ax2 + 1 }
        if ax <= 2 { return -0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2 }
        return 0
    }

    /// MATLAB `imresize` contributions: kernel widened by 1/scale when shrinking (antialiasing),
    /// weights normalised to sum 1, out-of-range taps mirrored (`[1:n, n:-1:1]` periodically),
    /// and tap positions whose weight is zero for every output removed.
    static func matlab(inLength: Int, outLength: Int) -> AxisWeights {
        let scale = Double(outLength) / Double(inLength)
        let shrinking = scale < 1
        let kernelWidth = shrinking ? 4 / scale : 4
        let p = Int(kernelWidth.rounded(.up)) + 2
        var indices = [Int32](repeating: 0, count: outLength * p)
        var weights = [Double](repeating: 0, count: outLength * p)
        var used = [Bool](repeating: false, count: p)
        let period = 2 * inLength
        for i in 0..<outLength {
            // MATLAB works 1-based: output x maps to input u.
            let x = Double(i + 1)
            let u = x / scale + 0.5 * (1 - 1 / scale)
            let left = (u - kernelWidth / 2).rounded(.down)
            var sum = 0.0
            for j in 0..<p {
                let position = left + Double(j)
                let d = u - position
                let w = shrinking ? scale * matlabCubic(scale * d) : matlabCubic(d)
                weights[i * p + j] = w
                sum += w
                var m = (Int(position) - 1) % period
                if m < 0 { m += period }
                indices[i * p + j] = Int32(m < inLength ? m : period - 1 - m)
            }
            for j in 0..<p {
                weights[i * p + j] /= sum
                if weights[i * p + j] != 0 { used[j] = true }
            }
        }
        let kept = (0..<p).filter { used[$0] }
        var keptIndices = [Int32](), keptWeights = [Float]()
        keptIndices.reserveCapacity(outLength * kept.count)
        keptWeights.reserveCapacity(outLength * kept.count)
        for i in 0..<outLength {
            for j in kept {
                keptIndices.append(indices[i * p + j])
                keptWeights.append(Float(weights[i * p + j]))
            }
        }
        return AxisWeights(inLength: inLength, outLength: outLength, taps: kept.count,
                           indices: keptIndices, weights: keptWeights)
    }

    // MARK: - PyTorch F.interpolate, align_corners=False, no antialias

    /// PyTorch computes source coordinates in float32 with scale = in / out; so do we, so that
    /// the floors (which pick the taps) agree exactly.
    private static func torchScale(_ inLength: Int, _ outLength: Int) -> Float {
        Float(inLength) / Float(outLength)
    }

    static func torchCubic(inLength: Int, outLength: Int) -> AxisWeights {
        let a = -0.75
        func near(_ x: Double) -> Double { ((a + 2) * x - (a + 3)) * x * x + 1 }
        func far(_ x: Double) -> Double { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
        let scale = torchScale(inLength, outLength)
        var indices = [Int32](), weights = [Float]()
        for i in 0..<outLength {
            let source = scale * (Float(i) + 0.5) - 0.5
            let floorIndex = min(Int(source.rounded(.down)), inLength - 1)
            let t = Double(min(max(source - Float(floorIndex), 0), 1))
            let w = [far(t + 1), near(t), near(1 - t), far(2 - t)]
            for k in 0..<4 {
                indices.append(Int32(min(max(floorIndex - 1 + k, 0), inLength - 1)))
                weights.append(Float(w[k]))
            }
        }
        return AxisWeights(inLength: inLength, outLength: outLength, taps: 4, indices: indices, weights: weights)
    }

    static func torchLinear(inLength: Int, outLength: Int) -> AxisWeights {
        let scale = torchScale(inLength, outLength)
        var indices = [Int32](), weights = [Float]()
        for i in 0..<outLength {
            let source = max(scale * (Float(i) + 0.5) - 0.5, 0)
            let i0 = min(Int(source.rounded(.down)), inLength - 1)
            let lambda1 = min(max(source - Float(i0), 0), 1)
            let i1 = i0 < inLength - 1 ? i0 + 1 : i0
            indices += [Int32(i0), Int32(i1)]
            weights += [1 - lambda1, lambda1]
        }
        return AxisWeights(inLength: inLength, outLength: outLength, taps: 2, indices: indices, weights: weights)
    }

    /// PyTorch's legacy `nearest`: floor(dst * in / out) in float32, clamped.
    static func torchNearest(inLength: Int, outLength: Int) -> AxisWeights {
        let scale = torchScale(inLength, outLength)
        var indices = [Int32]()
        for i in 0..<outLength {
            let source: Int
            if outLength == 2 * inLength {
                source = i >> 1
            } else {
                source = min(Int((Float(i) * scale).rounded(.down)), inLength - 1)
            }
            indices.append(Int32(source))
        }
        return AxisWeights(inLength: inLength, outLength: outLength, taps: 1, indices: indices,
                           weights: [Float](repeating: 1, count: outLength))
    }

    /// `adaptive_avg_pool`: output i averages inputs [floor(i*in/out), ceil((i+1)*in/out)).
    static func adaptiveAverage(inLength: Int, outLength: Int) -> AxisWeights {
        func start(_ i: Int) -> Int { (i * inLength) / outLength }
        func end(_ i: Int) -> Int { ((i + 1) * inLength + outLength - 1) / outLength }
        let taps = (0..<outLength).map { end($0) - start($0) }.max() ?? 1
        var indices = [Int32](repeating: 0, count: outLength * taps)
        var weights = [Float](repeating: 0, count: outLength * taps)
        for i in 0..<outLength {
            let s = start(i), e = end(i)
            for k in 0..<(e - s) {
                indices[i * taps + k] = Int32(s + k)
                weights[i * taps + k] = 1 / Float(e - s)
            }
        }
        return AxisWeights(inLength: inLength, outLength: outLength, taps: taps, indices: indices, weights: weights)
    }
}
