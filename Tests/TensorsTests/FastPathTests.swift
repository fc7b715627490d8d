import Testing
@testable import Tensors

/// The oneDNN path against the reference kernels, on the shapes the SR networks use.
@Suite struct FastPathTests {
    @Test func convolutionsOnNetworkShapes() throws {
        let x = randn([2, 64, 12, 10], seed: 1), w = randn([64, 64, 3, 3], seed: 2, scale: 0.05), b = randn([64], seed: 3)
        try checkFastMatchesReference([x, w, b], rtol: 1e-3, atol: 1e-3, "conv 64->64") { try conv2d($0[0], weight: $0[1], bias: $0[2], padding: 1) }
        let img = randn([2, 3, 12, 10], seed: 4), head = randn([64, 3, 3, 3], seed: 5, scale: 0.2)
        try checkFastMatchesReference([img, head], rtol: 1e-3, atol: 1e-3, "conv 3->64") { try conv2d($0[0], weight: $0[1], padding: 1) }
        let tail = randn([48, 64, 3, 3], seed: 6, scale: 0.05)
        try checkFastMatchesReference([x, tail], rtol: 1e-3, atol: 1e-3, "conv 64->48") { try conv2d($0[0], weight: $0[1], padding: 1) }
        let odd = randn([1, 5, 7, 9], seed: 7), oddW = randn([6, 5, 5, 3], seed: 8, scale: 0.2)
        try checkFastMatchesReference([odd, oddW], rtol: 1e-3, atol: 1e-3, "odd conv stride 2") { try conv2d($0[0], weight: $0[1], stride: 2, padding: 1) }
        let dw = randn([16, 1, 3, 3], seed: 9, scale: 0.3), x16 = randn([1, 16, 9, 7], seed: 10)
        try checkFastMatchesReference([x16, dw], rtol: 1e-3, atol: 1e-3, "depthwise") { try conv2d($0[0], weight: $0[1], padding: 2, dilation: 2, groups: 16) }
    }

    /// Large enough (over `Kernels.parallelThreshold` values) for elementwise work to go to oneDNN.
    @Test(arguments: [Layout.blocked, .channelsLast])
    func elementwiseOnLaidOutAndPlainTensors(_ layout: Layout) throws {
        let x = randn([2, 16, 48, 48], seed: 11)
        #expect(Kernels.useDNNL(x.count))
        for (name, f) in [("relu", relu), ("gelu", gelu), ("sigmoid", sigmoid), ("tanh", tanh), ("softplus", softplus), ("exp", exp)] as [(String, (Tensor) throws -> Tensor)] {
            try checkFastMatchesReference([x], name) { try f($0[0]) }
            try checkFastMatchesReference([x], "\(name) \(layout)") { try f($0[0].inLayout(layout)) }
        }
        try checkFastMatchesReference([x], "leakyRelu") { try leakyRelu($0[0], slope: 0.2) }
        let y = randn([2, 16, 48, 48], seed: 12), gate = randn([2, 16, 1, 1], seed: 13), spatial = randn([2, 1, 48, 48], seed: 30)
        try checkFastMatchesReference([x, y], "add \(layout) + plain") { try $0[0].inLayout(layout) + $0[1] }
        try checkFastMatchesReference([x, y], "add plain + \(layout)") { try $0[0] + $0[1].inLayout(layout) }
        try checkFastMatchesReference([x, gate], "mul by channel gate, \(layout)") { try $0[0].inLayout(layout) * $0[1] }
        try checkFastMatchesReference([x, gate], "div by channel gate") { try $0[0] / ($0[1] * $0[1] + 1) }
        try checkFastMatchesReference([x, spatial], "mul by spatial gate, \(layout)") { try $0[0].inLayout(layout) * $0[1] }
        try checkFastMatchesReference([x, spatial], "div by spatial gate, \(layout)") { try $0[0].inLayout(layout) / ($0[1] * $0[1] + 1) }
        try checkFastMatchesReference([x], "channel mean, \(layout)") { try $0[0].inLayout(layout).mean(axes: [1], keepDims: true) }
        try checkFastMatchesReference([x], "pixel shuffle, \(layout)") { try pixelShuffle($0[0].inLayout(layout), 2) }
        // The layout kernels against plain operands on the reference path, which no laid-out tensor reaches
        // (the reference path of the checks above runs the same layout kernels after its reorders), and
        // with a gate that is itself laid out.
        let expected = try Kernel.with(.reference) {
            [try x * spatial, try x / (spatial * spatial + 1), try x * gate, try x.mean(axes: [1], keepDims: true)].map(\.values)
        }
        let laid = try x.inLayout(layout)
        let got = [try laid * spatial, try laid / (spatial * spatial + 1), try laid * gate.inLayout(layout),
                   try laid.mean(axes: [1], keepDims: true)].map(\.values)
        for (k, name) in ["spatial gate", "spatial divide", "laid-out channel gate", "channel mean"].enumerated() {
            _ = close(got[k], expected[k], rtol: 1e-5, atol: 1e-5, "\(name), \(layout) against plain reference")
        }
        let gateLaid = try spatial.inLayout(.channelsLast)
        _ = close(try (laid * gateLaid).values, expected[0], rtol: 1e-5, atol: 1e-5, "spatial gate laid out channels-last, \(layout)")
    }

    /// Every layout to every other and back keeps the values, on both paths, small (Swift loops) and
    /// large (oneDNN reorders); channels-last takes any channel count, blocked only multiples of the block.
    @Test func layoutsRoundTrip() throws {
        let layouts: [Layout] = [.plain, .blocked, .channelsLast]
        for shape in [[2, 16, 5, 3], [2, 16, 48, 48]] {
            let x = randn(shape, seed: 21)
            for path in [KernelPath.fast, .reference] {
                for a in layouts {
                    for b in layouts {
                        let there = try Kernel.with(path) { try x.inLayout(a).inLayout(b) }
                        #expect(there.layout == b)
                        #expect(try Kernel.with(path) { try there.inLayout(.plain) }.values == x.values, "\(path) \(shape) \(a) -> \(b)")
                    }
                }
            }
        }
        let odd = randn([2, 3, 4, 5], seed: 22)
        #expect(try odd.inLayout(.channelsLast).values == odd.values)
        #expect(throws: TensorError.self) { try odd.inLayout(.blocked) }
        #expect(throws: TensorError.self) { try randn([3, 4], seed: 23).inLayout(.channelsLast) }
    }

    /// A convolution keeps its input's conversion (to the blocked layout, or to bf16) with the input's
    /// storage; an in-place update of that input must drop it, or the next convolution reads old values.
    @Test func aConvolutionSeesAnInputUpdatedInPlace() throws {
        let x = randn([1, 16, 8, 8], seed: 24), y = randn([1, 16, 8, 8], seed: 25), w = randn([16, 16, 3, 3], seed: 26, scale: 0.1)
        let precisions: [Precision] = Engine.supportsBF16 ? [.f32, .bf16] : [.f32]
        for precision in precisions {
            try Engine.with(precision: precision) {
                let leaf = try x.detached().inLayout(.plain)
                _ = try conv2d(leaf, weight: w, padding: 1)
                for update in ["assign", "blend", "scale", "updateInPlace"] {
                    switch update {
                    case "assign": try leaf.assign(y)
                    case "blend": try leaf.blend(toward: x, decay: 0.5)
                    case "scale": leaf.scale(by: -2)
                    default: try leaf.updateInPlace(with: []) { p, _ in for i in p.indices { p[i] += 1 } }
                    }
                    let fresh = Tensor(shape: leaf.shape, values: leaf.values)
                    #expect(try conv2d(leaf, weight: w, padding: 1).values == conv2d(fresh, weight: w, padding: 1).values, "\(precision) after \(update)")
                }
            }
        }
    }

    @Test func matmulSoftmaxLayerNorm() throws {
        let a = randn([3, 4, 16, 8], seed: 14), b = randn([3, 4, 8, 16], seed: 15), w = randn([8, 24], seed: 16)
        try checkFastMatchesReference([a, b], "batched matmul") { try matmul($0[0], $0[1]) }
        try checkFastMatchesReference([a, w], "shared matmul") { try matmul($0[0], $0[1]) }
        try checkFastMatchesReference([a], "softmax last") { try softmax($0[0], axis: -1) }
        try checkFastMatchesReference([a], "softmax axis 1") { try softmax($0[0], axis: 1) }
        let lw = randn([8], seed: 17, offset: 1), lb = randn([8], seed: 18)
        try checkFastMatchesReference([a, lw, lb], "layerNorm") { try layerNorm($0[0], weight: $0[1], bias: $0[2]) }
    }
}
