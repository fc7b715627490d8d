import CDNNL
import Foundation

/// The oneDNN kernels. Elementwise work below `Kernels.parallelThreshold` values runs the reference
/// loops on the calling thread; convolutions are in `DNNLConv`.
struct DNNLBackend: Backend {
    static let shared = DNNLBackend()
    private var reference: ReferenceBackend { .shared }
    private func small(_ count: Int) -> Bool { count < Kernels.parallelThreshold }

    func unary(_ f: Unary, _ x: Tensor) throws -> Tensor {
        if small(x.count) { return try reference.unary(f, x) }
        let out = Tensor(shape: x.shape, layout: x.layout, storage: Storage(count: x.storage.count))
        let (alg, alpha, beta) = f.dnnl
        var md = DNNL.desc(of: x)
        let p = try PrimitiveCache.get("eltwise-fwd \(alg.rawValue) \(alpha) \(beta) \(x.shape) \(x.layout)") {
            var d = dnnl_eltwise_desc_t()
            try DNNL.check(dnnl_eltwise_forward_desc_init(&d, dnnl_forward_training, alg, &md, alpha, beta), "eltwise")
            return try Primitive(op: &d, what: "eltwise \(f)")
        }
        try p.execute([(Arg.src, md, UnsafeMutableRawPointer(x.storage.pointer)), (Arg.dst, md, UnsafeMutableRawPointer(out.storage.pointer))])
        return out
    }

    func unaryBackward(_ f: Unary, _ x: Tensor, _ g: Tensor) throws -> Tensor {
        if small(x.count) { return try reference.unaryBackward(f, x, g) }
        let out = Tensor(shape: x.shape, layout: x.layout, storage: Storage(count: x.storage.count))
        let (alg, alpha, beta) = f.dnnl
        var md = DNNL.desc(of: x)
        let p = try PrimitiveCache.get("eltwise-bwd \(alg.rawValue) \(alpha) \(beta) \(x.shape) \(x.layout)") {
            var fd = dnnl_eltwise_desc_t()
            try DNNL.check(dnnl_eltwise_forward_desc_init(&fd, dnnl_forward_training, alg, &md, alpha, beta), "eltwise")
            let hint = try Primitive(op: &fd, what: "eltwise \(f)")
            var d = dnnl_eltwise_desc_t()
            try DNNL.check(dnnl_eltwise_backward_desc_init(&d, alg, &md, &md, alpha, beta), "eltwise backward")
            return try Primitive(op: &d, hint: hint, what: "eltwise backward \(f)")
        }
        try p.execute([(Arg.src, md, UnsafeMutableRawPointer(x.storage.pointer)),
                       (Arg.diffDst, md, UnsafeMutableRawPointer(g.storage.pointer)),
                       (Arg.diffSrc, md, UnsafeMutableRawPointer(out.storage.pointer))])
        return out
    }

    func binary(_ op: Binary, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        if small(a.count) { return try reference.binary(op, a, b) }
        let out = Tensor(shape: a.shape, layout: a.layout, storage: Storage(count: a.storage.count))
        try dnnlBinary(op, a, b, out)
        return out
    }

    func broadcastBinary(_ op: Binary, _ a: Tensor, _ b: Tensor, shape: [Int]) throws -> Tensor {
        if !small(a.count) && shape == a.shape && b.layout == .plain {
            // oneDNN's JIT binary wants both sources in one format: a blocked or channels-last source with a
            // broadcast operand that is not (N|1, C, 1, 1) goes through the plain layout (its other kernel is ~100x slower).
            let a = a.layout != .plain && !(b.rank == 4 && b.shape[2] == 1 && b.shape[3] == 1) ? a.plain : a
            let out = Tensor(shape: shape, layout: a.layout, storage: Storage(count: a.storage.count))
            if (try? dnnlBinary(op, a, b, out)) != nil { return out }
        }
        return try reference.broadcastBinary(op, a, b, shape: shape)
    }

    private func dnnlBinary(_ op: Binary, _ a: Tensor, _ b: Tensor, _ out: Tensor) throws {
        let rank = max(a.rank, 1)
        var mda = DNNL.desc(of: a)
        let bDims = [Int](repeating: 1, count: rank - b.rank) + b.shape
        // A (N|1, C, 1, 1) operand has the same bytes in the plain, the blocked and the channels-last layout.
        let bTag = b.layout != .plain ? DNNL.tag(of: b.layout, rank: 4)
            : a.layout != .plain && bDims[1] == a.shape[1] ? DNNL.tag(of: a.layout, rank: 4) : DNNL.plainTag(max(bDims.count, 1))
        var mdb = DNNL.desc(bDims.isEmpty ? [1] : bDims, bTag)
        let p = try PrimitiveCache.get("binary \(op) \(a.shape) \(a.layout) \(bDims) \(bTag.rawValue)") {
            var d = dnnl_binary_desc_t()
            try DNNL.check(dnnl_binary_desc_init(&d, op.dnnl, &mda, &mdb, &mda), "binary")
            let p = try Primitive(op: &d, what: "binary \(op)")
            guard !p.implementation.hasPrefix("ref") else { throw TensorError("binary \(op): only oneDNN's reference kernel fits \(a.shape) and \(bDims)") }
            return p
        }
        try p.execute([(Arg.src, mda, UnsafeMutableRawPointer(a.storage.pointer)),
                       (Arg.src1, mdb, UnsafeMutableRawPointer(b.storage.pointer)),
                       (Arg.dst, mda, UnsafeMutableRawPointer(out.storage.pointer))])
    }

    func reorder(_ x: Tensor, to layout: Layout) -> Tensor {
        if small(x.count) { return reference.reorder(x, to: layout) }
        let out = Tensor(shape: x.shape, layout: layout, storage: Storage(count: x.storage.count))
        let src = DNNL.desc(of: x), dst = DNNL.desc(of: out)
        do {
            let p = try PrimitiveCache.get("reorder \(x.shape) \(x.layout) \(layout)") { try Primitive(reorderFrom: src, to: dst) }
            try p.execute([(Arg.src, src, UnsafeMutableRawPointer(x.storage.pointer)), (Arg.dst, dst, UnsafeMutableRawPointer(out.storage.pointer))])
            return out
        } catch {
            // A reorder of valid shapes has no reason to fail; the reference loop does the same.
            return reference.reorder(x, to: layout)
        }
    }

    func conv2d(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ g: ConvGeometry) throws -> Tensor {
        try DNNLConv.forward(x, w, b, g)
    }

    func conv2dBackwardData(_ gy: Tensor, _ w: Tensor, _ g: ConvGeometry, like x: Tensor) throws -> Tensor {
        try DNNLConv.backwardData(gy, w, g, like: x)
    }

    func conv2dBackwardWeights(_ gy: Tensor, _ x: Tensor, _ g: ConvGeometry, bias: Bool) throws -> (Tensor, Tensor?) {
        try DNNLConv.backwardWeights(gy, x, g, bias: bias)
    }

    /// Under bf16 (`Engine.precision`) the operands are rounded to bf16 and the product accumulated
    /// and written in f32; where oneDNN has no bf16 matmul it runs in f32.
    func matmul(_ a: Tensor, _ b: Tensor, batch: Int, transA: Bool, transB: Bool) throws -> Tensor {
        if Engine.precision == .bf16, let out = try? matmul(a, b, batch: batch, transA: transA, transB: transB, .bf16) { return out }
        return try matmul(a, b, batch: batch, transA: transA, transB: transB, .f32)
    }

    private func matmul(_ a: Tensor, _ b: Tensor, batch: Int, transA: Bool, transB: Bool, _ type: ElementType) throws -> Tensor {
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let m = transA ? ac : ar, n = transB ? br : bc
        let bBatch = b.count / (br * bc)
        func md(_ rows: Int, _ cols: Int, _ batch: Int, _ trans: Bool) -> dnnl_memory_desc_t {
            // Logical [batch, r, c] of a stored [batch, c, r] when transposed.
            let dims = trans ? [batch, cols, rows] : [batch, rows, cols]
            let strides = trans ? [rows * cols, 1, cols] : [rows * cols, cols, 1]
            var d = dnnl_memory_desc_t()
            _ = dnnl_memory_desc_init_by_strides(&d, 3, DNNL.dims(dims), type.dnnl, DNNL.dims(strides))
            return d
        }
        var mda = md(ar, ac, batch, transA), mdb = md(br, bc, bBatch, transB)
        var mdc = DNNL.desc([batch, m, n], dnnl_abc)
        let p = try PrimitiveCache.get("matmul \(batch) \(ar)x\(ac) \(transA) \(bBatch) \(br)x\(bc) \(transB)\(type == .bf16 ? " bf16" : "")") {
            var d = dnnl_matmul_desc_t()
            try DNNL.check(dnnl_matmul_desc_init(&d, &mda, &mdb, nil, &mdc), "matmul")
            return try Primitive(op: &d, what: "matmul")
        }
        // The operands are contiguous, so their bf16 copies are element-by-element conversions.
        let (sa, sb) = type == .bf16 ? (try DNNL.converted(a.storage, to: .bf16), try DNNL.converted(b.storage, to: .bf16)) : (a.storage, b.storage)
        let out = Tensor(shape: [batch, m, n], storage: Storage(count: batch * m * n))
        try withExtendedLifetime((sa, sb)) {
            try p.execute([(Arg.src, mda, sa.raw), (Arg.weights, mdb, sb.raw), (Arg.dst, mdc, out.storage.raw)])
        }
        return out
    }

    func softmax(_ x: Tensor, axis: Int) throws -> Tensor {
        let out = Tensor(shape: x.shape, storage: Storage(count: x.count))
        var md = DNNL.desc(of: x)
        let p = try PrimitiveCache.get("softmax \(x.shape) \(axis)") {
            var d = dnnl_softmax_desc_t()
            try DNNL.check(dnnl_softmax_forward_desc_init(&d, dnnl_forward_training, &md, Int32(axis)), "softmax")
            return try Primitive(op: &d, what: "softmax")
        }
        try p.execute([(Arg.src, md, UnsafeMutableRawPointer(x.storage.pointer)), (Arg.dst, md, UnsafeMutableRawPointer(out.storage.pointer))])
        return out
    }

    func softmaxBackward(_ y: Tensor, _ g: Tensor, axis: Int) throws -> Tensor {
        let out = Tensor(shape: y.shape, storage: Storage(count: y.count))
        var md = DNNL.desc(of: y)
        let p = try PrimitiveCache.get("softmax-bwd \(y.shape) \(axis)") {
            var fd = dnnl_softmax_desc_t()
            try DNNL.check(dnnl_softmax_forward_desc_init(&fd, dnnl_forward_training, &md, Int32(axis)), "softmax")
            let hint = try Primitive(op: &fd, what: "softmax")
            var d = dnnl_softmax_desc_t()
            try DNNL.check(dnnl_softmax_backward_desc_init(&d, &md, &md, Int32(axis)), "softmax backward")
            return try Primitive(op: &d, hint: hint, what: "softmax backward")
        }
        try p.execute([(Arg.dst, md, UnsafeMutableRawPointer(y.storage.pointer)),
                       (Arg.diffDst, md, UnsafeMutableRawPointer(g.storage.pointer)),
                       (Arg.diffSrc, md, UnsafeMutableRawPointer(out.storage.pointer))])
        return out
    }

    func layerNorm(_ x: Tensor, _ w: Tensor, _ b: Tensor, eps: Float) throws -> (Tensor, Tensor, Tensor) {
        let c = x.shape[x.rank - 1], rows = x.count / c
        let out = Tensor(shape: x.shape, storage: Storage(count: x.count))
        let mean = Tensor(shape: [rows], storage: Storage(count: rows)), variance = Tensor(shape: [rows], storage: Storage(count: rows))
        var md = DNNL.desc([rows, c], dnnl_ab), stat = DNNL.desc([rows], dnnl_a)
        let p = try PrimitiveCache.get("layernorm \(rows) \(c) \(eps)") {
            var d = dnnl_layer_normalization_desc_t()
            try DNNL.check(dnnl_layer_normalization_forward_desc_init(&d, dnnl_forward_training, &md, &stat, eps, dnnl_use_scale.rawValue | dnnl_use_shift.rawValue), "layer norm")
            return try Primitive(op: &d, what: "layer norm")
        }
        let cmd = DNNL.desc([c], dnnl_a)
        try p.execute([(Arg.src, md, UnsafeMutableRawPointer(x.storage.pointer)), (Arg.dst, md, UnsafeMutableRawPointer(out.storage.pointer)),
                       (Arg.scale, cmd, UnsafeMutableRawPointer(w.storage.pointer)), (Arg.shift, cmd, UnsafeMutableRawPointer(b.storage.pointer)),
                       (Arg.mean, stat, UnsafeMutableRawPointer(mean.storage.pointer)), (Arg.variance, stat, UnsafeMutableRawPointer(variance.storage.pointer))])
        return (out, mean, variance)
    }

    func layerNormBackward(_ x: Tensor, _ w: Tensor, _ mean: Tensor, _ variance: Tensor, _ g: Tensor, eps: Float) throws -> (Tensor, Tensor, Tensor) {
        let c = x.shape[x.rank - 1], rows = x.count / c
        let gx = Tensor(shape: x.shape, storage: Storage(count: x.count))
        let gw = Tensor(shape: [c], storage: Storage(zeros: c)), gb = Tensor(shape: [c], storage: Storage(zeros: c))
        var md = DNNL.desc([rows, c], dnnl_ab), stat = DNNL.desc([rows], dnnl_a)
        let flags = dnnl_use_scale.rawValue | dnnl_use_shift.rawValue
        let p = try PrimitiveCache.get("layernorm-bwd \(rows) \(c) \(eps)") {
            var fd = dnnl_layer_normalization_desc_t()
            try DNNL.check(dnnl_layer_normalization_forward_desc_init(&fd, dnnl_forward_training, &md, &stat, eps, flags), "layer norm")
            let hint = try Primitive(op: &fd, what: "layer norm")
            var d = dnnl_layer_normalization_desc_t()
            try DNNL.check(dnnl_layer_normalization_backward_desc_init(&d, dnnl_backward, &md, &md, &stat, eps, flags), "layer norm backward")
            return try Primitive(op: &d, hint: hint, what: "layer norm backward")
        }
        let cmd = DNNL.desc([c], dnnl_a)
        try p.execute([(Arg.src, md, UnsafeMutableRawPointer(x.storage.pointer)), (Arg.diffDst, md, UnsafeMutableRawPointer(g.storage.pointer)),
                       (Arg.mean, stat, UnsafeMutableRawPointer(mean.storage.pointer)), (Arg.variance, stat, UnsafeMutableRawPointer(variance.storage.pointer)),
                       (Arg.scale, cmd, UnsafeMutableRawPointer(w.storage.pointer)), /* oneDNN 2.6 asks for a shift buffer here though the gradients do not read it. */ (Arg.shift, cmd, UnsafeMutableRawPointer(w.storage.pointer)), (Arg.diffSrc, md, UnsafeMutableRawPointer(gx.storage.pointer)),
                       (Arg.diffScale, cmd, UnsafeMutableRawPointer(gw.storage.pointer)), (Arg.diffShift, cmd, UnsafeMutableRawPointer(gb.storage.pointer))])
        return (gx, gw, gb)
    }
}

extension Unary {
    /// oneDNN's eltwise algorithm with its alpha and beta.
    var dnnl: (dnnl_alg_kind_t, Float, Float) {
        switch self {
        case .exp: (dnnl_eltwise_exp, 0, 0)
        case .log: (dnnl_eltwise_log, 0, 0)
        case .sqrt: (dnnl_eltwise_sqrt, 0, 0)
        case .abs: (dnnl_eltwise_abs, 0, 0)
        case .sigmoid: (dnnl_eltwise_logistic, 0, 0)
        case .tanh: (dnnl_eltwise_tanh, 0, 0)
        case .relu: (dnnl_eltwise_relu, 0, 0)
        case .gelu: (dnnl_eltwise_gelu_erf, 0, 0)
        case .softplus: (dnnl_eltwise_soft_relu, 0, 0)
        case .leakyRelu(let s): (dnnl_eltwise_relu, s, 0)
        case .pow(let p): (dnnl_eltwise_pow, 1, p)
        case .clamp(let lo, let hi): (dnnl_eltwise_clip, lo, hi)
        case .linear(let a, let b): (dnnl_eltwise_linear, a, b)
        }
    }
}

extension Binary {
    /// oneDNN's binary algorithm.
    var dnnl: dnnl_alg_kind_t {
        switch self {
        case .add: dnnl_binary_add
        case .sub: dnnl_binary_sub
        case .mul: dnnl_binary_mul
        case .div: dnnl_binary_div
        }
    }
}
