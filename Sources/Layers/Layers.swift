import Foundation
import SeededRandom
import Tensors

/// PyTorch's default initialisation of conv and linear layers: uniform in +-1/sqrt(fan_in)
/// (kaiming_uniform with a = sqrt(5) for weights, the same bound for biases).
func defaultInit(_ shape: [Int], fanIn: Int, rng: inout SeededGenerator) -> Tensor {
    let bound = 1 / Float(fanIn).squareRoot()
    return Tensor.uniform(shape, low: -bound, high: bound, using: &rng)
}

/// 2-D convolution layer: `weight` (out, in / groups, k, k) and optional `bias` (out).
public final class Conv2d: Module, UnaryLayer {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: Int, padding: Int, dilation: Int, groups: Int

    /// Creates a convolution with PyTorch's default initialisation drawn from `rng`.
    /// `padding` defaults to "same" for odd kernels at stride 1: (kernel - 1) / 2 * dilation.
    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int? = nil,
                dilation: Int = 1, groups: Int = 1, bias: Bool = true, rng: inout SeededGenerator) {
        let fanIn = inChannels / groups * kernel * kernel
        weight = Parameter(defaultInit([outChannels, inChannels / groups, kernel, kernel], fanIn: fanIn, rng: &rng))
        self.bias = bias ? Parameter(defaultInit([outChannels], fanIn: fanIn, rng: &rng)) : nil
        self.stride = stride
        self.padding = padding ?? (kernel - 1) / 2 * dilation
        self.dilation = dilation
        self.groups = groups
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try conv2d(x, weight: weight.value, bias: bias?.value, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }
}

/// Fully connected layer over the last axis: x W^T + b, with `weight` (out, in) as PyTorch.
public final class Linear: Module, UnaryLayer {
    public let weight: Parameter
    public let bias: Parameter?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, rng: inout SeededGenerator) {
        weight = Parameter(defaultInit([outFeatures, inFeatures], fanIn: inFeatures, rng: &rng))
        self.bias = bias ? Parameter(defaultInit([outFeatures], fanIn: inFeatures, rng: &rng)) : nil
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let y = try matmul(x, weight.value.transposed())
        return try bias.map { try y + $0.value } ?? y
    }
}

/// Layer normalisation over the last axis, with learnable `weight` (ones) and `bias` (zeros).
public final class LayerNorm: Module, UnaryLayer {
    public let weight: Parameter
    public let bias: Parameter
    public let eps: Float

    public init(_ features: Int, eps: Float = 1e-5) {
        weight = Parameter(Tensor.ones([features]))
        bias = Parameter(Tensor.zeros([features]))
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try layerNorm(x, weight: weight.value, bias: bias.value, eps: eps)
    }
}

/// An activation function as a layer.
public final class Activation: Module, UnaryLayer {
    private let function: (Tensor) throws -> Tensor

    public init(_ function: @escaping (Tensor) throws -> Tensor) { self.function = function }

    public func callAsFunction(_ x: Tensor) throws -> Tensor { try function(x) }

    /// max(x, 0).
    public static func relu() -> Activation { Activation(Tensors.relu) }
    /// Leaky ReLU with a negative slope.
    public static func leakyRelu(_ slope: Float = 0.01) -> Activation { Activation { try Tensors.leakyRelu($0, slope: slope) } }
    /// GELU (erf form).
    public static func gelu() -> Activation { Activation(Tensors.gelu) }
    /// Logistic sigmoid.
    public static func sigmoid() -> Activation { Activation(Tensors.sigmoid) }
}

/// Layers applied one after the other; parameters are named by position (`0.weight`, `2.bias`).
public final class Sequential: Module, UnaryLayer {
    public let layers: [any UnaryLayer]

    public init(_ layers: [any UnaryLayer]) { self.layers = layers }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try layers.reduce(x) { try $1($0) }
    }
}
