import CDNNL
import Foundation

extension Layout {
    /// Channels per block of the blocked layout: 16 where oneDNN runs AVX-512 kernels, else 8.
    /// `SAVL_BLOCK=8` or `16` overrides it (for benchmarks).
    public static let blockSize: Int = {
        if let forced = ProcessInfo.processInfo.environment["SAVL_BLOCK"], let n = Int(forced), n == 8 || n == 16 { return n }
        let avx512 = dnnl_cpu_isa_avx512_core.rawValue
        return dnnl_get_effective_cpu_isa().rawValue & avx512 == avx512 ? 16 : 8
    }()

    static var blockedTag: dnnl_format_tag_t { blockSize == 16 ? dnnl_nChw16c : dnnl_nChw8c }
}

/// A thin layer over oneDNN's C API: one CPU engine and stream, memory descriptors, cached primitives.
enum DNNL {
    static let engine: dnnl_engine_t = {
        var e: dnnl_engine_t?
        precondition(dnnl_engine_create(&e, dnnl_cpu, 0) == dnnl_success && e != nil, "oneDNN: no CPU engine")
        return e!
    }()

    /// A stream per thread: oneDNN streams are not meant to be shared by threads executing at once.
    static var stream: dnnl_stream_t {
        let key = "savl.Tensors.DNNL.stream"
        if let box = Thread.current.threadDictionary[key] as? StreamBox { return box.stream }
        let box = StreamBox()
        Thread.current.threadDictionary[key] = box
        return box.stream
    }

    private final class StreamBox {
        let stream: dnnl_stream_t
        init() {
            var s: dnnl_stream_t?
            precondition(dnnl_stream_create(&s, DNNL.engine, dnnl_stream_default_flags.rawValue) == dnnl_success && s != nil, "oneDNN: no stream")
            stream = s!
        }
        deinit { dnnl_stream_destroy(stream) }
    }

    static func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) throws {
        guard status == dnnl_success else { throw TensorError("oneDNN \(what()) failed with status \(status.rawValue)") }
    }

    /// A memory descriptor for dims with a format tag (`dnnl_format_tag_any` lets the primitive choose).
    static func desc(_ dims: [Int], _ tag: dnnl_format_tag_t, _ type: ElementType = .f32) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let d = dims.map(Int64.init) + [Int64](repeating: 0, count: 12 - dims.count)
        let status = dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), d, type.dnnl, tag)
        precondition(status == dnnl_success, "oneDNN memory descriptor for \(dims) failed")
        return md
    }

    /// The plain (row-major) format tag for a rank.
    static func plainTag(_ rank: Int) -> dnnl_format_tag_t {
        [dnnl_a, dnnl_a, dnnl_ab, dnnl_abc, dnnl_abcd, dnnl_abcde, dnnl_abcdef][rank]
    }

    /// The descriptor of a tensor's memory as it is laid out.
    static func desc(of t: Tensor) -> dnnl_memory_desc_t {
        let dims = t.shape.isEmpty ? [1] : t.shape
        return desc(dims, tag(of: t.layout, rank: dims.count))
    }

    /// The format tag of a layout at a rank (blocked and channels-last are 4-D).
    static func tag(of layout: Layout, rank: Int) -> dnnl_format_tag_t {
        switch layout {
        case .plain: plainTag(rank)
        case .blocked: Layout.blockedTag
        case .channelsLast: dnnl_nhwc
        }
    }

    /// Dims padded to oneDNN's fixed-size array.
    static func dims(_ t: [Int]) -> [Int64] {
        t.map(Int64.init) + [Int64](repeating: 0, count: 12 - t.count)
    }

    static func equal(_ a: dnnl_memory_desc_t, _ b: dnnl_memory_desc_t) -> Bool {
        var a = a, b = b
        return dnnl_memory_desc_equal(&a, &b) != 0
    }

    static func size(_ md: dnnl_memory_desc_t) -> Int {
        var md = md
        return dnnl_memory_desc_get_size(&md)
    }

    /// The elements of `s` converted to `type` in the same order (`s` itself when it has that type):
    /// on the calling thread below `Kernels.parallelThreshold` elements, else by a oneDNN reorder.
    /// Both round to nearest, ties to even.
    static func converted(_ s: Storage, to type: ElementType) throws -> Storage {
        if s.elementType == type { return s }
        let out = Storage(count: s.count, of: type)
        if s.count < Kernels.parallelThreshold {
            if type == .bf16 {
                let src = s.pointer, dst = out.bf16Pointer
                for i in 0..<s.count { dst[i] = BFloat16.bits(src[i]) }
            } else {
                let src = s.bf16Pointer, dst = out.pointer
                for i in 0..<s.count { dst[i] = BFloat16.float(src[i]) }
            }
            return out
        }
        let from = desc([s.count], dnnl_a, s.elementType), to = desc([s.count], dnnl_a, type)
        let r = try PrimitiveCache.get("convert \(s.count) \(s.elementType) to \(type)") { try Primitive(reorderFrom: from, to: to) }
        try r.execute([(Arg.src, from, s.raw), (Arg.dst, to, out.raw)])
        return out
    }

    /// The element type of a descriptor's data (f32 unless bf16).
    static func elementType(_ md: dnnl_memory_desc_t) -> ElementType { md.data_type == dnnl_bf16 ? .bf16 : .f32 }
}

extension ElementType {
    /// oneDNN's data type.
    var dnnl: dnnl_data_type_t { self == .f32 ? dnnl_f32 : dnnl_bf16 }
}

extension Storage {
    /// A buffer for the memory `md` describes (its size and element type), contents undefined.
    convenience init(for md: dnnl_memory_desc_t) {
        let type = DNNL.elementType(md)
        self.init(count: (DNNL.size(md) + type.size - 1) / type.size, of: type)
    }
}

/// A created oneDNN primitive with its descriptor; created once per shape and reused.
final class Primitive: @unchecked Sendable {
    let pd: dnnl_primitive_desc_t
    let primitive: dnnl_primitive_t

    /// Creates a primitive from an operation descriptor (`hint` is the forward descriptor for backward passes).
    init(op: UnsafeRawPointer, hint: Primitive? = nil, what: String) throws {
        var pd: dnnl_primitive_desc_t?
        let attr = try Primitive.userScratchpad()
        defer { dnnl_primitive_attr_destroy(attr) }
        try DNNL.check(dnnl_primitive_desc_create(&pd, op, attr, DNNL.engine, hint?.pd), "\(what) descriptor")
        var p: dnnl_primitive_t?
        try DNNL.check(dnnl_primitive_create(&p, pd), "\(what) creation")
        self.pd = pd!
        primitive = p!
    }

    /// A reorder between two memory layouts.
    init(reorderFrom src: dnnl_memory_desc_t, to dst: dnnl_memory_desc_t) throws {
        var s = src, d = dst
        var pd: dnnl_primitive_desc_t?
        let attr = try Primitive.userScratchpad()
        defer { dnnl_primitive_attr_destroy(attr) }
        try DNNL.check(dnnl_reorder_primitive_desc_create(&pd, &s, DNNL.engine, &d, DNNL.engine, attr), "reorder descriptor")
        var p: dnnl_primitive_t?
        try DNNL.check(dnnl_primitive_create(&p, pd), "reorder creation")
        self.pd = pd!
        primitive = p!
    }

    /// Attributes asking for a scratchpad passed at execution: the library's shared scratchpad
    /// is not safe when threads execute primitives at once.
    private static func userScratchpad() throws -> dnnl_primitive_attr_t {
        var attr: dnnl_primitive_attr_t?
        try DNNL.check(dnnl_primitive_attr_create(&attr), "attribute creation")
        try DNNL.check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad mode")
        return attr!
    }

    /// oneDNN's name of the implementation it picked (e.g. `jit:avx512_core`, `ref:any`).
    var implementation: String {
        var name: UnsafePointer<CChar>?
        guard dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) == dnnl_success, let name else { return "" }
        return String(cString: name)
    }

    /// The memory descriptor the primitive wants for an argument kind (e.g. `dnnl_query_weights_md`).
    func md(_ query: dnnl_query_t, _ index: Int32 = 0) -> dnnl_memory_desc_t {
        dnnl_primitive_desc_query_md(pd, query, index).pointee
    }

    /// Runs the primitive on raw buffers described by their descriptors.
    func execute(_ args: [(Int32, dnnl_memory_desc_t, UnsafeMutableRawPointer)]) throws {
        var args = args
        let scratchpadMD = md(dnnl_query_scratchpad_md)
        let scratchpadBytes = DNNL.size(scratchpadMD)
        let scratchpad = scratchpadBytes > 0 ? Storage(count: (scratchpadBytes + 3) / 4) : nil
        if let scratchpad { args.append((Arg.scratchpad, scratchpadMD, UnsafeMutableRawPointer(scratchpad.pointer))) }
        defer { withExtendedLifetime(scratchpad) {} }
        var mems: [dnnl_exec_arg_t] = []
        defer { for m in mems { dnnl_memory_destroy(m.memory) } }
        for (arg, md, ptr) in args {
            var md = md
            var m: dnnl_memory_t?
            try DNNL.check(dnnl_memory_create(&m, &md, DNNL.engine, ptr), "memory creation")
            mems.append(dnnl_exec_arg_t(arg: arg, memory: m))
        }
        let stream = DNNL.stream
        try DNNL.check(dnnl_primitive_execute(primitive, stream, Int32(mems.count), mems), "execution")
        try DNNL.check(dnnl_stream_wait(stream), "stream wait")
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(pd)
    }
}

/// Primitives by a key describing their shapes and settings; creating one JIT-compiles it.
/// A failed creation is remembered too, so a fallback path is not retried at full cost every call.
enum PrimitiveCache {
    nonisolated(unsafe) private static var cache: [String: Result<Primitive, Error>] = [:]
    private static let lock = NSLock()

    static func get(_ key: String, _ make: () throws -> Primitive) throws -> Primitive {
        lock.lock()
        if let p = cache[key] { lock.unlock(); return try p.get() }
        lock.unlock()
        let p = Result { try make() }
        lock.lock(); cache[key] = p; lock.unlock()
        return try p.get()
    }
}

/// Argument indices of oneDNN's execute call.
enum Arg {
    static let src: Int32 = 1, src1: Int32 = 2, dst: Int32 = 17, weights: Int32 = 33, bias: Int32 = 41
    static let mean: Int32 = 49, variance: Int32 = 50, scale: Int32 = 51, shift: Int32 = 52
    static let diffSrc: Int32 = 129, diffDst: Int32 = 145, diffWeights: Int32 = 161, diffBias: Int32 = 169
    static let diffScale: Int32 = 255, diffShift: Int32 = 256, scratchpad: Int32 = 80
}
