import Foundation
import Testing
@testable import Tensors

/// Why a bf16 test does not run on this CPU.
let bf16Skip: Comment = "needs AMX / avx512_core_bf16 (oneDNN bf16 convolutions); this CPU: \(Engine.cpuISA)"

/// The CPU's instruction set as oneDNN reports it, the `auto` rule, and the error on CPUs without bf16.
@Suite struct EngineTests {
    /// oneDNN's answer agrees with the kernel's list of CPU flags.
    @Test func isaComesFromOneDNNAndAgreesWithTheCPUFlags() throws {
        #expect(Engine.cpuISA != .other)
        #expect(Engine.version.hasPrefix("2."))
        guard ProcessInfo.processInfo.environment["ONEDNN_MAX_CPU_ISA"] == nil,
              let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return }
        let flags = Set(line.split(separator: " ").map(String.init))
        if flags.contains("amx_bf16") {
            #expect(Engine.cpuISA == .avx512CoreAMX)
        } else if flags.contains("avx2") && !flags.contains("avx512f") {
            #expect([.avx2, .avx2VNNI].contains(Engine.cpuISA), "\(Engine.cpuISA)")
        }
        #expect(Engine.supportsBF16Fast == flags.contains("amx_bf16"))
    }

    /// `auto` picks bf16 only where the CPU has AMX: with AVX512-BF16 alone bf16 convolutions are no faster.
    @Test func autoResolvesToBF16OnlyWithAMX() throws {
        #expect(Engine.resolve(.auto) == (Engine.cpuISA == .avx512CoreAMX ? .bf16 : .f32))
        #expect(Engine.resolve(.f32) == .f32 && Engine.resolve(.bf16) == .bf16)
        #expect(Engine.precision == .f32, "the library's default is f32")
        try Engine.with(precision: .auto) { #expect(Engine.precision == Engine.resolve(.auto)) }
        try Engine.with(precision: .f32) { #expect(Engine.precision == .f32) }
        #expect(Engine.precision == .f32)
    }

    /// On this machine `auto` is f32, and every result is the f32 one bit for bit.
    @Test(.enabled(if: !Engine.supportsBF16Fast, "this CPU has AMX, where auto means bf16"))
    func autoIsF32BitForBitWithoutAMX() throws {
        let x = randn([2, 16, 9, 7], seed: 1), w = randn([16, 16, 3, 3], seed: 2, scale: 0.1)
        let plain = try conv2d(x, weight: w, padding: 1).values
        let auto = try Engine.with(precision: .auto) { try conv2d(x, weight: w, padding: 1).values }
        #expect(auto == plain)
    }

    @Test(.enabled(if: !Engine.supportsBF16, "oneDNN has bf16 convolutions on this CPU"))
    func forcingBF16WithoutSupportIsAClearError() throws {
        do {
            try Engine.with(precision: .bf16) { Issue.record("the body ran"); return }
            Issue.record("no error")
        } catch let error as TensorError {
            #expect(error.message.contains("bf16") && error.message.contains("(\(Engine.cpuISA))"), "\(error.message)")
            #expect(error.message.contains("AMX or avx512_core_bf16"), "\(error.message)")
        }
        #expect(throws: TensorError.self) { try Engine.setPrecision(.bf16) }
        #expect(Engine.precision == .f32)
    }

    /// The conversion to bf16 rounds to nearest, ties to even, on the calling thread and in oneDNN's reorder
    /// (which exists on every CPU), and its relative error is at most 2^-8.
    @Test func bf16ConversionRoundsToNearestEven() throws {
        #expect(BFloat16.bits(1) == 0x3F80 && BFloat16.float(0x3F80) == 1)
        #expect(BFloat16.bits(Float(bitPattern: 0x3F80_8000)) == 0x3F80, "a tie rounds to the even neighbour")
        #expect(BFloat16.bits(Float(bitPattern: 0x3F81_8000)) == 0x3F82, "a tie rounds to the even neighbour")
        #expect(BFloat16.bits(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        let n = Kernels.parallelThreshold + 37
        let x = randn([n], seed: 3, scale: 100)
        var values = x.values
        values[0] = Float(bitPattern: 0x3F80_8000); values[1] = Float(bitPattern: 0x4040_8000); values[2] = 0; values[3] = -1e-30
        let t = Tensor(shape: [n], values: values)
        let viaDNNL = try DNNL.converted(t.storage, to: .bf16)
        let small = Tensor(shape: [1000], values: Array(values.prefix(1000)))
        let viaLoop = try DNNL.converted(small.storage, to: .bf16)
        let dnnlBits = Array(UnsafeBufferPointer(start: viaDNNL.bf16Pointer, count: n))
        #expect(Array(dnnlBits.prefix(1000)) == Array(UnsafeBufferPointer(start: viaLoop.bf16Pointer, count: 1000)))
        #expect(dnnlBits == values.map(BFloat16.bits))
        let back = try DNNL.converted(viaDNNL, to: .f32)
        for (i, v) in values.enumerated() where v != 0 {
            let r = back.pointer[i]
            guard Swift.abs(r - v) <= Swift.abs(v) * 0x1p-8 else { Issue.record("entry \(i): \(v) became \(r)"); break }
        }
    }
}

/// Every bf16 primitive against the f32 reference kernels.
///
/// Tolerance, derived from bf16's precision: bf16 keeps 8 significant bits (7 stored), so rounding an
/// f32 input to the nearest bf16 changes it by a relative error of at most u = 2^-8. A product of two
/// rounded inputs is then off by at most (1 + u)^2 - 1 = 2u + u^2 relative to the exact product, and
/// oneDNN accumulates the products in f32, so a sum over a reduction of length K is off by at most
/// (2u + u^2) S + K 2^-24 S, where S is the same sum over the absolute values of the terms. The f32
/// reference has its own accumulation error of at most K 2^-24 S. Hence
///     |bf16 - f32| <= (2u + u^2 + 2 K 2^-24) S,
/// checked element by element, with S computed exactly as the same operation on |inputs| (and on the
/// absolute upstream gradient for the backward passes, whose inputs are rounded too). The outputs and
/// weight gradients are f32, so no output rounding is added. A bound, not a typical error: the typical
/// error is about sqrt(K) u times the typical term, far inside it; a wrong conversion (a
/// truncated mantissa, a lost scale) or an f32/bf16 mix-up breaks it.
@Suite(.enabled(if: Engine.supportsBF16, bf16Skip)) struct BF16PrimitiveTests {
    /// Compares `f` and its input gradients under bf16 on the fast path with the f32 reference kernels;
    /// `k` is the longest reduction of the forward and backward passes.
    func check(_ inputs: [Tensor], reduction k: Int, _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
               _ f: ([Tensor]) throws -> Tensor) throws {
        let upstream = randn(try Kernel.with(.reference) { try f(inputs) }.shape, seed: 77).detached()
        func run(_ xs: [Tensor], _ w: Tensor) throws -> [[Float]] {
            let y = try f(xs)
            return [y.values] + (try gradients(of: (y * w).sum(), with: xs)).map(\.values)
        }
        let reference = try Kernel.with(.reference) { try run(inputs, upstream) }
        let magnitude = try Kernel.with(.reference) {
            try run(inputs.map { try abs($0.detached()).requiringGrad() }, try abs(upstream))
        }
        let bf16 = try Engine.with(precision: .bf16) { try run(inputs, upstream) }
        let u: Float = 0x1p-8
        let factor = 2 * u + u * u + 2 * Float(k) * 0x1p-24
        let names = ["output"] + inputs.indices.map { "gradient \($0)" }
        for (i, name) in names.enumerated() {
            var worst: (index: Int, excess: Float)?
            for j in reference[i].indices {
                let excess = Swift.abs(bf16[i][j] - reference[i][j]) - (factor * magnitude[i][j] + 1e-7)
                if excess > 0 || excess.isNaN, excess > (worst?.excess ?? 0) || excess.isNaN { worst = (j, excess.isNaN ? .infinity : excess) }
            }
            if let worst {
                Issue.record("\(what) \(name): entry \(worst.index) is \(bf16[i][worst.index]), f32 \(reference[i][worst.index]), bound \(factor * magnitude[i][worst.index])",
                             sourceLocation: sourceLocation)
            }
        }
    }

    @Test func convolutionsOnNetworkShapes() throws {
        let x = randn([2, 64, 12, 10], seed: 1), w = randn([64, 64, 3, 3], seed: 2, scale: 0.05), b = randn([64], seed: 3)
        try check([x, w, b], reduction: 64 * 9, "conv 64->64") { try conv2d($0[0], weight: $0[1], bias: $0[2], padding: 1) }
        let img = randn([2, 3, 12, 10], seed: 4), head = randn([64, 3, 3, 3], seed: 5, scale: 0.2)
        try check([img, head], reduction: 64 * 9, "conv 3->64") { try conv2d($0[0], weight: $0[1], padding: 1) }
        let tail = randn([48, 64, 3, 3], seed: 6, scale: 0.05)
        try check([x, tail], reduction: 64 * 9, "conv 64->48") { try conv2d($0[0], weight: $0[1], padding: 1) }
        let odd = randn([1, 5, 7, 9], seed: 7), oddW = randn([6, 5, 5, 3], seed: 8, scale: 0.2)
        try check([odd, oddW], reduction: 6 * 5 * 3, "odd conv stride 2") { try conv2d($0[0], weight: $0[1], stride: 2, padding: 1) }
        let dw = randn([16, 1, 3, 3], seed: 9, scale: 0.3), x16 = randn([1, 16, 9, 7], seed: 10)
        try check([x16, dw], reduction: 9 * 7, "depthwise") { try conv2d($0[0], weight: $0[1], padding: 2, dilation: 2, groups: 16) }
        let big = randn([4, 64, 24, 24], seed: 11)
        try check([big, w, b], reduction: 4 * 24 * 24, "conv 64->64, 4x24x24, blocked input") {
            try conv2d($0[0].inLayout(.blocked), weight: $0[1], bias: $0[2], padding: 1)
        }
        try check([big, w, b], reduction: 4 * 24 * 24, "conv 64->64, 4x24x24, channels-last input") {
            try conv2d($0[0].inLayout(.channelsLast), weight: $0[1], bias: $0[2], padding: 1)
        }
    }

    /// bf16 convolutions write channels-last activations (the layout of oneDNN's AMX kernels), so
    /// the next convolution converts without a transpose; f32 ones keep the blocked layout.
    @Test func bf16ActivationsAreChannelsLast() throws {
        let x = randn([2, 16, 12, 10], seed: 1), w = randn([16, 16, 3, 3], seed: 2, scale: 0.1)
        #expect(try Engine.with(precision: .bf16) { try conv2d(x, weight: w, padding: 1) }.layout == .channelsLast)
        #expect(try conv2d(x, weight: w, padding: 1).layout == .blocked)
        // One output channel (a spatial gate) is the same bytes channels-last and plain, and is labelled plain,
        // so the elementwise kernels of plain gates take it; its values are the f32 convolution's within bf16 rounding.
        let gateWeight = randn([1, 16, 3, 3], seed: 3, scale: 0.1)
        let gate = try Engine.with(precision: .bf16) { try conv2d(x, weight: gateWeight, padding: 1) }
        #expect(gate.layout == .plain)
        _ = close(gate.values, try conv2d(x, weight: gateWeight, padding: 1).values, rtol: 0, atol: 0.08, "one-channel bf16 convolution")
    }

    @Test func matrixProducts() throws {
        let a = randn([3, 4, 16, 8], seed: 14), b = randn([3, 4, 8, 16], seed: 15), w = randn([8, 24], seed: 16)
        try check([a, b], reduction: 16, "batched matmul") { try matmul($0[0], $0[1]) }
        try check([a, w], reduction: 3 * 4 * 16, "shared matmul") { try matmul($0[0], $0[1]) }
    }

    /// Outside `Engine.with(precision: .bf16)` the same convolution is f32 again, bit for bit.
    @Test func precisionIsScoped() throws {
        let x = randn([2, 16, 9, 7], seed: 1), w = randn([16, 16, 3, 3], seed: 2, scale: 0.1)
        let before = try conv2d(x, weight: w, padding: 1).values
        let inside = try Engine.with(precision: .bf16) { try conv2d(x, weight: w, padding: 1).values }
        #expect(inside != before)
        #expect(try conv2d(x, weight: w, padding: 1).values == before)
    }
}
