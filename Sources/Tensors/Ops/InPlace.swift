import Foundation

/// In-place updates of leaf tensors, for optimizers and moving averages. They record nothing
/// and must not be used on tensors whose values an un-finished backward pass still needs.
extension Tensor {
    private func checkUpdatable(_ other: Tensor, _ op: String) throws -> Tensor {
        guard other.shape == shape else { throw TensorError.shapes(op, [self, other], "shapes differ") }
        guard node == nil else { throw TensorError("\(op): only leaf tensors can be updated in place (shape \(shape))") }
        return other.layout == layout ? other : Kernels.reorder(other, to: layout)
    }

    /// self = self * decay + other * (1 - decay): an exponential moving average step.
    public func blend(toward other: Tensor, decay: Float) throws {
        let o = try checkUpdatable(other, "blend")
        let p = storage.pointer, q = o.storage.pointer
        for i in 0..<storage.count { p[i] = p[i] * decay + q[i] * (1 - decay) }
    }

    /// Copies the values of `other` (same shape) into this tensor.
    public func assign(_ other: Tensor) throws {
        let o = try checkUpdatable(other, "assign")
        storage.pointer.update(from: o.storage.pointer, count: storage.count)
    }

    /// self *= factor.
    public func scale(by factor: Float) {
        let p = storage.pointer
        for i in 0..<storage.count { p[i] *= factor }
    }

    /// The sum of squares of all values, in Double.
    public func squaredNorm() -> Double {
        let p = storage.pointer
        var s = 0.0
        for i in 0..<storage.count { s += Double(p[i]) * Double(p[i]) }
        return s
    }

    /// One Adam step on this parameter with gradient `grad` and moments `m`, `v` (all updated in place).
    ///
    /// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
    /// `weightDecay` is added to the gradient (Adam, L2) or, when `decoupled`, applied as p *= 1 - lr wd (AdamW).
    public func adamStep(grad: Tensor, m: Tensor, v: Tensor, step t: Int, lr: Float, beta1: Float, beta2: Float,
                         eps: Float, weightDecay: Float = 0, decoupled: Bool = false) throws {
        let g = try checkUpdatable(grad, "adamStep")
        _ = try checkUpdatable(m, "adamStep"); _ = try checkUpdatable(v, "adamStep")
        guard m.layout == layout, v.layout == layout else { throw TensorError("adamStep: moments must share the parameter's layout") }
        let p = storage.pointer, gp = g.storage.pointer, mp = m.storage.pointer, vp = v.storage.pointer
        let c1 = 1 - Float(Foundation.pow(Double(beta1), Double(t))), c2 = 1 - Float(Foundation.pow(Double(beta2), Double(t)))
        let stepSize = lr / c1, invSqrtC2 = 1 / c2.squareRoot()
        let shrink: Float = decoupled ? 1 - lr * weightDecay : 1
        let l2: Float = decoupled ? 0 : weightDecay
        for i in 0..<storage.count {
            let gi = gp[i] + l2 * p[i]
            mp[i] = beta1 * mp[i] + (1 - beta1) * gi
            vp[i] = beta2 * vp[i] + (1 - beta2) * gi * gi
            p[i] = p[i] * shrink - stepSize * mp[i] / (vp[i].squareRoot() * invSqrtC2 + eps)
        }
    }
}
