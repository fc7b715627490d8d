/// Matrix product over the last two axes, batched over the leading ones, as PyTorch's `matmul`.
///
/// `a` is (..., M, K); `b` is (..., K, N) with the same leading axes, or (K, N) shared by the whole batch.
public func matmul(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    guard a.rank >= 2, b.rank >= 2 else { throw TensorError.shapes("matmul", [a, b], "both operands need at least 2 dimensions") }
    let k = a.shape[a.rank - 1]
    guard b.shape[b.rank - 2] == k else { throw TensorError.shapes("matmul", [a, b], "inner dimensions differ") }
    let lead = Array(a.shape.dropLast(2))
    guard b.rank == 2 || Array(b.shape.dropLast(2)) == lead else {
        throw TensorError.shapes("matmul", [a, b], "batch dimensions differ (b may also be 2-D)")
    }
    let a = try a.inLayout(.plain)
    let b = try b.inLayout(.plain)
    let batch = lead.reduce(1, *), m = a.shape[a.rank - 2], n = b.shape[b.rank - 1]
    let out = try Kernels.matmul(a, b, batch: batch, transA: false, transB: false).reshapedView(lead + [m, n])
    return Tensor.recorded(out, "matmul", [a, b]) { g in
        let g3 = g.plain
        let ga = a.requiresGrad ? try Kernels.matmul(g3, b, batch: batch, transA: false, transB: true).reshapedView(a.shape) : nil
        var gb: Tensor?
        if b.requiresGrad {
            gb = b.rank == 2
                ? try Kernels.matmul(a.reshapedView([1, batch * m, k]), g3.reshapedView([1, batch * m, n]), batch: 1, transA: true, transB: false).reshapedView(b.shape)
                : try Kernels.matmul(a, g3, batch: batch, transA: true, transB: false).reshapedView(b.shape)
        }
        return [ga, gb]
    }
}
