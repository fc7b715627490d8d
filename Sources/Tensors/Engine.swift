import CDNNL
import Foundation

/// The instruction set oneDNN dispatches its kernels to on this CPU, as `dnnl_get_effective_cpu_isa`
/// reports it (the best level the CPU and the OS support, or a lower one set by `ONEDNN_MAX_CPU_ISA`).
public enum CPUISA: String, Sendable, CustomStringConvertible {
    case sse41, avx, avx2
    case avx2VNNI = "avx2_vnni"
    case avx512Core = "avx512_core"
    case avx512CoreVNNI = "avx512_core_vnni"
    case avx512CoreBF16 = "avx512_core_bf16"
    /// AVX-512 with AMX tiles (bf16 and int8): oneDNN runs bf16 convolutions on them.
    case avx512CoreAMX = "avx512_core_amx"
    /// A level this table does not name.
    case other

    init(_ isa: dnnl_cpu_isa_t) {
        switch isa {
        case dnnl_cpu_isa_sse41: self = .sse41
        case dnnl_cpu_isa_avx: self = .avx
        case dnnl_cpu_isa_avx2: self = .avx2
        case dnnl_cpu_isa_avx2_vnni: self = .avx2VNNI
        case dnnl_cpu_isa_avx512_core: self = .avx512Core
        case dnnl_cpu_isa_avx512_core_vnni: self = .avx512CoreVNNI
        case dnnl_cpu_isa_avx512_core_bf16: self = .avx512CoreBF16
        case dnnl_cpu_isa_avx512_core_amx: self = .avx512CoreAMX
        default: self = .other
        }
    }

    /// oneDNN's name of the level, e.g. `avx2`, `avx512_core_amx`.
    public var description: String { rawValue }
}

/// Facts about the compute engine (oneDNN on this CPU) and the settings that apply to all tensors.
public enum Engine {
    /// The instruction set oneDNN uses here.
    public static let cpuISA = CPUISA(dnnl_get_effective_cpu_isa())

    /// oneDNN's version, e.g. `2.6.3`.
    public static var version: String {
        let v = dnnl_version().pointee
        return "\(v.major).\(v.minor).\(v.patch)"
    }

    /// Whether bf16 is worth it here: the CPU has AMX, on which oneDNN's bf16 convolutions run 2.7-4.5x
    /// faster than f32 (measured; with AVX512-BF16 alone they are no faster). This is `auto`'s rule.
    public static var supportsBF16Fast: Bool { cpuISA == .avx512CoreAMX }

    /// Whether oneDNN can create bf16 convolutions on this CPU at all (it cannot below AVX-512).
    public static let supportsBF16: Bool = {
        let g = ConvGeometry(n: 1, cin: 16, h: 8, w: 8, cout: 16, kh: 3, kw: 3, stride: 1, padding: 1, dilation: 1, groups: 1)
        return (try? DNNLConv.forwardPrimitive(g, bias: false, .bf16)) != nil
    }()
}

/// The arithmetic precision of convolutions and matrix products on the fast path.
///
/// - `f32`: everything in f32 (the default of the library).
/// - `bf16`: mixed precision. Convolution and matrix-product inputs (activations, weights, incoming
///   gradients) are rounded to bf16 for oneDNN, which accumulates in f32 and writes f32 outputs and
///   f32 weight gradients; weights stay f32 (the optimizer's master copy), and elementwise operations,
///   norms, losses and optimizers run in f32. Needs a CPU where oneDNN has bf16 convolutions.
/// - `auto`: `bf16` where the CPU has AMX (`Engine.supportsBF16Fast`), `f32` elsewhere.
///
/// The reference path (`Kernel.with(.reference)`) is f32 whatever the precision.
public enum Precision: String, Sendable, CaseIterable, CustomStringConvertible {
    case f32, bf16, auto

    public var description: String { rawValue }
}

extension Engine {
    private static let key = "savl.Tensors.Engine.precision"
    nonisolated(unsafe) private static var processPrecision = Precision.f32
    private static let lock = NSLock()

    /// `f32` or `bf16`: what `precision` means on this CPU (`auto` to `bf16` only where the CPU has AMX).
    public static func resolve(_ precision: Precision) -> Precision {
        precision == .auto ? (supportsBF16Fast ? .bf16 : .f32) : precision
    }

    /// The precision in effect on this thread, resolved (`f32` or `bf16`): the innermost
    /// `with(precision:)` around the caller, else the process's (`setPrecision`, `f32` by default).
    public static var precision: Precision {
        if let p = Thread.current.threadDictionary[key] as? Precision { return p }
        lock.lock(); defer { lock.unlock() }
        return processPrecision
    }

    /// Sets the precision of every thread outside `with(precision:)` (for a command-line tool).
    ///
    /// Throws, naming this CPU's instruction set, when `precision` resolves to `bf16` and oneDNN
    /// cannot create bf16 convolutions here.
    public static func setPrecision(_ precision: Precision) throws {
        let resolved = try checked(precision)
        lock.lock(); defer { lock.unlock() }
        processPrecision = resolved
    }

    /// Runs `body` with `precision` in effect on this thread, then restores the previous one.
    ///
    /// ```swift
    /// let y = try Engine.with(precision: .auto) { try model(x) }   // bf16 on AMX, f32 elsewhere
    /// ```
    /// Throws before running `body` when `precision` resolves to `bf16` on a CPU without bf16 convolutions.
    public static func with<T>(precision: Precision, _ body: () throws -> T) throws -> T {
        let resolved = try checked(precision)
        let dict = Thread.current.threadDictionary
        let previous = dict[key]
        dict[key] = resolved
        defer { dict[key] = previous }
        return try body()
    }

    private static func checked(_ precision: Precision) throws -> Precision {
        let resolved = resolve(precision)
        if resolved == .bf16 && !supportsBF16 {
            throw TensorError("precision bf16: oneDNN \(version) cannot create bf16 convolutions on this CPU (\(cpuISA)); "
                + "bf16 needs AMX or avx512_core_bf16. Use f32, or auto (bf16 only where the CPU has AMX)")
        }
        return resolved
    }
}
