import CDNNL

/// oneDNN convolution primitives, cached by geometry; weights stay plain in tensors and are
/// reordered to the primitive's preferred blocking per call (a few hundred KB at most).
enum DNNLConv {
    private static func weightDims(_ g: ConvGeometry) -> ([Int], dnnl_format_tag_t) {
        g.groups == 1
            ? ([g.cout, g.cin, g.kh, g.kw], dnnl_oihw)
            : ([g.groups, g.cout / g.groups, g.cin / g.groups, g.kh, g.kw], dnnl_goihw)
    }

    private static func tag(_ layout: Layout) -> dnnl_format_tag_t { layout == .blocked ? Layout.blockedTag : dnnl_nchw }

    private struct Setup {
        var src, weightsAny, bias, dst: dnnl_memory_desc_t
        var strides, dilates, padding: [Int64]
    }

    private static func setup(_ g: ConvGeometry, bias: Bool) -> Setup {
        let (wd, _) = weightDims(g)
        return Setup(
            src: DNNL.desc([g.n, g.cin, g.h, g.w], tag(Kernels.activationLayout(g.cin))),
            weightsAny: DNNL.desc(wd, dnnl_format_tag_any),
            bias: bias ? DNNL.desc([g.cout], dnnl_x) : dnnl_memory_desc_t(),
            dst: DNNL.desc([g.n, g.cout, g.outH, g.outW], tag(Kernels.activationLayout(g.cout))),
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
        let x = Kernels.reorder(x, to: Kernels.activationLayout(g.cin))
        let p = try forwardPrimitive(g, bias: b != nil)
        let wmd = p.md(dnnl_query_weights_md)
        let wbuf = try weights(w, for: wmd, g, pass: "fwd")
        let outLayout = Kernels.activationLayout(g.cout)
        let out = Tensor(shape: [g.n, g.cout, g.outH, g.outW], layout: outLayout, storage: Storage(count: g.n * g.cout * g.outH * g.outW))
        var args: [(Int32, dnnl_memory_desc_t, UnsafeMutableRawPointer)] = [
            (Arg.src, DNNL.desc(of: x), UnsafeMutableRawPointer(x.storage.pointer)),
            (Arg.weights, wmd, UnsafeMutableRawPointer(wbuf.pointer)),
            (Arg.dst, DNNL.desc(of: out), UnsafeMutableRawPointer(out.storage.pointer)),
        ]
        if let b { args.append((Arg.bias, DNNL.desc([g.cout], dnnl_x), UnsafeMutableRawPointer(b.storage.pointer))) }
        try p.execute(args)
        return withExtendedLifetime(wbuf) { out }
    }

    static func backwardData(_ gy: Tensor, _ w: Tensor, _ g: ConvGeometry, like x: Tensor) throws -> Tensor {
        let gy = Kernels.reorder(gy, to: Kernels.activationLayout(g.cout))
        let p = try PrimitiveCache.get("conv-bwd-data \(g)") {
            var s = setup(g, bias: false)
            var d = dnnl_convolution_desc_t()
            try DNNL.check(dnnl_dilated_convolution_backward_data_desc_init(
                &d, dnnl_convolution_direct, &s.src, &s.weightsAny, &s.dst, s.strides, s.dilates, s.padding, s.padding),
                "convolution backward data \(g)")
            return try Primitive(op: &d, hint: try forwardPrimitive(g, bias: false), what: "convolution backward data \(g)")
        }
        let wmd = p.md(dnnl_query_weights_md)
        let wbuf = try weights(w, for: wmd, g, pass: "bwd-data")
        let gx = Tensor(shape: x.shape, layout: Kernels.activationLayout(g.cin), storage: Storage(count: x.count))
        try p.execute([
            (Arg.diffDst, DNNL.desc(of: gy), UnsafeMutableRawPointer(gy.storage.pointer)),
            (Arg.weights, wmd, UnsafeMutableRawPointer(wbuf.pointer)),
            (Arg.diffSrc, DNNL.desc(of: gx), UnsafeMutableRawPointer(gx.storage.pointer)),
        ])
        return withExtendedLifetime(wbuf) { gx }
    }

    static func backwardWeights(_ gy: Tensor, _ x: Tensor, _ g: ConvGeometry, bias: Bool) throws -> (Tensor, Tensor?) {
        let gy = Kernels.reorder(gy, to: Kernels.activationLayout(g.cout))
        let x = Kernels.reorder(x, to: Kernels.activationLayout(g.cin))
        let p = try PrimitiveCache.get("conv-bwd-weights \(g) bias \(bias)") {
            var s = setup(g, bias: bias)
            var d = dnnl_convolution_desc_t()
            try DNNL.check(dnnl_dilated_convolution_backward_weights_desc_init(
                &d, dnnl_convolution_direct, &s.src, &s.weightsAny, &s.bias, &s.dst, s.strides, s.dilates, s.padding, s.padding),
                "convolution backward weights \(g)")
            return try Primitive(op: &d, hint: try forwardPrimitive(g, bias: bias), what: "convolution backward weights \(g)")
        }
        let wmd = p.md(dnnl_query_diff_weights_md)
        let (wd, wtag) = weightDims(g)
        let plain = DNNL.desc(wd, wtag)
        let count = g.cout * (g.cin / g.groups) * g.kh * g.kw
        let blocked = DNNL.equal(plain, wmd) ? nil : Storage(count: DNNL.size(wmd) / 4)
        let gw = Tensor(shape: [g.cout, g.cin / g.groups, g.kh, g.kw], storage: Storage(count: count))
        let gb = bias ? Tensor(shape: [g.cout], storage: Storage(count: g.cout)) : nil
        var args: [(Int32, dnnl_memory_desc_t, UnsafeMutableRawPointer)] = [
            (Arg.src, DNNL.desc(of: x), UnsafeMutableRawPointer(x.storage.pointer)),
            (Arg.diffDst, DNNL.desc(of: gy), UnsafeMutableRawPointer(gy.storage.pointer)),
            (Arg.diffWeights, wmd, UnsafeMutableRawPointer((blocked ?? gw.storage).pointer)),
        ]
        if let gb { args.append((Arg.diffBias, DNNL.desc([g.cout], dnnl_x), UnsafeMutableRawPointer(gb.storage.pointer))) }
        try p.execute(args)
        if let blocked, count <= SmallReorder.maximumCount, let offsets = SmallReorder.cachedOffsets("conv-diff-weights \(g) \(bias)", wmd) {
            SmallReorder.gather(blocked.pointer, offsets, into: gw.storage.pointer)
        } else if let blocked {
            let r = try PrimitiveCache.get("conv-weights-from \(g)") { try Primitive(reorderFrom: wmd, to: plain) }
            try r.execute([(Arg.src, wmd, UnsafeMutableRawPointer(blocked.pointer)), (Arg.dst, plain, UnsafeMutableRawPointer(gw.storage.pointer))])
        }
        return (gw, gb)
    }
}
