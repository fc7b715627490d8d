import COpenBLAS

/// The geometry of a 2-D convolution.
struct ConvGeometry: Hashable, CustomStringConvertible {
    var n, cin, h, w, cout, kh, kw: Int
    var stride, padding, dilation, groups: Int

    var outH: Int { (h + 2 * padding - dilation * (kh - 1) - 1) / stride + 1 }
    var outW: Int { (w + 2 * padding - dilation * (kw - 1) - 1) / stride + 1 }
    var description: String { "n\(n) c\(cin) \(h)x\(w) -> c\(cout) k\(kh)x\(kw) s\(stride) p\(padding) d\(dilation) g\(groups)" }

    /// Multiply-adds of the forward pass.
    var macs: Int { n * cout * outH * outW * (cin / groups) * kh * kw }
}

/// Reference convolutions: im2col + OpenBLAS sgemm, one image and group at a time, on the plain layout.
extension ReferenceBackend {
    func conv2d(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ g: ConvGeometry) throws -> Tensor {
        referenceConvForward(x.plain, w, b, g)
    }

    func conv2dBackwardData(_ gy: Tensor, _ w: Tensor, _ g: ConvGeometry, like x: Tensor) throws -> Tensor {
        referenceConvBackwardData(gy.plain, w, g)
    }

    func conv2dBackwardWeights(_ gy: Tensor, _ x: Tensor, _ g: ConvGeometry, bias: Bool) throws -> (Tensor, Tensor?) {
        referenceConvBackwardWeights(gy.plain, x.plain, g, bias: bias)
    }

    /// Columns [cin/groups * kh * kw, outH * outW] of image `b`, group `grp`.
    private func im2col(_ x: UnsafeMutablePointer<Float>, _ g: ConvGeometry, _ b: Int, _ grp: Int, _ col: UnsafeMutablePointer<Float>) {
        let cg = g.cin / g.groups, oh = g.outH, ow = g.outW
        for c in 0..<cg {
            let plane = x + ((b * g.cin) + grp * cg + c) * g.h * g.w
            for ky in 0..<g.kh {
                for kx in 0..<g.kw {
                    let row = col + ((c * g.kh + ky) * g.kw + kx) * oh * ow
                    for oy in 0..<oh {
                        let iy = oy * g.stride - g.padding + ky * g.dilation
                        for ox in 0..<ow {
                            let ix = ox * g.stride - g.padding + kx * g.dilation
                            row[oy * ow + ox] = (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) ? plane[iy * g.w + ix] : 0
                        }
                    }
                }
            }
        }
    }

    private func col2im(_ col: UnsafeMutablePointer<Float>, _ g: ConvGeometry, _ b: Int, _ grp: Int, _ x: UnsafeMutablePointer<Float>) {
        let cg = g.cin / g.groups, oh = g.outH, ow = g.outW
        for c in 0..<cg {
            let plane = x + ((b * g.cin) + grp * cg + c) * g.h * g.w
            for ky in 0..<g.kh {
                for kx in 0..<g.kw {
                    let row = col + ((c * g.kh + ky) * g.kw + kx) * oh * ow
                    for oy in 0..<oh {
                        let iy = oy * g.stride - g.padding + ky * g.dilation
                        guard iy >= 0 && iy < g.h else { continue }
                        for ox in 0..<ow {
                            let ix = ox * g.stride - g.padding + kx * g.dilation
                            if ix >= 0 && ix < g.w { plane[iy * g.w + ix] += row[oy * ow + ox] }
                        }
                    }
                }
            }
        }
    }

    private func sgemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                              _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                              _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    func referenceConvForward(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ g: ConvGeometry) -> Tensor {
        let oh = g.outH, ow = g.outW, cg = g.cin / g.groups, og = g.cout / g.groups, k = cg * g.kh * g.kw
        let out = Tensor(shape: [g.n, g.cout, oh, ow], storage: Storage(count: g.n * g.cout * oh * ow))
        let col = Storage(count: k * oh * ow)
        for b in 0..<g.n {
            for grp in 0..<g.groups {
                im2col(x.storage.pointer, g, b, grp, col.pointer)
                let dst = out.storage.pointer + (b * g.cout + grp * og) * oh * ow
                sgemm(false, false, og, oh * ow, k, w.storage.pointer + grp * og * k, k, col.pointer, oh * ow, 0, dst, oh * ow)
            }
            if let bias {
                for c in 0..<g.cout {
                    let plane = out.storage.pointer + (b * g.cout + c) * oh * ow
                    let v = bias.storage.pointer[c]
                    for i in 0..<(oh * ow) { plane[i] += v }
                }
            }
        }
        return out
    }

    func referenceConvBackwardData(_ gy: Tensor, _ w: Tensor, _ g: ConvGeometry) -> Tensor {
        let oh = g.outH, ow = g.outW, cg = g.cin / g.groups, og = g.cout / g.groups, k = cg * g.kh * g.kw
        let gx = Tensor(shape: [g.n, g.cin, g.h, g.w], storage: Storage(zeros: g.n * g.cin * g.h * g.w))
        let col = Storage(count: k * oh * ow)
        for b in 0..<g.n {
            for grp in 0..<g.groups {
                let src = gy.storage.pointer + (b * g.cout + grp * og) * oh * ow
                sgemm(true, false, k, oh * ow, og, w.storage.pointer + grp * og * k, k, src, oh * ow, 0, col.pointer, oh * ow)
                col2im(col.pointer, g, b, grp, gx.storage.pointer)
            }
        }
        return gx
    }

    func referenceConvBackwardWeights(_ gy: Tensor, _ x: Tensor, _ g: ConvGeometry, bias: Bool) -> (Tensor, Tensor?) {
        let oh = g.outH, ow = g.outW, cg = g.cin / g.groups, og = g.cout / g.groups, k = cg * g.kh * g.kw
        let gw = Tensor(shape: [g.cout, cg, g.kh, g.kw], storage: Storage(zeros: g.cout * k))
        let col = Storage(count: k * oh * ow)
        for b in 0..<g.n {
            for grp in 0..<g.groups {
                im2col(x.storage.pointer, g, b, grp, col.pointer)
                let src = gy.storage.pointer + (b * g.cout + grp * og) * oh * ow
                sgemm(false, true, og, k, oh * ow, src, oh * ow, col.pointer, oh * ow, 1, gw.storage.pointer + grp * og * k, k)
            }
        }
        guard bias else { return (gw, nil) }
        let gb = Tensor(shape: [g.cout], storage: Storage(zeros: g.cout))
        for b in 0..<g.n {
            for c in 0..<g.cout {
                let plane = gy.storage.pointer + (b * g.cout + c) * oh * ow
                var s: Float = 0
                for i in 0..<(oh * ow) { s += plane[i] }
                gb.storage.pointer[c] += s
            }
        }
        return (gw, gb)
    }
}
