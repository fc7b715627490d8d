import Foundation

/// Which kernels operations run on.
public enum KernelPath: Sendable {
    /// oneDNN primitives where one exists (the default).
    case fast
    /// Plain Swift (or im2col + OpenBLAS) reference kernels, which tests compare the fast path against.
    case reference
}

/// Chooses the kernel path for the operations that have a fast path (per thread).
public enum Kernel {
    private static let key = "savl.Tensors.Kernel.path"

    /// The path in effect on this thread.
    public static var path: KernelPath {
        Thread.current.threadDictionary[key] == nil ? .fast : .reference
    }

    /// Runs `body` with `path` in effect on this thread, then restores the previous one.
    public static func with<T>(_ path: KernelPath, _ body: () throws -> T) rethrows -> T {
        let dict = Thread.current.threadDictionary
        let previous = dict[key]
        dict[key] = path == .reference ? true : nil
        defer { dict[key] = previous }
        return try body()
    }
}

/// The kernels that exist twice: on oneDNN (`DNNLBackend`) and as reference loops (`ReferenceBackend`).
///
/// Every other kernel in `Kernels` (sums, copies, permutes, resampling, the blocked-layout loops) is
/// one Swift loop that both paths share. Kernels take and return f32 tensors and record nothing;
/// the forward and backward rules that call them live in `Ops/`.
protocol Backend: Sendable {
    /// f(x), in x's layout.
    func unary(_ f: Unary, _ x: Tensor) throws -> Tensor
    /// g * f'(x), with g in x's layout.
    func unaryBackward(_ f: Unary, _ x: Tensor, _ g: Tensor) throws -> Tensor
    /// a (op) b for equal shapes and layouts, in that layout.
    func binary(_ op: Binary, _ a: Tensor, _ b: Tensor) throws -> Tensor
    /// a (op) b broadcast to `shape` (NumPy rules), when the shapes differ.
    func broadcastBinary(_ op: Binary, _ a: Tensor, _ b: Tensor, shape: [Int]) throws -> Tensor
    /// The same logical tensor in another memory layout.
    func reorder(_ x: Tensor, to layout: Layout) -> Tensor

    /// Convolution output, in the layout where the backend keeps activations (blocked in f32, channels-last in bf16).
    func conv2d(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ g: ConvGeometry) throws -> Tensor
    /// The gradient of the convolution's input, in the layout `x` has.
    func conv2dBackwardData(_ gy: Tensor, _ w: Tensor, _ g: ConvGeometry, like x: Tensor) throws -> Tensor
    /// The gradients of the weights (plain) and of the bias when `bias`.
    func conv2dBackwardWeights(_ gy: Tensor, _ x: Tensor, _ g: ConvGeometry, bias: Bool) throws -> (Tensor, Tensor?)

    /// Batched C = op(A) op(B) over plain tensors [batch, rows, cols]; `b` may have batch 1 (shared).
    func matmul(_ a: Tensor, _ b: Tensor, batch: Int, transA: Bool, transB: Bool) throws -> Tensor

    /// Softmax along `axis` of a plain tensor.
    func softmax(_ x: Tensor, axis: Int) throws -> Tensor
    /// The gradient of softmax from its output y: y * (g - sum(g * y)).
    func softmaxBackward(_ y: Tensor, _ g: Tensor, axis: Int) throws -> Tensor
    /// Layer normalisation over the last axis of a plain tensor: the output and the per-row mean and variance.
    func layerNorm(_ x: Tensor, _ w: Tensor, _ b: Tensor, eps: Float) throws -> (Tensor, Tensor, Tensor)
    /// Gradients of layer norm: (dx, dweight, dbias).
    func layerNormBackward(_ x: Tensor, _ w: Tensor, _ mean: Tensor, _ variance: Tensor, _ g: Tensor, eps: Float) throws -> (Tensor, Tensor, Tensor)
}

/// Untaped kernels: each returns a new tensor and records nothing. The ones with two
/// implementations go to the backend of the thread's `Kernel.path`.
enum Kernels {
    /// The backend of this thread's kernel path.
    static var backend: any Backend {
        Kernel.path == .fast ? DNNLBackend.shared : ReferenceBackend.shared
    }

    /// Elementwise work on fewer values runs in a loop on the calling thread even on the fast path:
    /// a oneDNN call opens an OpenMP parallel region, which costs more than the work below this size
    /// (and milliseconds when the other core is busy).
    static let parallelThreshold = 1 << 16

    /// Whether elementwise work on `count` values goes to oneDNN.
    static func useDNNL(_ count: Int) -> Bool { Kernel.path == .fast && count >= parallelThreshold }

    static func unary(_ f: Unary, _ x: Tensor) throws -> Tensor { try backend.unary(f, x) }

    static func unaryBackward(_ f: Unary, _ x: Tensor, _ g: Tensor) throws -> Tensor {
        try backend.unaryBackward(f, x, reorder(g, to: x.layout))
    }

    /// a (op) b with NumPy broadcasting; the result has a's layout when a has the result's shape.
    static func binary(_ op: Binary, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        guard let shape = Shape.broadcast(a.shape, b.shape) else {
            throw TensorError.shapes(op.rawValue, [a, b], "shapes do not broadcast")
        }
        if a.shape == b.shape { return try backend.binary(op, a, reorder(b, to: a.layout)) }
        if a.layout != .plain && shape == a.shape && b.layout == .plain && b.rank == 4 && b.shape[1] == 1
            && b.shape[2] == a.shape[2] && b.shape[3] == a.shape[3] {
            return blockedSpatialBinary(op, a, b)
        }
        return try backend.broadcastBinary(op, a, b, shape: shape)
    }

    /// a + b for gradient accumulation (same shape), keeping a's layout.
    static func accumulate(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        try binary(.add, a, b)
    }

    /// The same logical tensor in another memory layout (x itself when it has that layout).
    static func reorder(_ x: Tensor, to layout: Layout) -> Tensor {
        if x.layout == layout { return x }
        precondition(x.layout.admits(x.shape) && layout.admits(x.shape), "no \(layout) layout for shape \(x.shape) (blocked needs 4-D with channels a multiple of \(Layout.blockSize), channels-last 4-D)")
        return backend.reorder(x, to: layout)
    }

    /// The layout the fast path keeps activations with `channels` in, under the precision in effect.
    static func activationLayout(_ channels: Int) -> Layout {
        Engine.precision == .bf16 ? .channelsLast : channels % Layout.blockSize == 0 ? .blocked : .plain
    }

    static func conv2d(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ g: ConvGeometry) throws -> Tensor {
        try backend.conv2d(x, w, b, g)
    }

    static func conv2dBackwardData(_ gy: Tensor, _ w: Tensor, _ g: ConvGeometry, like x: Tensor) throws -> Tensor {
        try backend.conv2dBackwardData(gy, w, g, like: x)
    }

    static func conv2dBackwardWeights(_ gy: Tensor, _ x: Tensor, _ g: ConvGeometry, bias: Bool) throws -> (Tensor, Tensor?) {
        try backend.conv2dBackwardWeights(gy, x, g, bias: bias)
    }

    static func matmul(_ a: Tensor, _ b: Tensor, batch: Int, transA: Bool, transB: Bool) throws -> Tensor {
        try backend.matmul(a, b, batch: batch, transA: transA, transB: transB)
    }

    static func softmax(_ x: Tensor, axis: Int) throws -> Tensor { try backend.softmax(x, axis: axis) }

    static func softmaxBackward(_ y: Tensor, _ g: Tensor, axis: Int) throws -> Tensor {
        try backend.softmaxBackward(y, g, axis: axis)
    }

    static func layerNorm(_ x: Tensor, _ w: Tensor, _ b: Tensor, eps: Float) throws -> (Tensor, Tensor, Tensor) {
        try backend.layerNorm(x, w, b, eps: eps)
    }

    static func layerNormBackward(_ x: Tensor, _ w: Tensor, _ mean: Tensor, _ variance: Tensor, _ g: Tensor, eps: Float) throws -> (Tensor, Tensor, Tensor) {
        try backend.layerNormBackward(x, w, mean, variance, g, eps: eps)
    }
}

extension Tensor {
    /// This tensor's values in the plain layout: itself when plain, else a reordered copy (untaped).
    var plain: Tensor { Kernels.reorder(self, to: .plain) }
}
