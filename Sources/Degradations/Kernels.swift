import Foundation

/// The shape of a blur kernel, with the values that define it.
///
/// Gaussian-family shapes use the covariance `Σ = R(θ) diag(σx², σy²) R(θ)ᵀ` and the
/// quadratic form `q(x, y) = [x y] Σ⁻¹ [x y]ᵀ` over pixel offsets from the centre:
/// - `gaussian`: `exp(-q / 2)`
/// - `generalizedGaussian`: `exp(-q^β / 2)` (β < 1 heavy-tailed, β > 1 flat-topped)
/// - `plateau`: `1 / (1 + q^β)`
///
/// `sinc` is the circular low-pass filter `ω J₁(ω r) / (2π r)` with cutoff `ω` in radians per pixel.
public enum KernelShape: Codable, Equatable, Sendable {
    case gaussian(sigmaX: Double, sigmaY: Double, rotation: Double)
    case generalizedGaussian(sigmaX: Double, sigmaY: Double, rotation: Double, beta: Double)
    case plateau(sigmaX: Double, sigmaY: Double, rotation: Double, beta: Double)
    case sinc(cutoff: Double)
}

/// The families of blur kernels the sampler chooses between (Real-ESRGAN's `kernel_list` plus `sinc`).
public enum KernelKind: String, Codable, CaseIterable, Sendable {
    case isotropicGaussian, anisotropicGaussian
    case generalizedIsotropic, generalizedAnisotropic
    case plateauIsotropic, plateauAnisotropic
    case sinc
}

/// A blur kernel's parameters: its odd size and its shape.
public struct KernelParameters: Codable, Equatable, Sendable {
    /// Side length in pixels, odd.
    public var size: Int
    /// The shape and its values.
    public var shape: KernelShape

    /// Creates kernel parameters.
    public init(size: Int, shape: KernelShape) {
        self.size = size
        self.shape = shape
    }

    /// The family this kernel belongs to (isotropic when `sigmaX == sigmaY`).
    public var kind: KernelKind {
        switch shape {
        case let .gaussian(sx, sy, _): return sx == sy ? .isotropicGaussian : .anisotropicGaussian
        case let .generalizedGaussian(sx, sy, _, _): return sx == sy ? .generalizedIsotropic : .generalizedAnisotropic
        case let .plateau(sx, sy, _, _): return sx == sy ? .plateauIsotropic : .plateauAnisotropic
        case .sinc: return .sinc
        }
    }

    /// The same kernel with its Gaussian widths multiplied by `factor` (sinc kernels get their cutoff divided).
    public func widened(by factor: Double) -> KernelParameters {
        var copy = self
        switch shape {
        case let .gaussian(sx, sy, r): copy.shape = .gaussian(sigmaX: sx * factor, sigmaY: sy * factor, rotation: r)
        case let .generalizedGaussian(sx, sy, r, b):
            copy.shape = .generalizedGaussian(sigmaX: sx * factor, sigmaY: sy * factor, rotation: r, beta: b)
        case let .plateau(sx, sy, r, b): copy.shape = .plateau(sigmaX: sx * factor, sigmaY: sy * factor, rotation: r, beta: b)
        case let .sinc(c): copy.shape = .sinc(cutoff: c / factor)
        }
        return copy
    }
}

/// A square filter kernel, normalized to sum 1, with its separable factors when it has them.
public struct BlurKernel: Sendable, Equatable {
    /// Side length, odd.
    public let size: Int
    /// Weights, row-major (`weights[row * size + column]`), summing to 1.
    public let weights: [Float]
    /// Vertical and horizontal 1-D factors whose outer product equals `weights` (to float rounding), if any.
    public let factors: (column: [Float], row: [Float])?

    /// The identity kernel (a single tap).
    public static let identity = BlurKernel(size: 1, weights: [1])

    /// Creates a kernel from row-major weights; detects whether it is separable.
    public init(size: Int, weights: [Float]) {
        precondition(size % 2 == 1 && weights.count == size * size, "kernel must be odd-sized and square")
        self.size = size
        self.weights = weights
        self.factors = BlurKernel.separableFactors(size: size, weights: weights)
    }

    /// Builds the kernel described by `parameters`.
    public init(_ parameters: KernelParameters) {
        let size = parameters.size
        precondition(size % 2 == 1 && size >= 1, "kernel size must be odd")
        let radius = size / 2
        var values = [Double](repeating: 0, count: size * size)
        switch parameters.shape {
        case let .gaussian(sx, sy, rotation):
            BlurKernel.fillQuadratic(&values, radius: radius, sigmaX: sx, sigmaY: sy, rotation: rotation) { exp(-0.5 * $0) }
        case let .generalizedGaussian(sx, sy, rotation, beta):
            BlurKernel.fillQuadratic(&values, radius: radius, sigmaX: sx, sigmaY: sy, rotation: rotation) { exp(-0.5 * pow($0, beta)) }
        case let .plateau(sx, sy, rotation, beta):
            BlurKernel.fillQuadratic(&values, radius: radius, sigmaX: sx, sigmaY: sy, rotation: rotation) { 1 / (pow($0, beta) + 1) }
        case let .sinc(cutoff):
            for row in 0..<size {
                for column in 0..<size {
                    let dx = Double(column - radius), dy = Double(row - radius)
                    let r = (dx * dx + dy * dy).squareRoot()
                    values[row * size + column] = r == 0
                        ? cutoff * cutoff / (4 * Double.pi)
                        : cutoff * j1(cutoff * r) / (2 * Double.pi * r)
                }
            }
        }
        let total = values.reduce(0, +)
        self.init(size: size, weights: values.map { Float($0 / total) })
    }

    /// Evaluates `profile(q)` on the grid of offsets, with `q` the Gaussian quadratic form.
    private static func fillQuadratic(_ values: inout [Double], radius: Int, sigmaX: Double, sigmaY: Double,
                                      rotation: Double, profile: (Double) -> Double) {
        let c = cos(rotation), s = sin(rotation)
        let vx = sigmaX * sigmaX, vy = sigmaY * sigmaY
        // Σ = R diag(vx, vy) Rᵀ; its inverse is R diag(1/vx, 1/vy) Rᵀ.
        let a = c * c / vx + s * s / vy
        let b = c * s / vx - c * s / vy
        let d = s * s / vx + c * c / vy
        let size = 2 * radius + 1
        for row in 0..<size {
            for column in 0..<size {
                let x = Double(column - radius), y = Double(row - radius)
                values[row * size + column] = profile(a * x * x + 2 * b * x * y + d * y * y)
            }
        }
    }

    /// Row and column factors when the kernel is (numerically) an outer product of two vectors.
    private static func separableFactors(size: Int, weights: [Float]) -> (column: [Float], row: [Float])? {
        if size == 1 { return ([1], [weights[0]]) }
        let radius = size / 2
        let centre = Double(weights[radius * size + radius])
        let peak = Double(weights.max() ?? 0)
        guard centre > 0, centre >= 0.5 * peak else { return nil }
        let column = (0..<size).map { Double(weights[$0 * size + radius]) }
        let row = (0..<size).map { Double(weights[radius * size + $0]) / centre }
        for i in 0..<size {
            for j in 0..<size where abs(column[i] * row[j] - Double(weights[i * size + j])) > 1e-6 * peak {
                return nil
            }
        }
        return (column.map { Float($0) }, row.map { Float($0) })
    }

    /// The weights' covariance `(Σk x², Σk y², Σk x y)` about the centre, in pixels² (`x` along rows).
    public var secondMoments: (xx: Double, yy: Double, xy: Double) {
        let radius = size / 2
        var xx = 0.0, yy = 0.0, xy = 0.0
        for row in 0..<size {
            for column in 0..<size {
                let w = Double(weights[row * size + column])
                let x = Double(column - radius), y = Double(row - radius)
                xx += w * x * x; yy += w * y * y; xy += w * x * y
            }
        }
        return (xx, yy, xy)
    }

    /// The blur width the ground-truth maps record: `sqrt((Σk x² + Σk y²) / 2)`, the RMS per-axis
    /// standard deviation (equal to σ for an untruncated isotropic Gaussian). Clamped at 0 for kernels
    /// whose negative lobes outweigh the rest.
    public var width: Double {
        let m = secondMoments
        return max(0, (m.xx + m.yy) / 2).squareRoot()
    }

    /// Equal sizes and weights.
    public static func == (lhs: BlurKernel, rhs: BlurKernel) -> Bool {
        lhs.size == rhs.size && lhs.weights == rhs.weights
    }
}
