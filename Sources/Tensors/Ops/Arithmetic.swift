/// Elementwise arithmetic with NumPy broadcasting, and elementwise functions.
///
/// Every operation throws a `TensorError` naming the shapes when they do not fit.

extension Tensor {
    private static func binary(_ op: Binary, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        let out = try Kernels.binary(op, a, b)
        return recorded(out, op.rawValue, [a, b]) { g in
            switch op {
            case .add:
                return [try Kernels.reduce(g, toShape: a.shape), try Kernels.reduce(g, toShape: b.shape)]
            case .sub:
                return [try Kernels.reduce(g, toShape: a.shape),
                        b.requiresGrad ? try Kernels.reduce(Kernels.unary(.linear(-1, 0), g), toShape: b.shape) : nil]
            case .mul:
                return [a.requiresGrad ? try Kernels.reduce(Kernels.binary(.mul, g, b), toShape: a.shape) : nil,
                        b.requiresGrad ? try Kernels.reduce(Kernels.binary(.mul, g, a), toShape: b.shape) : nil]
            case .div:
                let ga = try Kernels.binary(.div, g, b)
                let gb: Tensor? = b.requiresGrad
                    ? try Kernels.reduce(Kernels.unary(.linear(-1, 0), Kernels.binary(.div, Kernels.binary(.mul, ga, a), b)), toShape: b.shape)
                    : nil
                return [a.requiresGrad ? try Kernels.reduce(ga, toShape: a.shape) : nil, gb]
            }
        }
    }

    /// a + b, broadcasting.
    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try binary(.add, a, b) }
    /// a - b, broadcasting.
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try binary(.sub, a, b) }
    /// a * b, broadcasting.
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try binary(.mul, a, b) }
    /// a / b, broadcasting.
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try binary(.div, a, b) }

    /// x + s.
    public static func + (x: Tensor, s: Float) throws -> Tensor { try x.unary(.linear(1, s)) }
    /// s + x.
    public static func + (s: Float, x: Tensor) throws -> Tensor { try x.unary(.linear(1, s)) }
    /// x - s.
    public static func - (x: Tensor, s: Float) throws -> Tensor { try x.unary(.linear(1, -s)) }
    /// s - x.
    public static func - (s: Float, x: Tensor) throws -> Tensor { try x.unary(.linear(-1, s)) }
    /// x * s.
    public static func * (x: Tensor, s: Float) throws -> Tensor { try x.unary(.linear(s, 0)) }
    /// s * x.
    public static func * (s: Float, x: Tensor) throws -> Tensor { try x.unary(.linear(s, 0)) }
    /// x / s.
    public static func / (x: Tensor, s: Float) throws -> Tensor { try x.unary(.linear(1 / s, 0)) }
    /// s / x.
    public static func / (s: Float, x: Tensor) throws -> Tensor { try x.unary(.pow(-1)).unary(.linear(s, 0)) }
    /// -x.
    public static prefix func - (x: Tensor) throws -> Tensor { try x.unary(.linear(-1, 0)) }

    func unary(_ f: Unary) throws -> Tensor {
        let out = try Kernels.unary(f, self)
        return Tensor.recorded(out, "\(f)", [self]) { g in [try Kernels.unaryBackward(f, self, g)] }
    }
}

/// e^x.
public func exp(_ x: Tensor) throws -> Tensor { try x.unary(.exp) }
/// Natural logarithm.
public func log(_ x: Tensor) throws -> Tensor { try x.unary(.log) }
/// Square root.
public func sqrt(_ x: Tensor) throws -> Tensor { try x.unary(.sqrt) }
/// |x|; the gradient at 0 is 0.
public func abs(_ x: Tensor) throws -> Tensor { try x.unary(.abs) }
/// x^p for a constant exponent.
public func pow(_ x: Tensor, _ p: Float) throws -> Tensor { try x.unary(.pow(p)) }
/// x clamped to [low, high]; the gradient is 1 inside (bounds included), 0 outside.
public func clamp(_ x: Tensor, min low: Float, max high: Float) throws -> Tensor { try x.unary(.clamp(low, high)) }
/// 1 / (1 + e^-x).
public func sigmoid(_ x: Tensor) throws -> Tensor { try x.unary(.sigmoid) }
/// Hyperbolic tangent.
public func tanh(_ x: Tensor) throws -> Tensor { try x.unary(.tanh) }
/// max(x, 0).
public func relu(_ x: Tensor) throws -> Tensor { try x.unary(.relu) }
/// x for x > 0, slope * x otherwise.
public func leakyRelu(_ x: Tensor, slope: Float = 0.01) throws -> Tensor { try x.unary(.leakyRelu(slope)) }
/// Gaussian error linear unit, exact (erf) form as PyTorch's default.
public func gelu(_ x: Tensor) throws -> Tensor { try x.unary(.gelu) }
/// log(1 + e^x).
public func softplus(_ x: Tensor) throws -> Tensor { try x.unary(.softplus) }
