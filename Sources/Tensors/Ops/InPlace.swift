/// In-place updates of leaf tensors, for optimizers and moving averages. They record nothing
/// and must not be used on tensors whose values an un-finished backward pass still needs.
extension Tensor {
    private func checkUpdatable(_ other: Tensor, _ op: String) throws -> Tensor {
        guard other.shape == shape else { throw TensorError.shapes(op, [self, other], "shapes differ") }
        guard node == nil else { throw TensorError("\(op): only leaf tensors can be updated in place (shape \(shape))") }
        return Kernels.reorder(other, to: layout)
    }

    /// self = self * decay + other * (1 - decay): an exponential moving average step.
    public func blend(toward other: Tensor, decay: Float) throws {
        let o = try checkUpdatable(other, "blend")
        storage.valuesChanged()
        let p = storage.pointer, q = o.storage.pointer
        for i in 0..<storage.count { p[i] = p[i] * decay + q[i] * (1 - decay) }
    }

    /// Copies the values of `other` (same shape) into this tensor.
    public func assign(_ other: Tensor) throws {
        let o = try checkUpdatable(other, "assign")
        storage.valuesChanged()
        storage.pointer.update(from: o.storage.pointer, count: storage.count)
    }

    /// self *= factor.
    public func scale(by factor: Float) {
        storage.valuesChanged()
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

    /// Runs `body` on the values of this leaf and of `others` (same shape), for an update in place
    /// that the engine has no operation for, such as an optimizer's rule.
    ///
    /// The buffers are in storage order, which is the same for all because every tensor of `others`
    /// must have this tensor's layout. Writes go to the tensors' own storage; record nothing; and must not
    /// touch tensors whose values an unfinished backward pass still needs.
    ///
    /// ```swift
    /// try parameter.updateInPlace(with: [gradient]) { p, o in
    ///     for i in p.indices { p[i] -= 0.1 * o[0][i] }
    /// }
    /// ```
    /// - Parameter op: the name errors give the update.
    public func updateInPlace<R>(_ op: String = "updateInPlace", with others: [Tensor],
                                 _ body: (UnsafeMutableBufferPointer<Float>, [UnsafeMutableBufferPointer<Float>]) throws -> R) throws -> R {
        for o in others {
            guard o.shape == shape else { throw TensorError.shapes(op, [self, o], "shapes differ") }
            guard o.layout == layout else { throw TensorError("\(op): tensors must share the layout of the one updated (shape \(shape))") }
        }
        guard node == nil else { throw TensorError("\(op): only leaf tensors can be updated in place (shape \(shape))") }
        storage.valuesChanged()
        return try body(storage.buffer, others.map { $0.storage.buffer })
    }
}
