import CDNNL

/// oneDNN convolution primitives, cached by geometry and precision; weights stay plain f32 in
/// tensors and are reordered (and under bf16 rounded) to the primitive's preferred blocking per call
/// (a few hundred KB at most).
///
/// f32: when both channel counts are multiples of the block, activations are `blocked` in and out.
/// Otherwise (3 colour channels, an odd number of latent channels) oneDNN chooses the activation
/// formats itself: forcing plain formats there lands on its reference kernels, 100x slower.
///
/// bf16 (`Engine.precision`): the inputs of each pass (source, weights, incoming gradient) are bf16,
/// converted by the reorder that brings them there; the outputs (destination, gradient of the source,
/// gradients of weights and bias) are f32 as in the f32 path. Activations are channels-last (NHWC)
/// in and out: the only layout oneDNN 2.6 runs its AMX kernels on (with `nChw16c` it picks slower
/// AVX512-BF16 ones), and from f32 NHWC the conversion to bf16 is a plain pass. A geometry oneDNN
/// has no bf16 primitive for runs in f32.
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

    /// Descriptors of one pass. `src` and `dst` are the element types of the source (or its
    /// gradient) and of the destination (or its gradient); weights are bf16 exactly when the source or
    /// the destination is (the pass's inputs), bias f32.
    private static func setup(_ g: ConvGeometry, bias: Bool, src: ElementType, dst: ElementType, weights: ElementType) -> Setup {
        let (wd, _) = weightDims(g)
        let blocked = g.cin % Layout.blockSize == 0 && g.cout % Layout.blockSize == 0
        let bf16 = src == .bf16 || dst == .bf16
        func activation(_ dims: [Int], _ type: ElementType) -> dnnl_memory_desc_t {
            if bf16 { return DNNL.desc(dims, dnnl_nhwc, type) }
            return DNNL.desc(dims, blocked ? Layout.blockedTag : dnnl_format_tag_any, type)
        }
        return Setup(
            src: activation([g.n, g.cin, g.h, g.w], src),
            weightsAny: DNNL.desc(wd, dnnl_format_tag_any, weights),
            bias: bias ? DNNL.desc([g.cout], dnnl_x) : dnnl_memory_desc_t(),
            dst: activation([g.n, g.cout, g.outH, g.outW], dst),
            strides: DNNL.dims([g.stride, g.stride]), dilates: DNNL.dims([g.dilation - 1, g.dilation - 1]),
            padding: DNNL.dims([g.padding, g.padding]))
    }

    /// The cache key's suffix of a precision: none for f32 (the keys the f32 path always had).
    private static func tag(_ p: Precision) -> String { p == .bf16 ? " bf16" : "" }

    /// The precision a pass runs in: bf16 when it is in effect and `make` creates the primitive, else f32.
    private static func choose(_ make: (Precision) throws -> Primitive) throws -> (Primitive, Precision) {
        if Engine.precision == .bf16, let p = try? make(.bf16) { return (p, .bf16) }
        return (try make(.f32), .f32)
    }

    static func forwardPrimitive(_ g: ConvGeometry, bias: Bool, _ precision: Precision) throws -> Primitive {
        try PrimitiveCache.get("conv-fwd \(g) bias \(bias)\(tag(precision))") {
            let input: ElementType = precision == .bf16 ? .bf16 : .f32
            var s = setup(g, bias: bias, src: input, dst: .f32, weights: input)
            var d = dnnl_convolution_desc_t()
            try DNNL.check(dnnl_dilated_convolution_forward_desc_init(
                &d, dnnl_forward_training, dnnl_convolution_direct, &s.src, &s.weightsAny, &s.bias, &s.dst,
                s.strides, s.dilates, s.padding, s.padding), "convolution \(g)")
            return try Primitive(op: &d, what: "convolution \(g)")
        }
    }

    /// A backward primitive with the forward one as hint; under bf16, without a hint if that fails.
    private static func backwardPrimitive(_ op: UnsafeRawPointer, _ g: ConvGeometry, bias: Bool, _ precision: Precision, what: String) throws -> Primitive {
        guard precision == .bf16 else { return try Primitive(op: op, hint: try forwardPrimitive(g, bias: bias, .f32), what: what) }
        if let hint = try? forwardPrimitive(g, bias: bias, .bf16), let p = try? Primitive(op: op, hint: hint, what: what) { return p }
        return try Primitive(op: op, hint: nil, what: what)
    }

    /// Weights converted from plain f32 to what the primitive wants (or the plain buffer itself when they agree).
    private static func weights(_ w: Tensor, for wanted: dnnl_memory_desc_t, _ g: ConvGeometry, pass: String) throws -> Storage {
        let (wd, wtag) = weightDims(g)
        let plain = DNNL.desc(wd, wtag)
        if DNNL.equal(plain, wanted) { return w.storage }
        let out = Storage(for: wanted)
        if w.count <= SmallReorder.maximumCount, out.elementType == .f32,
           let offsets = SmallReorder.cachedOffsets("conv-weights \(pass) \(g)", wanted) {
            SmallReorder.scatter(w.storage.pointer, offsets, into: out.pointer, bytes: DNNL.size(wanted))
            return out
        }
        let r = try PrimitiveCache.get("conv-weights-to \(pass) \(g)") { try Primitive(reorderFrom: plain, to: wanted) }
        try r.execute([(Arg.src, plain, UnsafeMutableRawPointer(w.storage.pointer)), (Arg.dst, wanted, out.raw)])
        return out
    }

    static func forward(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ g: ConvGeometry) throws -> Tensor {
        let (p, precision) = try choose { try forwardPrimitive(g, bias: b != nil, $0) }
        let key = "\(g) \(b != nil)\(tag(precision))"
        let (srcMD, dstMD, wmd) = (p.md(dnnl_query_src_md), p.md(dnnl_query_dst_md), p.md(dnnl_query_weights_md))
        // The source is read again by the backward-weights pass when the weights (or bias) get a gradient.
        let keep = GradMode.isEnabled && (w.requiresGrad || (b?.requiresGrad ?? false))
        let src = try buffer(x, as: srcMD, "conv-fwd-src \(key)", keep: keep)
        let wbuf = try weights(w, for: wmd, g, pass: "fwd \(b != nil)\(tag(precision))")
        let dst = Storage(for: dstMD)
        var args: [(Int32, dnnl_memory_desc_t, UnsafeMutableRawPointer)] = [
            (Arg.src, srcMD, src.raw), (Arg.weights, wmd, wbuf.raw), (Arg.dst, dstMD, dst.raw),
        ]
        if let b { args.append((Arg.bias, DNNL.desc([g.cout], dnnl_x), b.storage.raw)) }
        try p.execute(args)
        return try withExtendedLifetime((src, wbuf)) { try tensor(dst, md: dstMD, shape: [g.n, g.cout, g.outH, g.outW], "conv-fwd-dst \(key)") }
    }

    static func backwardData(_ gy: Tensor, _ w: Tensor, _ g: ConvGeometry, like x: Tensor) throws -> Tensor {
        let (p, precision) = try choose { precision in
            try PrimitiveCache.get("conv-bwd-data \(g)\(tag(precision))") {
                let input: ElementType = precision == .bf16 ? .bf16 : .f32
                var s = setup(g, bias: false, src: .f32, dst: input, weights: input)
                var d = dnnl_convolution_desc_t()
                try DNNL.check(dnnl_dilated_convolution_backward_data_desc_init(
                    &d, dnnl_convolution_direct, &s.src, &s.weightsAny, &s.dst, s.strides, s.dilates, s.padding, s.padding),
                    "convolution backward data \(g)")
                return try backwardPrimitive(&d, g, bias: false, precision, what: "convolution backward data \(g)")
            }
        }
        let key = "\(g)\(tag(precision))"
        let (diffDstMD, diffSrcMD, wmd) = (p.md(dnnl_query_diff_dst_md), p.md(dnnl_query_diff_src_md), p.md(dnnl_query_weights_md))
        let diffDst = try buffer(gy, as: diffDstMD, "conv-bwd-data-diff-dst \(key)", keep: w.requiresGrad)
        let wbuf = try weights(w, for: wmd, g, pass: "bwd-data\(tag(precision))")
        let gx = Storage(for: diffSrcMD)
        try p.execute([(Arg.diffDst, diffDstMD, diffDst.raw), (Arg.weights, wmd, wbuf.raw), (Arg.diffSrc, diffSrcMD, gx.raw)])
        return try withExtendedLifetime((diffDst, wbuf)) { try tensor(gx, md: diffSrcMD, shape: x.shape, "conv-diff-src \(key)") }
    }

    static func backwardWeights(_ gy: Tensor, _ x: Tensor, _ g: ConvGeometry, bias: Bool) throws -> (Tensor, Tensor?) {
        let (p, precision) = try choose { precision in
            try PrimitiveCache.get("conv-bwd-weights \(g) bias \(bias)\(tag(precision))") {
                let input: ElementType = precision == .bf16 ? .bf16 : .f32
                var s = setup(g, bias: bias, src: input, dst: input, weights: .f32)
                var d = dnnl_convolution_desc_t()
                try DNNL.check(dnnl_dilated_convolution_backward_weights_desc_init(
                    &d, dnnl_convolution_direct, &s.src, &s.weightsAny, &s.bias, &s.dst, s.strides, s.dilates, s.padding, s.padding),
                    "convolution backward weights \(g)")
                return try backwardPrimitive(&d, g, bias: bias, precision, what: "convolution backward weights \(g)")
            }
        }
        let key = "\(g) \(bias)\(tag(precision))"
        let wmd = p.md(dnnl_query_diff_weights_md)
        let (srcMD, diffDstMD) = (p.md(dnnl_query_src_md), p.md(dnnl_query_diff_dst_md))
        let src = try buffer(x, as: srcMD, "conv-bwd-weights-src \(key)", keep: false)
        let diffDst = try buffer(gy, as: diffDstMD, "conv-bwd-weights-diff-dst \(key)", keep: false)
        let (wd, wtag) = weightDims(g)
        let plain = DNNL.desc(wd, wtag)
        let count = g.cout * (g.cin / g.groups) * g.kh * g.kw
        let blocked = DNNL.equal(plain, wmd) ? nil : Storage(for: wmd)
        let gw = Tensor(shape: [g.cout, g.cin / g.groups, g.kh, g.kw], storage: Storage(count: count))
        let gb = bias ? Tensor(shape: [g.cout], storage: Storage(count: g.cout)) : nil
        var args: [(Int32, dnnl_memory_desc_t, UnsafeMutableRawPointer)] = [
            (Arg.src, srcMD, src.raw), (Arg.diffDst, diffDstMD, diffDst.raw), (Arg.diffWeights, wmd, (blocked ?? gw.storage).raw),
        ]
        if let gb { args.append((Arg.diffBias, DNNL.desc([g.cout], dnnl_x), gb.storage.raw)) }
        try withExtendedLifetime((src, diffDst)) { try p.execute(args) }
        if let blocked, count <= SmallReorder.maximumCount, let offsets = SmallReorder.cachedOffsets("conv-diff-weights \(key)", wmd) {
            SmallReorder.gather(blocked.pointer, offsets, into: gw.storage.pointer)
        } else if let blocked {
            let r = try PrimitiveCache.get("conv-weights-from \(key)") { try Primitive(reorderFrom: wmd, to: plain) }
            try r.execute([(Arg.src, wmd, blocked.raw), (Arg.dst, plain, gw.storage.raw)])
        }
        return (gw, gb)
    }

    /// `t`'s values laid out (and typed) as `md`: its own buffer when they agree. `key` must name the
    /// pass and argument: each pass's primitive may want its own layout. With `keep` (a later pass reads
    /// `t` again: the source, the incoming gradient) the converted buffer is kept with `t`'s storage, so
    /// it is converted once when both passes want the same layout; a kept one is used in any case.
    private static func buffer(_ t: Tensor, as md: dnnl_memory_desc_t, _ key: String, keep: Bool) throws -> Storage {
        let own = DNNL.desc(of: t)
        if DNNL.equal(own, md) { return t.storage }
        let convert = {
            let out = Storage(for: md)
            let r = try PrimitiveCache.get("to \(key) \(t.layout)") { try Primitive(reorderFrom: own, to: md) }
            try r.execute([(Arg.src, own, t.storage.raw), (Arg.dst, md, out.raw)])
            return out
        }
        return keep ? try t.storage.copy(as: md, make: convert) : try t.storage.kept(as: md) ?? convert()
    }

    /// A tensor from an f32 buffer laid out as `md`: kept when that is one of the tensor layouts, else reordered to plain.
    /// Channels-last with one channel or one pixel holds its values in plain order, and is labelled plain, so that
    /// the kernels of plain operands take it (a spatial gate, a channel gate).
    private static func tensor(_ s: Storage, md: dnnl_memory_desc_t, shape: [Int], _ key: String) throws -> Tensor {
        for layout in [Layout.plain, .blocked, .channelsLast] where layout.admits(shape) {
            if DNNL.equal(md, DNNL.desc(shape, DNNL.tag(of: layout, rank: 4))) {
                let plainOrder = layout == .channelsLast && (shape[1] == 1 || shape[2] * shape[3] == 1)
                return Tensor(shape: shape, layout: plainOrder ? .plain : layout, storage: s)
            }
        }
        let plain = DNNL.desc(shape, dnnl_nchw)
        let out = Tensor(shape: shape, storage: Storage(count: shape.reduce(1, *)))
        let r = try PrimitiveCache.get("from \(key)") { try Primitive(reorderFrom: md, to: plain) }
        try r.execute([(Arg.src, md, s.raw), (Arg.dst, plain, out.storage.raw)])
        return out
    }
}
