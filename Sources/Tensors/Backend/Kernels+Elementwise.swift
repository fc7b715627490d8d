import CDNNL
import Foundation

/// Elementwise functions of one tensor, with their oneDNN algorithm.
enum Unary: Hashable {
    case exp, log, sqrt, abs, sigmoid, tanh, relu, gelu, softplus
    case leakyRelu(Float)
    /// x^p.
    case pow(Float)
    /// min(max(x, low), high).
    case clamp(Float, Float)
    /// a * x + b.
    case linear(Float, Float)

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

    var dnnl: dnnl_alg_kind_t {
        switch self {
        case .add: dnnl_binary_add
        case .sub: dnnl_binary_sub
        case .mul: dnnl_binary_mul
        case .div: dnnl_binary_div
        }
    }

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

/// Untaped kernels: each returns a new tensor and records nothing.
enum Kernels {
    /// Elementwise work on fewer values runs in a loop on the calling thread even on the fast path:
    /// a oneDNN call opens an OpenMP parallel region, which costs more than the work below this size
    /// (and milliseconds when the other core is busy).
    static let parallelThreshold = 1 << 16

    /// Whether elementwise work on `count` values goes to oneDNN.
    static func useDNNL(_ count: Int) -> Bool { Kernel.path == .fast && count >= parallelThreshold }

    /// f(x), in x's layout.
    static func unary(_ f: Unary, _ x: Tensor) throws -> Tensor {
        let out = Tensor(shape: x.shape, layout: x.layout, storage: Storage(count: x.storage.count))
        if useDNNL(x.count) {
            let (alg, alpha, beta) = f.dnnl
            var md = DNNL.desc(of: x)
            let p = try PrimitiveCache.get("eltwise-fwd \(alg.rawValue) \(alpha) \(beta) \(x.shape) \(x.layout)") {
                var d = dnnl_eltwise_desc_t()
                try DNNL.check(dnnl_eltwise_forward_desc_init(&d, dnnl_forward_training, alg, &md, alpha, beta), "eltwise")
                return try Primitive(op: &d, what: "eltwise \(f)")
            }
            try p.execute([(Arg.src, md, UnsafeMutableRawPointer(x.storage.pointer)), (Arg.dst, md, UnsafeMutableRawPointer(out.storage.pointer))])
        } else {
            let src = x.storage.pointer, dst = out.storage.pointer
            for i in 0..<x.storage.count { dst[i] = f.value(src[i]) }
        }
        return out
    }

    /// g * f'(x), the gradient of an elementwise function.
    static func unaryBackward(_ f: Unary, _ x: Tensor, _ g: Tensor) throws -> Tensor {
        let g = g.layout == x.layout ? g : reorder(g, to: x.layout)
        let out = Tensor(shape: x.shape, layout: x.layout, storage: Storage(count: x.storage.count))
        if useDNNL(x.count) {
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
        } else {
            let src = x.storage.pointer, gp = g.storage.pointer, dst = out.storage.pointer
            for i in 0..<x.storage.count { dst[i] = gp[i] * f.derivative(src[i]) }
        }
        return out
    }

    /// a (op) b with NumPy broadcasting; the result has a's layout when a has the result's shape.
    static func binary(_ op: Binary, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        guard let shape = Shape.broadcast(a.shape, b.shape) else {
            throw TensorError.shapes(op.rawValue, [a, b], "shapes do not broadcast")
        }
        if a.shape == b.shape {
            let b = b.layout == a.layout ? b : reorder(b, to: a.layout)
            let out = Tensor(shape: shape, layout: a.layout, storage: Storage(count: a.storage.count))
            if useDNNL(a.count) {
                try dnnlBinary(op, a, b, out)
            } else {
                let pa = a.storage.pointer, pb = b.storage.pointer, po = out.storage.pointer
                for i in 0..<a.storage.count { po[i] = op.value(pa[i], pb[i]) }
            }
            return out
        }
        if a.layout == .blocked && shape == a.shape && b.layout == .plain && b.rank == 4 && b.shape[1] == 1
            && b.shape[2] == a.shape[2] && b.shape[3] == a.shape[3] {
            return blockedSpatialBinary(op, a, b)
        }
        if useDNNL(a.count) && shape == a.shape && b.layout == .plain {
            // oneDNN's JIT binary wants both sources in one format: a blocked source with a broadcast
            // operand that is not (N|1, C, 1, 1) goes through the plain layout (its other kernel is ~100x slower).
            let a = a.layout == .blocked && !(b.rank == 4 && b.shape[2] == 1 && b.shape[3] == 1) ? reorder(a, to: .plain) : a
            let out = Tensor(shape: shape, layout: a.layout, storage: Storage(count: a.storage.count))
            if (try? dnnlBinary(op, a, b, out)) != nil { return out }
        }
        let a = a.layout == .plain ? a : reorder(a, to: .plain)
        let b = b.layout == .plain ? b : reorder(b, to: .plain)
        let out = Tensor(shape: shape, storage: Storage(count: shape.reduce(1, *)))
        let pa = a.storage.pointer, pb = b.storage.pointer, po = out.storage.pointer
        let sa = broadcastStrides(a.shape, to: shape), sb = broadcastStrides(b.shape, to: shape)
        forEachIndex(shape, { o, ia, ib in po[o] = op.value(pa[ia], pb[ib]) }, offsets: (sa, sb))
        return out
    }

    private static func dnnlBinary(_ op: Binary, _ a: Tensor, _ b: Tensor, _ out: Tensor) throws {
        let rank = max(a.rank, 1)
        var mda = DNNL.desc(of: a)
        let bDims = [Int](repeating: 1, count: rank - b.rank) + b.shape
        // A (N|1, C, 1, 1) operand has the same bytes in the plain and the blocked layout.
        let bTag = b.layout == .blocked || (a.layout == .blocked && bDims[1] == a.shape[1]) ? Layout.blockedTag : DNNL.plainTag(max(bDims.count, 1))
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

    /// Strides of `shape` read as broadcast into `target` (0 along broadcast axes).
    static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        let padded = [Int](repeating: 1, count: target.count - shape.count) + shape
        let s = Shape.strides(padded)
        return (0..<target.count).map { padded[$0] == 1 && target[$0] != 1 ? 0 : s[$0] }
    }

    /// Calls `body(outIndex, offsetA, offsetB)` for every index of `shape` in row-major order.
    static func forEachIndex(_ shape: [Int], _ body: (Int, Int, Int) -> Void, offsets: ([Int], [Int])) {
        let n = shape.reduce(1, *)
        guard n > 0 else { return }
        let rank = shape.count
        if rank == 0 { body(0, 0, 0); return }
        let (sa, sb) = offsets
        var index = [Int](repeating: 0, count: rank)
        var ia = 0, ib = 0
        let inner = shape[rank - 1], ia1 = sa[rank - 1], ib1 = sb[rank - 1]
        var o = 0
        while o < n {
            var a = ia, b = ib
            for _ in 0..<inner {
                body(o, a, b)
                o += 1; a += ia1; b += ib1
            }
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                ia += sa[d]; ib += sb[d]
                if index[d] < shape[d] { break }
                ia -= sa[d] * shape[d]; ib -= sb[d] * shape[d]
                index[d] = 0
                d -= 1
            }
        }
    }

    /// Sums `g` over the axes along which `shape` was broadcast to g's shape.
    static func reduce(_ g: Tensor, toShape shape: [Int]) throws -> Tensor {
        if g.shape == shape { return g }
        let padded = [Int](repeating: 1, count: g.rank - shape.count) + shape
        let axes = (0..<g.rank).filter { padded[$0] == 1 && g.shape[$0] != 1 }
        return try sum(g, axes: axes).reshapedView(shape)
    }

    /// a + b for gradient accumulation (same shape), keeping a's layout.
    static func accumulate(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        try binary(.add, a, b)
    }
}
