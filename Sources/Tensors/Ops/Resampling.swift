/// Linear interpolation taps along one axis: for each output index, (input index, weight) pairs.
struct Taps {
    var input: Int
    var entries: [[(Int, Float)]]

    /// PyTorch `nearest`: source index floor(out * (in / out_size)), computed in Float32 as PyTorch does
    /// (in Double, 11 * (26 / 22) lands on row 13 instead of PyTorch's 12).
    static func nearest(_ n: Int, _ m: Int) -> Taps {
        let scale = Float(n) / Float(m)
        return Taps(input: n, entries: (0..<m).map { o in [(min(Int((Float(o) * scale).rounded(.down)), n - 1), 1)] })
    }

    /// PyTorch `bilinear`, align_corners = false: source (out + 0.5) * in / out_size - 0.5, clamped at 0.
    static func linear(_ n: Int, _ m: Int) -> Taps {
        let scale = Double(n) / Double(m)
        return Taps(input: n, entries: (0..<m).map { o in
            let src = max((Double(o) + 0.5) * scale - 0.5, 0)
            let i0 = min(Int(src), n - 1), i1 = min(i0 + 1, n - 1)
            let f = Float(src - Double(i0))
            return i0 == i1 ? [(i0, Float(1))] : [(i0, 1 - f), (i1, f)]
        })
    }
}

extension Kernels {
    /// Applies row taps along H and column taps along W of a plain NCHW tensor (or their transpose, for gradients).
    static func resample(_ x: Tensor, _ rows: Taps, _ cols: Taps, transposed: Bool) -> Tensor {
        let x = x.layout == .plain ? x : reorder(x, to: .plain)
        let planes = x.shape[0] * x.shape[1]
        let (inH, inW) = (x.shape[2], x.shape[3])
        let (outH, outW) = transposed ? (rows.input, cols.input) : (rows.entries.count, cols.entries.count)
        let out = Tensor(shape: [x.shape[0], x.shape[1], outH, outW], storage: Storage(zeros: planes * outH * outW))
        let src = x.storage.pointer, dst = out.storage.pointer
        for p in 0..<planes {
            let s = src + p * inH * inW, d = dst + p * outH * outW
            if !transposed {
                for (oy, rowTaps) in rows.entries.enumerated() {
                    for (iy, wy) in rowTaps {
                        for (ox, colTaps) in cols.entries.enumerated() {
                            var v: Float = 0
                            for (ix, wx) in colTaps { v += s[iy * inW + ix] * wx }
                            d[oy * outW + ox] += wy * v
                        }
                    }
                }
            } else {
                for (gy, rowTaps) in rows.entries.enumerated() {
                    for (iy, wy) in rowTaps {
                        for (gx, colTaps) in cols.entries.enumerated() {
                            let g = s[gy * inW + gx] * wy
                            for (ix, wx) in colTaps { d[iy * outW + ix] += g * wx }
                        }
                    }
                }
            }
        }
        return out
    }
}

/// Resize mode of `resize2d`, with PyTorch `F.interpolate` semantics.
public enum ResizeMode: Sendable {
    case nearest
    /// Bilinear with align_corners = false, no antialiasing.
    case bilinear
}

/// Resizes the last two axes of an NCHW tensor to (height, width).
public func resize2d(_ x: Tensor, height: Int, width: Int, mode: ResizeMode) throws -> Tensor {
    guard x.rank == 4, height > 0, width > 0 else { throw TensorError("resize2d: needs a 4-D tensor and a positive size, got \(x.shape) to \(height)x\(width)") }
    let rows = mode == .nearest ? Taps.nearest(x.shape[2], height) : Taps.linear(x.shape[2], height)
    let cols = mode == .nearest ? Taps.nearest(x.shape[3], width) : Taps.linear(x.shape[3], width)
    let out = Kernels.resample(x, rows, cols, transposed: false)
    return Tensor.recorded(out, "resize2d", [x]) { g in [Kernels.resample(g, rows, cols, transposed: true)] }
}

/// Average pooling over k x k windows with a stride and zero padding counted in the average (PyTorch's default).
public func avgPool2d(_ x: Tensor, kernel k: Int, stride: Int? = nil, padding: Int = 0) throws -> Tensor {
    let s = stride ?? k
    guard x.rank == 4, k >= 1, s >= 1, padding >= 0, padding * 2 <= k else { throw TensorError("avgPool2d: bad kernel \(k), stride \(s), padding \(padding) for \(x.shape)") }
    let (h, w) = (x.shape[2], x.shape[3])
    let oh = (h + 2 * padding - k) / s + 1, ow = (w + 2 * padding - k) / s + 1
    guard oh > 0, ow > 0 else { throw TensorError("avgPool2d: window \(k) larger than the padded input \(x.shape)") }
    // Average pooling is a resampling with uniform taps per axis (the window is separable).
    func taps(_ n: Int, _ m: Int) -> Taps {
        Taps(input: n, entries: (0..<m).map { o in
            (0..<k).compactMap { j in
                let i = o * s - padding + j
                return i >= 0 && i < n ? (i, 1 / Float(k)) : nil
            }
        })
    }
    let rows = taps(h, oh), cols = taps(w, ow)
    let out = Kernels.resample(x, rows, cols, transposed: false)
    return Tensor.recorded(out, "avgPool2d", [x]) { g in [Kernels.resample(g, rows, cols, transposed: true)] }
}

/// Mean over height and width, keeping them as size 1: (N, C, H, W) to (N, C, 1, 1).
public func globalAvgPool2d(_ x: Tensor) throws -> Tensor {
    guard x.rank == 4 else { throw TensorError("globalAvgPool2d: needs a 4-D tensor, got \(x.shape)") }
    return try x.mean(axes: [2, 3], keepDims: true)
}
