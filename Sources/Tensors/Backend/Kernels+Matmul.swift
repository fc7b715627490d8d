import CDNNL
import COpenBLAS

extension Kernels {
    /// Batched C = op(A) op(B) over plain tensors of shape [batch, rows, cols], where `b` may have batch 1 (shared).
    /// `transA`/`transB` read the stored matrices transposed.
    static func matmul(_ a: Tensor, _ b: Tensor, batch: Int, transA: Bool, transB: Bool) throws -> Tensor {
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let m = transA ? ac : ar, k = transA ? ar : ac, n = transB ? br : bc
        let bBatch = b.count / (br * bc)
        let out = Tensor(shape: [batch, m, n], storage: Storage(count: batch * m * n))
        if Kernel.path == .fast {
            func md(_ rows: Int, _ cols: Int, _ batch: Int, _ trans: Bool) -> dnnl_memory_desc_t {
                // Logical [batch, r, c] of a stored [batch, c, r] when transposed.
                let dims = trans ? [batch, cols, rows] : [batch, rows, cols]
                let strides = trans ? [rows * cols, 1, cols] : [rows * cols, cols, 1]
                var d = dnnl_memory_desc_t()
                _ = dnnl_memory_desc_init_by_strides(&d, 3, DNNL.dims(dims), dnnl_f32, DNNL.dims(strides))
                return d
            }
            var mda = md(ar, ac, batch, transA), mdb = md(br, bc, bBatch, transB)
            var mdc = DNNL.desc([batch, m, n], dnnl_abc)
            let p = try PrimitiveCache.get("matmul \(batch) \(ar)x\(ac) \(transA) \(bBatch) \(br)x\(bc) \(transB)") {
                var d = dnnl_matmul_desc_t()
                try DNNL.check(dnnl_matmul_desc_init(&d, &mda, &mdb, nil, &mdc), "matmul")
                return try Primitive(op: &d, what: "matmul")
            }
            try p.execute([(Arg.src, mda, UnsafeMutableRawPointer(a.storage.pointer)),
                           (Arg.weights, mdb, UnsafeMutableRawPointer(b.storage.pointer)),
                           (Arg.dst, mdc, UnsafeMutableRawPointer(out.storage.pointer))])
            return out
        }
        for i in 0..<batch {
            let pa = a.storage.pointer + i * ar * ac
            let pb = b.storage.pointer + (bBatch == 1 ? 0 : i * br * bc)
            cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(n), Int32(k), 1, pa, Int32(ac), pb, Int32(bc), 0, out.storage.pointer + i * m * n, Int32(n))
        }
        return out
    }
}

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
    let a = a.layout == .plain ? a : try a.inLayout(.plain)
    let b = b.layout == .plain ? b : try b.inLayout(.plain)
    let batch = lead.reduce(1, *), m = a.shape[a.rank - 2], n = b.shape[b.rank - 1]
    let out = try Kernels.matmul(a, b, batch: batch, transA: false, transB: false).reshapedView(lead + [m, n])
    return Tensor.recorded(out, "matmul", [a, b]) { g in
        let g3 = g.layout == .plain ? g : Kernels.reorder(g, to: .plain)
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
