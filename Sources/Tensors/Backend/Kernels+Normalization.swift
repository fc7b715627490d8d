import CDNNL
import Foundation

extension Kernels {
    /// (outer, axis length, inner) of a plain tensor around `axis`.
    static func split(_ shape: [Int], _ axis: Int) -> (Int, Int, Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    static func softmax(_ x: Tensor, axis: Int) throws -> Tensor {
        let out = Tensor(shape: x.shape, storage: Storage(count: x.count))
        if Kernel.path == .fast {
            var md = DNNL.desc(of: x)
            let p = try PrimitiveCache.get("softmax \(x.shape) \(axis)") {
                var d = dnnl_softmax_desc_t()
                try DNNL.check(dnnl_softmax_forward_desc_init(&d, dnnl_forward_training, &md, Int32(axis)), "softmax")
                return try Primitive(op: &d, what: "softmax")
            }
            try p.execute([(Arg.src, md, UnsafeMutableRawPointer(x.storage.pointer)), (Arg.dst, md, UnsafeMutableRawPointer(out.storage.pointer))])
            return out
        }
        let (outer, n, inner) = split(x.shape, axis)
        let src = x.storage.pointer, dst = out.storage.pointer
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * n * inner + i
                var m = -Float.infinity
                for j in 0..<n { m = max(m, src[base + j * inner]) }
                var s: Float = 0
                for j in 0..<n { let e = Foundation.exp(src[base + j * inner] - m); dst[base + j * inner] = e; s += e }
                for j in 0..<n { dst[base + j * inner] /= s }
            }
        }
        return out
    }

    /// Gradient of softmax from its output y: y * (g - sum(g * y)).
    static func softmaxBackward(_ y: Tensor, _ g: Tensor, axis: Int) throws -> Tensor {
        let out = Tensor(shape: y.shape, storage: Storage(count: y.count))
        if Kernel.path == .fast {
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
        let (outer, n, inner) = split(y.shape, axis)
        let py = y.storage.pointer, pg = g.storage.pointer, dst = out.storage.pointer
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * n * inner + i
                var dot: Float = 0
                for j in 0..<n { dot += pg[base + j * inner] * py[base + j * inner] }
                for j in 0..<n { dst[base + j * inner] = py[base + j * inner] * (pg[base + j * inner] - dot) }
            }
        }
        return out
    }

    /// Layer normalisation over the last axis; returns the output and the per-row mean and variance.
    static func layerNorm(_ x: Tensor, _ w: Tensor, _ b: Tensor, eps: Float) throws -> (Tensor, Tensor, Tensor) {
        let c = x.shape[x.rank - 1], rows = x.count / c
        let out = Tensor(shape: x.shape, storage: Storage(count: x.count))
        let mean = Tensor(shape: [rows], storage: Storage(count: rows)), variance = Tensor(shape: [rows], storage: Storage(count: rows))
        if Kernel.path == .fast {
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
        let src = x.storage.pointer, dst = out.storage.pointer, pw = w.storage.pointer, pb = b.storage.pointer
        for r in 0..<rows {
            let row = src + r * c
            var s = 0.0, s2 = 0.0
            for j in 0..<c { s += Double(row[j]) }
            let mu = s / Double(c)
            for j in 0..<c { let d = Double(row[j]) - mu; s2 += d * d }
            let v = s2 / Double(c)
            mean.storage.pointer[r] = Float(mu); variance.storage.pointer[r] = Float(v)
            let rstd = Float(1 / (v + Double(eps)).squareRoot()), m = Float(mu)
            for j in 0..<c { dst[r * c + j] = (row[j] - m) * rstd * pw[j] + pb[j] }
        }
        return (out, mean, variance)
    }

    /// Gradients of layer norm: (dx, dweight, dbias).
    static func layerNormBackward(_ x: Tensor, _ w: Tensor, _ mean: Tensor, _ variance: Tensor, _ g: Tensor, eps: Float) throws -> (Tensor, Tensor, Tensor) {
        let c = x.shape[x.rank - 1], rows = x.count / c
        let gx = Tensor(shape: x.shape, storage: Storage(count: x.count))
        let gw = Tensor(shape: [c], storage: Storage(zeros: c)), gb = Tensor(shape: [c], storage: Storage(zeros: c))
        if Kernel.path == .fast {
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
        let src = x.storage.pointer, pg = g.storage.pointer, pw = w.storage.pointer
        for r in 0..<rows {
            let m = mean.storage.pointer[r], rstd = 1 / (variance.storage.pointer[r] + eps).squareRoot()
            var sumG = 0.0, sumGX = 0.0
            for j in 0..<c {
                let xhat = (src[r * c + j] - m) * rstd
                let gy = pg[r * c + j]
                gw.storage.pointer[j] += gy * xhat
                gb.storage.pointer[j] += gy
                let gxhat = Double(gy * pw[j])
                sumG += gxhat; sumGX += gxhat * Double(xhat)
            }
            let meanG = Float(sumG / Double(c)), meanGX = Float(sumGX / Double(c))
            for j in 0..<c {
                let xhat = (src[r * c + j] - m) * rstd
                gx.storage.pointer[r * c + j] = rstd * (pg[r * c + j] * pw[j] - meanG - xhat * meanGX)
            }
        }
        return (gx, gw, gb)
    }
}

/// Softmax along `axis`.
public func softmax(_ x: Tensor, axis: Int = -1) throws -> Tensor {
    let axis = axis < 0 ? axis + x.rank : axis
    guard axis >= 0, axis < x.rank else { throw TensorError("softmax: axis \(axis) out of range for \(x.shape)") }
    let x = x.layout == .plain ? x : try x.inLayout(.plain)
    let out = try Kernels.softmax(x, axis: axis)
    return Tensor.recorded(out, "softmax", [x]) { g in
        [try Kernels.softmaxBackward(out, g.layout == .plain ? g : Kernels.reorder(g, to: .plain), axis: axis)]
    }
}

/// Layer normalisation over the last axis: (x - mean) / sqrt(var + eps) * weight + bias, biased variance as PyTorch.
public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float = 1e-5) throws -> Tensor {
    guard let c = x.shape.last, weight.shape == [c], bias.shape == [c] else {
        throw TensorError.shapes("layerNorm", [x, weight, bias], "weight and bias must have the size of the last axis")
    }
    let x = x.layout == .plain ? x : try x.inLayout(.plain)
    let (out, mean, variance) = try Kernels.layerNorm(x, weight, bias, eps: eps)
    return Tensor.recorded(out, "layerNorm", [x, weight, bias]) { g in
        let (gx, gw, gb) = try Kernels.layerNormBackward(x, weight, mean, variance, g.layout == .plain ? g : Kernels.reorder(g, to: .plain), eps: eps)
        return [gx, gw, gb]
    }
}
