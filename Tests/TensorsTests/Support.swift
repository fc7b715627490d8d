import Foundation
import SeededRandom
import Testing
@testable import Tensors

/// A tensor of seeded normal values that requires gradients.
func randn(_ shape: [Int], seed: UInt64, scale: Float = 1, offset: Float = 0) -> Tensor {
    var rng = SeededGenerator(seed: seed)
    return Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in offset + scale * rng.normal() }, requiresGrad: true)
}

/// Whether two arrays agree within `atol + rtol * |expected|` everywhere; records the worst entry.
func close(_ actual: [Float], _ expected: [Float], rtol: Float = 1e-4, atol: Float = 1e-5, _ what: String = "",
           sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
    guard actual.count == expected.count else {
        Issue.record("\(what): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
        return false
    }
    var worst = 0, worstExcess: Float = 0
    for i in actual.indices {
        let excess = Swift.abs(actual[i] - expected[i]) - (atol + rtol * Swift.abs(expected[i]))
        if !(excess <= 0) && (excess > worstExcess || excess.isNaN) { worst = i; worstExcess = excess.isNaN ? .infinity : excess }
    }
    if worstExcess > 0 {
        Issue.record("\(what): entry \(worst) is \(actual[worst]), expected \(expected[worst])", sourceLocation: sourceLocation)
        return false
    }
    return true
}

/// Compares the analytic gradient of sum(f(inputs) * w), for a fixed random w, with central differences,
/// on up to `probes` coordinates of each input, under both kernel paths.
func checkGradients(_ inputs: [Tensor], eps: Float = 1e-2, rtol: Float = 2e-2, atol: Float = 2e-3, probes: Int = 12,
                    _ what: String, sourceLocation: SourceLocation = #_sourceLocation, _ f: ([Tensor]) throws -> Tensor) throws {
    for path in [KernelPath.reference, .fast] {
        try Kernel.with(path) {
            let probe = try f(inputs)
            let w = randn(probe.shape, seed: 99).detached()
            func objective(_ xs: [Tensor]) throws -> Tensor { try (f(xs) * w).sum() }
            let analytic = try gradients(of: try objective(inputs), with: inputs.filter(\.requiresGrad))
            var rng = SeededGenerator(seed: 5)
            for (k, x) in inputs.filter(\.requiresGrad).enumerated() {
                let values = x.values
                let g = analytic[k].values
                let picks = values.count <= probes ? Array(values.indices) : (0..<probes).map { _ in rng.int(in: 0...(values.count - 1)) }
                var numeric: [Float] = [], picked: [Float] = []
                for i in picks {
                    func value(at v: Float) throws -> Float {
                        var changed = values
                        changed[i] = v
                        let xs = inputs.map { $0 === x ? Tensor(shape: x.shape, values: changed) : $0.detached() }
                        return try GradMode.withoutGrad { try objective(xs).item() }
                    }
                    numeric.append((try value(at: values[i] + eps) - value(at: values[i] - eps)) / (2 * eps))
                    picked.append(g[i])
                }
                _ = close(picked, numeric, rtol: rtol, atol: atol, "\(what) [\(path)] gradient of input \(k) \(x.shape)", sourceLocation: sourceLocation)
            }
        }
    }
}

/// Runs `f` and its gradients on the fast and the reference path and compares outputs and gradients.
func checkFastMatchesReference(_ inputs: [Tensor], rtol: Float = 1e-4, atol: Float = 1e-4, _ what: String,
                               sourceLocation: SourceLocation = #_sourceLocation, _ f: ([Tensor]) throws -> Tensor) throws {
    func run(_ path: KernelPath) throws -> ([Float], [[Float]]) {
        try Kernel.with(path) {
            let y = try f(inputs)
            let w = randn(y.shape, seed: 77).detached()
            let grads = try gradients(of: (y * w).sum(), with: inputs.filter(\.requiresGrad))
            return (y.values, grads.map(\.values))
        }
    }
    let (yf, gf) = try run(.fast), (yr, gr) = try run(.reference)
    _ = close(yf, yr, rtol: rtol, atol: atol, "\(what) output", sourceLocation: sourceLocation)
    for (k, (a, b)) in zip(gf, gr).enumerated() {
        _ = close(a, b, rtol: rtol, atol: atol, "\(what) gradient \(k)", sourceLocation: sourceLocation)
    }
}
