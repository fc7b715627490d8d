import COpenBLAS
import Foundation

/// The reference kernels: plain Swift loops (and OpenBLAS for matrix products) over the plain
/// layout where a kernel needs one. Tests compare the oneDNN backend against these.
struct ReferenceBackend: Backend {
    static let shared = ReferenceBackend()

    func unary(_ f: Unary, _ x: Tensor) throws -> Tensor {
        let out = Tensor(shape: x.shape, layout: x.layout, storage: Storage(count: x.storage.count))
        let src = x.storage.pointer, dst = out.storage.pointer
        for i in 0..<x.storage.count { dst[i] = f.value(src[i]) }
        return out
    }

    func unaryBackward(_ f: Unary, _ x: Tensor, _ g: Tensor) throws -> Tensor {
        let out = Tensor(shape: x.shape, layout: x.layout, storage: Storage(count: x.storage.count))
        let src = x.storage.pointer, gp = g.storage.pointer, dst = out.storage.pointer
        for i in 0..<x.storage.count { dst[i] = gp[i] * f.derivative(src[i]) }
        return out
    }

    func binary(_ op: Binary, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        let out = Tensor(shape: a.shape, layout: a.layout, storage: Storage(count: a.storage.count))
        let pa = a.storage.pointer, pb = b.storage.pointer, po = out.storage.pointer
        for i in 0..<a.storage.count { po[i] = op.value(pa[i], pb[i]) }
        return out
    }

    func broadcastBinary(_ op: Binary, _ a: Tensor, _ b: Tensor, shape: [Int]) throws -> Tensor {
        let a = a.plain, b = b.plain
        let out = Tensor(shape: shape, storage: Storage(count: shape.reduce(1, *)))
        let pa = a.storage.pointer, pb = b.storage.pointer, po = out.storage.pointer
        let sa = Kernels.broadcastStrides(a.shape, to: shape), sb = Kernels.broadcastStrides(b.shape, to: shape)
        Kernels.forEachIndex(shape, { o, ia, ib in po[o] = op.value(pa[ia], pb[ib]) }, offsets: (sa, sb))
        return out
    }

    func reorder(_ x: Tensor, to layout: Layout) -> Tensor {
        let out = Tensor(shape: x.shape, layout: layout, storage: Storage(count: x.storage.count))
        let n = x.shape[0], c = x.shape[1], hw = x.shape[2] * x.shape[3]
        // Where channel ch of image b starts in a layout, and the distance between its pixels.
        func place(_ layout: Layout, _ b: Int, _ ch: Int) -> (start: Int, stride: Int) {
            switch layout {
            case .plain: return ((b * c + ch) * hw, 1)
            case .blocked, .channelsLast:
                let bs = layout.pixelBlock(channels: c)
                return (((b * (c / bs) + ch / bs) * hw) * bs + ch % bs, bs)
            }
        }
        let src = x.storage.pointer, dst = out.storage.pointer
        for b in 0..<n {
            for ch in 0..<c {
                let (from, to) = (place(x.layout, b, ch), place(layout, b, ch))
                for i in 0..<hw { dst[to.start + i * to.stride] = src[from.start + i * from.stride] }
            }
        }
        return out
    }

    func matmul(_ a: Tensor, _ b: Tensor, batch: Int, transA: Bool, transB: Bool) throws -> Tensor {
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let m = transA ? ac : ar, k = transA ? ar : ac, n = transB ? br : bc
        let bBatch = b.count / (br * bc)
        let out = Tensor(shape: [batch, m, n], storage: Storage(count: batch * m * n))
        for i in 0..<batch {
            let pa = a.storage.pointer + i * ar * ac
            let pb = b.storage.pointer + (bBatch == 1 ? 0 : i * br * bc)
            cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(n), Int32(k), 1, pa, Int32(ac), pb, Int32(bc), 0, out.storage.pointer + i * m * n, Int32(n))
        }
        return out
    }

    func softmax(_ x: Tensor, axis: Int) throws -> Tensor {
        let out = Tensor(shape: x.shape, storage: Storage(count: x.count))
        let (outer, n, inner) = Kernels.split(x.shape, axis)
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

    func softmaxBackward(_ y: Tensor, _ g: Tensor, axis: Int) throws -> Tensor {
        let out = Tensor(shape: y.shape, storage: Storage(count: y.count))
        let (outer, n, inner) = Kernels.split(y.shape, axis)
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

    func layerNorm(_ x: Tensor, _ w: Tensor, _ b: Tensor, eps: Float) throws -> (Tensor, Tensor, Tensor) {
        let c = x.shape[x.rank - 1], rows = x.count / c
        let out = Tensor(shape: x.shape, storage: Storage(count: x.count))
        let mean = Tensor(shape: [rows], storage: Storage(count: rows)), variance = Tensor(shape: [rows], storage: Storage(count: rows))
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

    func layerNormBackward(_ x: Tensor, _ w: Tensor, _ mean: Tensor, _ variance: Tensor, _ g: Tensor, eps: Float) throws -> (Tensor, Tensor, Tensor) {
        let c = x.shape[x.rank - 1], rows = x.count / c
        let gx = Tensor(shape: x.shape, storage: Storage(count: x.count))
        let gw = Tensor(shape: [c], storage: Storage(zeros: c)), gb = Tensor(shape: [c], storage: Storage(zeros: c))
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
