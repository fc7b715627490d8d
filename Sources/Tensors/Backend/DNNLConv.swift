import CDNNL

/// oneDNN convolution primitives, cached by geometry; weights stay plain in tensors and are
/// reordered to the primitive's preferred blocking per call (a few hundred KB at most).
///
/// When both channel counts are multiples of the block, activations are `blocked` in and out.
/// Otherwise (3 colour channels, an odd number of latent channels) oneDNN chooses the activation
/// formats itself: forcing plain formats there lands on its reference kernels, 100x slower.
enum DNNLConv {
    private static func weightDims(_ g: ConvGeometry) -> ([Int], dnnl_format_tag_t) {
        g.groups == 1
            ? ([g.cout, g.cin, g.kh, g.kw], dnnl_oihw)
            : ([g.groups, g.cout / g.groups, g.cin / g.groups, g.kh, g.kw], dnnl_goihw)
    }

    private struct Setup {
        var src, weightsAny, bias, dst: dnnl_memory_desc_t
        var strides, dilates, padding: [Int64]
    }

    private static func setup(_ g: ConvGeometry, bias: Bool) -> Setup {
        let (wd, _) = weightDims(g)
        let blocked = g.cin % Layout.blockSize == 0 && g.cout % Layout.blockSize == 0
        return Setup(
            src: DNNL.desc([g.n, g.cin, g.h, g.w], blocked ? Layout.blockedTag : dnnl_format_tag_any),
            weightsAny: DNNL.desc(wd, dnnl_format_tag_any),
            bias: bias ? DNNL.desc([g.cout], dnnl_x) : dnnl_memory_desc_t(),
            dst: DNNL.desc([g.n, g.cout, g.outH, g.outW], blocked ? Layout.blockedTag : dnnl_format_tag_any),
            strides: DNNL.dims([g.stride, g.stride]), dilates: DNNL.dims([g.dilation - 1, g.dilation - 1]),
            padding: DNNL.dims([g.padding, g.padding]))
    }

    private static func forwardPrimitive(_ g: ConvGeometry, bias: Bool) throws -> Primitive {
        try PrimitiveCache.get("conv-fwd \(g) bias \(bias)") {
            var s = setup(g, bias: bias)
            var d = dnnl_convolution_desc_t()
            try DNNL.check(dnnl_dilated_convolution_forward_desc_init(
                &d, dnnl_forward_training, dnnl_convolution_direct, &s.src, &s.weightsAny, &s.bias, &s.dst,
                s.strides, s.dilates, s.padding, s.padding), "convolution \(g)")
            return try Primitive(op: &d, what: "convolution \(g)")
        }
    }

    /// Weights reordered from plain to what `p` wants (or the plain buffer itself when they agree).
    private static func weights(_ w: Tensor, for wanted: dnnl_memory_desc_t, _ g: ConvGeometry, pass: String) throws -> Storage {
        let (wd, wtag) = weightDims(g)
        let plain = DNNL.desc(wd, wtag)
        if DNNL.equal(plain, wanted) { return w.storage }
        let out = Storage(count: DNNL.size(wanted) / 4)
        if w.count <= SmallReorder.maximumCount, let offsets = SmallReorder.cachedOffsets("conv-weights \(pass) \(g)", wanted) {
            SmallReorder.scatter(w.storage.pointer, offsets, into: out.pointer, bytes: DNNL.size(wanted))
            return out
        }
        let r = try PrimitiveCache.get("conv-weights-to \(pass) \(g)") { try Primitive(reorderFrom: plain, to: wanted) }
        try r.execute([(Arg.src, plain, UnsafeMutableRawPointer(w.storage.pointer)), (Arg.dst, wanted, UnsafeMutableRawPointer(out.pointer))])
        return out
    }

    static func forward(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ g: ConvGeometry) throws -> Tensor {
        let p = try forwardPrimitive(g, bias: b != nil)
        let (srcMD, dstMD, wmd) = (p.md(dnnl_query_src_md), p.md(dnnl_query_dst_md), p.md(dnnl_query_weights_md))
        let src = try buffer(x, as: srcMD, "conv-fwd-src \(g) \(b != nil)")
        let wbuf = try weights(w, for: wmd, g, pass: "fwd \(b != nil)")
        let dst = Storage(count: DNNL.size(dstMD) / 4)
        var args: [(Int32, dnnl_memory_desc_t, UnsafeMutableRawPointer)] = [
            (Arg.src, srcMD, UnsafeMutableRawPointer(src.pointer)),
            (Arg.weights, wmd, UnsafeMutableRawPointer(wbuf.pointer)),
            (Arg.dst, dstMD, UnsafeMutableRawPointer(dst.pointer)),
        ]
        if let b { args.append((Arg.bias, DNNL.desc([g.cout], dnnl_x), UnsafeMutableRawPointer(b.storage.pointer))) }
        try p.execute(args)
        return try withExtendedLifetime((src, wbuf)) { try tensor(dst, md: dstMD, shape: [g.n, g.cout, g.outH, g.outW], "conv-fwd-dst \(g) \(b != nil)") }
    }

    static func backwardData(_ gy: Tensor, _ w: Tensor, _ g: ConvGeometry, like x: Tensor) throws -> Tensor {
        let p = try PrimitiveCache.get("conv-bwd-data \(g)") {
            var s = setup(g, bias: false)
            var d = dnnl_convolution_desc_t()
            try DNNL.check(dnnl_dilated_convolution_backward_data_desc_init(
                &d, dnnl_convolution_direct, &s.src, &s.weightsAny, &s.dst, s.strides, s.dilates, s.padding, s.padding),
                "convolution backward data \(g)")
            return try Primitive(op: &d, hint: try forwardPrimitive(g, bias: false), what: "convolution backward data \(g)")
        }
        let (diffDstMD, diffSrcMD, wmd) = (p.md(dnnl_query_diff_dst_md), p.md(dnnl_query_diff_src_md), p.md(dnnl_query_weights_md))
        let diffDst = try buffer(gy, as: diffDstMD, "conv-bwd-data-diff-dst \(g)")
        let wbuf = try weights(w, for: wmd, g, pass: "bwd-data")
        let gx = Storage(count: DNNL.size(diffSrcMD) / 4)
        try p.execute([
            (Arg.diffDst, diffDstMD, UnsafeMutableRawPointer(diffDst.pointer)),
            (Arg.weights, wmd, UnsafeMutableRawPointer(wbuf.pointer)),
            (Arg.diffSrc, diffSrcMD, UnsafeMutableRawPointer(gx.pointer)),
        ])
        return try withExtendedLifetime((diffDst, wbuf)) { try tensor(gx, md: diffSrcMD, shape: x.shape, "conv-diff-src \(g)") }
    }

    static func backwardWeights(_ gy: Tensor, _ x: Tensor, _ g: ConvGeometry, bias: Bool) throws -> (Tensor, Tensor?) {
        let p = try PrimitiveCache.get("conv-bwd-weights \(g) bias \(bias)") {
            var s = setup(g, bias: bias)
            var d = dnnl_convolution_desc_t()
            try DNNL.check(dnnl_dilated_convolution_backward_weights_desc_init(
                &d, dnnl_convolution_direct, &s.src, &s.weightsAny, &s.bias, &s.dst, s.strides, s.dilates, s.padding, s.padding),
                "convolution backward weights \(g)")
            return try Primitive(op: &d, hint: try forwardPrimitive(g, bias: bias), what: "convolution backward weights \(g)")
        }
        let wmd = p.md(dnnl_query_diff_weights_md)
        let (srcMD, diffDstMD) = (p.md(dnnl_query_src_md), p.md(dnnl_query_diff_dst_md))
        let src = try buffer(x, as: srcMD, "conv-bwd-weights-src \(g) \(bias)"), diffDst = try buffer(gy, as: diffDstMD, "conv-bwd-weights-diff-dst \(g) \(bias)")
        let (wd, wtag) = weightDims(g)
        let plain = DNNL.desc(wd, wtag)
        let count = g.cout * (g.cin / g.groups) * g.kh * g.kw
        let blocked = DNNL.equal(plain, wmd) ? nil : Storage(count: DNNL.size(wmd) / 4)
        let gw = Tensor(shape: [g.cout, g.cin / g.groups, g.kh, g.kw], storage: Storage(count: count))
        let gb = bias ? Tensor(shape: [g.cout], storage: Storage(count: g.cout)) : nil
        var args: [(Int32, dnnl_memory_desc_t, UnsafeMutableRawPointer)] = [
            (Arg.src, srcMD, UnsafeMutableRawPointer(src.pointer)),
            (Arg.diffDst, diffDstMD, UnsafeMutableRawPointer(diffDst.pointer)),
            (Arg.diffWeights, wmd, UnsafeMutableRawPointer((blocked ?? gw.storage).pointer)),
        ]
        if let gb { args.append((Arg.diffBias, DNNL.desc([g.cout], dnnl_x), UnsafeMutableRawPointer(gb.storage.pointer))) }
        try withExtendedLifetime((src, diffDst)) { try p.execute(args) }
        if let blocked, count <= SmallReorder.maximumCount, let offsets = SmallReorder.cachedOffsets("conv-diff-weights \(g) \(bias)", wmd) {
            SmallReorder.gather(blocked.pointer, offsets, into: gw.storage.pointer)
        } else if let blocked {
            let r = try PrimitiveCache.get("conv-weights-from \(g) \(bias)") { try Primitive(reorderFrom: wmd, to: plain) }
            try r.execute([(Arg.src, wmd, UnsafeMutableRawPointer(blocked.pointer)), (Arg.dst, plain, UnsafeMutableRawPointer(gw.storage.pointer))])
        }
        return (gw, gb)
    }

    /// `t`'s values laid out as `md` (its own buffer when they agree). `key` must name the pass and
    /// argument: each pass's primitive may want its own layout.
    private static func buffer(_ t: Tensor, as md: dnnl_memory_desc_t, _ key: String) throws -> Storage {
        let own = DNNL.desc(of: t)
        if DNNL.equal(own, md) { return t.storage }
        let out = Storage(count: DNNL.size(md) / 4)
        let r = try PrimitiveCache.get("to \(key) \(t.layout)") { try Primitive(reorderFrom: own, to: md) }
        try r.execute([(Arg.src, own, UnsafeMutableRawPointer(t.storage.pointer)), (Arg.dst, md, UnsafeMutableRawPointer(out.pointer))])
        return out
    }

    /// A tensor from a buffer laid out as `md`: kept when that is the plain or the blocked layout, else reordered to plain.
    private static func tensor(_ s: Storage, md: dnnl_memory_desc_t, shape: [Int], _ key: String) throws -> Tensor {
        if DNNL.equal(md, DNNL.desc(shape, dnnl_nchw)) { return Tensor(shape: shape, storage: s) }
        if shape[1] % Layout.blockSize == 0, DNNL.equal(md, DNNL.desc(shape, Layout.blockedTag)) {
            return Tensor(shape: shape, layout: .blocked, storage: s)
        }
        let plain = DNNL.desc(shape, dnnl_nchw)
        let out = Tensor(shape: shape, storage: Storage(count: shape.reduce(1, *)))
        let r = try PrimitiveCache.get("from \(key)") { try Primitive(reorderFrom: md, to: plain) }
        try r.execute([(Arg.src, md, UnsafeMutableRawPointer(s.pointer)), (Arg.dst, plain, UnsafeMutableRawPointer(out.storage.pointer))])
        return out
    }
}
