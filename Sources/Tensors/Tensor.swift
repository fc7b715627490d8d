import Foundation
import SeededRandom

/// How a tensor's values are laid out in memory.
public enum Layout: Sendable, Equatable {
    /// Row-major over the logical shape (NCHW for images).
    case plain
    /// oneDNN's `nChw8c` (AVX2) or `nChw16c` (AVX-512): a 4-D tensor whose channels come in blocks
    /// of `Layout.blockSize`, innermost. Only used when the channel count is a multiple of the block,
    /// so there is never padding.
    case blocked
    /// NHWC: a 4-D tensor whose channels are innermost, each pixel's channels contiguous. Under the
    /// bf16 precision convolutions keep activations so: it is the layout oneDNN's AMX kernels read
    /// and write, and converting it to bf16 is one pass without a transpose.
    case channelsLast

    /// Whether a tensor of `shape` can be laid out so.
    func admits(_ shape: [Int]) -> Bool {
        switch self {
        case .plain: true
        case .blocked: shape.count == 4 && shape[1] % Layout.blockSize == 0
        case .channelsLast: shape.count == 4
        }
    }

    /// Channels stored together at each pixel in this layout, for a tensor with `channels` (blocked
    /// and channels-last only): the kernels that treat both alike walk pixels of this many channels.
    func pixelBlock(channels: Int) -> Int { self == .channelsLast ? channels : Layout.blockSize }
}

/// An N-dimensional Float32 tensor that records the operations made from it for `backward()`.
///
/// Tensors are immutable values behind a reference: operations return new tensors.
/// Images are NCHW; convolution outputs may be kept in the `blocked` (or, under bf16, the
/// `channelsLast`) layout between layers,
/// which elementwise operations accept and the others reorder from transparently.
///
/// ```swift
/// let x = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6], requiresGrad: true)
/// let loss = try (x * x).sum()
/// try loss.backward()
/// x.grad!.values  // [2, 4, 6, 8, 10, 12]
/// ```
public final class Tensor: @unchecked Sendable {
    /// The logical shape.
    public let shape: [Int]
    /// The memory layout of `storage`.
    public let layout: Layout
    let storage: Storage
    /// Whether gradients flow to this tensor.
    public internal(set) var requiresGrad: Bool
    /// The accumulated gradient after `backward()`, for leaves that require it.
    public internal(set) var grad: Tensor?
    /// How this tensor was computed, when it was computed from tensors that require gradients.
    var node: Node?

    init(shape: [Int], layout: Layout = .plain, storage: Storage, requiresGrad: Bool = false) {
        self.shape = shape
        self.layout = layout
        self.storage = storage
        self.requiresGrad = requiresGrad
    }

    /// Creates a tensor from values in row-major order.
    public convenience init(shape: [Int], values: [Float], requiresGrad: Bool = false) {
        precondition(values.count == shape.reduce(1, *), "Tensor(shape: \(shape)) needs \(shape.reduce(1, *)) values, got \(values.count)")
        let storage = Storage(count: values.count)
        values.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: values.count) }
        self.init(shape: shape, storage: storage, requiresGrad: requiresGrad)
    }

    /// Creates a scalar (shape `[]`).
    public convenience init(_ scalar: Float, requiresGrad: Bool = false) {
        self.init(shape: [], values: [scalar], requiresGrad: requiresGrad)
    }

    /// A tensor of zeros.
    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        Tensor(shape: shape, storage: Storage(zeros: shape.reduce(1, *)), requiresGrad: requiresGrad)
    }

    /// A tensor filled with one value.
    public static func full(_ shape: [Int], _ value: Float, requiresGrad: Bool = false) -> Tensor {
        let s = Storage(count: shape.reduce(1, *))
        s.pointer.initialize(repeating: value, count: s.count)
        return Tensor(shape: shape, storage: s, requiresGrad: requiresGrad)
    }

    /// A tensor of ones.
    public static func ones(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        full(shape, 1, requiresGrad: requiresGrad)
    }

    /// Draws from N(mean, std^2) with a seeded generator.
    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1, using rng: inout SeededGenerator, requiresGrad: Bool = false) -> Tensor {
        let s = Storage(count: shape.reduce(1, *))
        rng.fillNormal(s.buffer, mean: mean, std: std)
        return Tensor(shape: shape, storage: s, requiresGrad: requiresGrad)
    }

    /// Draws uniformly from [low, high) with a seeded generator.
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1, using rng: inout SeededGenerator, requiresGrad: Bool = false) -> Tensor {
        let s = Storage(count: shape.reduce(1, *))
        rng.fillUniform(s.buffer, low: low, high: high)
        return Tensor(shape: shape, storage: s, requiresGrad: requiresGrad)
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// The values in row-major order of the logical shape, whatever the layout.
    public var values: [Float] {
        let t = plain
        return Array(UnsafeBufferPointer(start: t.storage.pointer, count: count))
    }

    /// The single value of a one-element tensor.
    public func item() throws -> Float {
        guard count == 1 else { throw TensorError("item(): tensor has shape \(shape), not one element") }
        return storage.pointer[0]
    }

    /// The same values, cut from the tape: no gradient flows through the result.
    public func detached() -> Tensor {
        Tensor(shape: shape, layout: layout, storage: storage)
    }

    /// A leaf tensor that shares these values and requires gradients.
    public func requiringGrad(_ flag: Bool = true) -> Tensor {
        Tensor(shape: shape, layout: layout, storage: storage, requiresGrad: flag)
    }

    /// Row-major strides of the logical shape.
    var strides: [Int] { Shape.strides(shape) }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let v = values
        let shown = v.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(v.count > 8 ? ", ..." : "")])"
    }
}

/// Helpers on shapes.
enum Shape {
    static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= shape[i]
        }
        return s
    }

    /// The broadcast shape of two shapes (NumPy rules), or nil when incompatible.
    static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let n = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: n - a.count) + a
        let pb = [Int](repeating: 1, count: n - b.count) + b
        var out = [Int]()
        for i in 0..<n {
            if pa[i] == pb[i] || pb[i] == 1 { out.append(pa[i]) } else if pa[i] == 1 { out.append(pb[i]) } else { return nil }
        }
        return out
    }
}
