/// Resize mode of `resize2d`, with PyTorch `F.interpolate` semantics.
public enum ResizeMode: Sendable {
    case nearest
    /// Bilinear with align_corners = false, no antialiasing.
    case bilinear
    /// MATLAB `imresize` bicubic (a = -0.5, mirrored edges), the field's bicubic interpolation; enlarging only.
    case bicubic
}

/// Resizes the last two axes of an NCHW tensor to (height, width).
public func resize2d(_ x: Tensor, height: Int, width: Int, mode: ResizeMode) throws -> Tensor {
    guard x.rank == 4, height > 0, width > 0 else { throw TensorError("resize2d: needs a 4-D tensor and a positive size, got \(x.shape) to \(height)x\(width)") }
    if mode == .bicubic, height < x.shape[2] || width < x.shape[3] {
        throw TensorError("resize2d: bicubic only enlarges (MATLAB's antialiased shrinking is not implemented), got \(x.shape) to \(height)x\(width)")
    }
    func taps(_ n: Int, _ m: Int) -> Taps {
        switch mode {
        case .nearest: Taps.nearest(n, m)
        case .bilinear: Taps.linear(n, m)
        case .bicubic: Taps.cubic(n, m)
        }
    }
    let rows = taps(x.shape[2], height), cols = taps(x.shape[3], width)
    let out = Kernels.resample(x, rows, cols, transposed: false)
    return Tensor.recorded(out, "resize2d", [x]) { g in [Kernels.resample(g, rows, cols, transposed: true)] }
}

/// Average pooling over k x k windows with a stride and zero padding. `countPadding` true counts the padding
/// in the average (PyTorch's default); false averages over the input pixels a window holds (PyTorch's
/// `count_include_pad=False`), so stride 1 and padding k / 2 make a box filter that keeps a flat image flat.
public func avgPool2d(_ x: Tensor, kernel k: Int, stride: Int? = nil, padding: Int = 0, countPadding: Bool = true) throws -> Tensor {
    let s = stride ?? k
    guard x.rank == 4, k >= 1, s >= 1, padding >= 0, padding * 2 <= k else { throw TensorError("avgPool2d: bad kernel \(k), stride \(s), padding \(padding) for \(x.shape)") }
    let (h, w) = (x.shape[2], x.shape[3])
    let oh = (h + 2 * padding - k) / s + 1, ow = (w + 2 * padding - k) / s + 1
    guard oh > 0, ow > 0 else { throw TensorError("avgPool2d: window \(k) larger than the padded input \(x.shape)") }
    // Average pooling is a resampling with uniform taps per axis (the window is separable).
    func taps(_ n: Int, _ m: Int) -> Taps {
        Taps(input: n, entries: (0..<m).map { o in
            let inside = (0..<k).map { o * s - padding + $0 }.filter { $0 >= 0 && $0 < n }
            let weight = 1 / Float(countPadding ? k : inside.count)
            return inside.map { ($0, weight) }
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
