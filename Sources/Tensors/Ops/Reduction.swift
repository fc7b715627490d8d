extension Tensor {
    private func normalizedAxes(_ axes: [Int]?, _ op: String) throws -> [Int] {
        guard let axes else { return Array(0..<rank) }
        return try axes.map { a in
            let n = a < 0 ? a + rank : a
            guard n >= 0 && n < rank else { throw TensorError("\(op): axis \(a) is out of range for shape \(shape)") }
            return n
        }
    }

    /// Sum over `axes` (all when nil); reduced axes are dropped unless `keepDims`.
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor {
        let axes = try normalizedAxes(axes, "sum")
        let kept = try Kernels.sum(self, axes: axes)
        let outShape = keepDims ? kept.shape : shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
        let out = kept.reshapedView(outShape)
        let inShape = shape
        return Tensor.recorded(out, "sum", [self]) { g in
            [Kernels.expand(g.reshapedView(kept.shape), to: inShape)]
        }
    }

    /// Mean over `axes` (all when nil).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor {
        let axes = try normalizedAxes(axes, "mean")
        let n = axes.reduce(1) { $0 * shape[$1] }
        return try sum(axes: axes, keepDims: keepDims) * (1 / Float(max(n, 1)))
    }
}
