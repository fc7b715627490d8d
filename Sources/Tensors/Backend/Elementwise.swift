import Foundation

/// Elementwise functions of one tensor (their oneDNN algorithms are in `DNNLBackend`).
enum Unary: Hashable {
    case exp, log, sqrt, abs, sigmoid, tanh, relu, gelu, softplus
    case leakyRelu(Float)
    /// x^p.
    case pow(Float)
    /// min(max(x, low), high).
    case clamp(Float, Float)
    /// a * x + b.
    case linear(Float, Float)

    /// The reference value f(x).
    func value(_ x: Float) -> Float {
        switch self {
        case .exp: Foundation.exp(x)
        case .log: Foundation.log(x)
        case .sqrt: x.squareRoot()
        case .abs: Swift.abs(x)
        case .sigmoid: 1 / (1 + Foundation.exp(-x))
        case .tanh: Foundation.tanh(x)
        case .relu: x > 0 ? x : 0
        case .gelu: 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot().float))
        case .softplus: x > 20 ? x : Foundation.log1p(Foundation.exp(x))
        case .leakyRelu(let s): x > 0 ? x : s * x
        case .pow(let p): Foundation.pow(x, p)
        case .clamp(let lo, let hi): Swift.min(Swift.max(x, lo), hi)
        case .linear(let a, let b): a * x + b
        }
    }

    /// The reference derivative f'(x).
    func derivative(_ x: Float) -> Float {
        switch self {
        case .exp: Foundation.exp(x)
        case .log: 1 / x
        case .sqrt: 0.5 / x.squareRoot()
        case .abs: x > 0 ? 1 : (x < 0 ? -1 : 0)
        case .sigmoid: { let s = 1 / (1 + Foundation.exp(-x)); return s * (1 - s) }()
        case .tanh: { let t = Foundation.tanh(x); return 1 - t * t }()
        case .relu: x > 0 ? 1 : 0
        case .gelu:
            0.5 * (1 + Foundation.erf(x / 2.0.squareRoot().float)) + x * Foundation.exp(-0.5 * x * x) / (2 * Float.pi).squareRoot()
        case .softplus: 1 / (1 + Foundation.exp(-x))
        case .leakyRelu(let s): x > 0 ? 1 : s
        case .pow(let p): p * Foundation.pow(x, p - 1)
        case .clamp(let lo, let hi): x >= lo && x <= hi ? 1 : 0
        case .linear(let a, _): a
        }
    }
}

/// Elementwise functions of two tensors.
enum Binary: String {
    case add, sub, mul, div

    func value(_ a: Float, _ b: Float) -> Float {
        switch self {
        case .add: a + b
        case .sub: a - b
        case .mul: a * b
        case .div: a / b
        }
    }
}

extension Double { var float: Float { Float(self) } }
