import Testing
@testable import Tensors

/// Finite-difference checks of every primitive, on both kernel paths.
@Suite struct GradientTests {
    @Test func binaryWithBroadcasting() throws {
        let a = randn([2, 8, 5, 3], seed: 1), b = randn([1, 8, 1, 3], seed: 2), c = randn([3], seed: 3)
        try checkGradients([a, b], "add") { try $0[0] + $0[1] }
        try checkGradients([a, b], "sub") { try $0[0] - $0[1] }
        try checkGradients([a, c], "mul") { try $0[0] * $0[1] }
        let positive = randn([8, 1, 1], seed: 4, scale: 0.2, offset: 2)
        try checkGradients([a, positive], "div") { try $0[0] / $0[1] }
        try checkGradients([b, a], "broadcast first operand") { try $0[0] * $0[1] }
    }

    @Test func scalarArithmetic() throws {
        let a = randn([3, 7], seed: 5, scale: 0.3, offset: 2)
        try checkGradients([a], "scalar") { try (2 - $0[0]) * 3 + 1 / $0[0] - $0[0] / 4 }
    }

    @Test func elementwiseFunctions() throws {
        let x = randn([2, 3, 5, 7], seed: 6)
        let positive = randn([2, 3, 5, 7], seed: 7, scale: 0.3, offset: 2)
        try checkGradients([positive], "log") { try log($0[0]) }
        try checkGradients([positive], "sqrt") { try sqrt($0[0]) }
        try checkGradients([positive], "pow") { try pow($0[0], 2.5) }
        for (name, f) in [("exp", exp), ("abs", abs), ("sigmoid", sigmoid), ("tanh", tanh), ("relu", relu), ("gelu", gelu), ("softplus", softplus)] as [(String, (Tensor) throws -> Tensor)] {
            try checkGradients([x], name) { try f($0[0]) }
        }
        try checkGradients([x], "leakyRelu") { try leakyRelu($0[0], slope: 0.1) }
        try checkGradients([x], "clamp") { try clamp($0[0], min: -0.5, max: 0.7) }
    }

    @Test func reductions() throws {
        let x = randn([2, 3, 4, 5], seed: 8)
        try checkGradients([x], "sum all") { try $0[0].sum() }
        try checkGradients([x], "sum axes") { try $0[0].sum(axes: [1, 3]) }
        try checkGradients([x], "mean keepDims") { try $0[0].mean(axes: [0, 2], keepDims: true) }
    }

    @Test func shapeOperations() throws {
        let x = randn([2, 3, 4, 5], seed: 9)
        try checkGradients([x], "reshape") { try $0[0].reshaped([6, -1]) }
        try checkGradients([x], "permute") { try $0[0].permuted([2, 0, 3, 1]) }
        try checkGradients([x], "slice") { try $0[0].sliced(axis: 2, 1..<3) }
        try checkGradients([x], "pad") { try $0[0].padded2d(top: 1, bottom: 2, left: 0, right: 3) }
        let y = randn([2, 2, 4, 5], seed: 10)
        try checkGradients([x, y], "concat") { try concat([$0[0], $0[1]], axis: 1) }
        let z = randn([1, 12, 3, 5], seed: 11)
        try checkGradients([z], "pixelShuffle") { try pixelShuffle($0[0], 2) }
        try checkGradients([x], "pixelUnshuffle") { try pixelUnshuffle($0[0].sliced(axis: 3, 0..<4), 2) }
    }

    @Test func convolution() throws {
        let x = randn([2, 3, 9, 7], seed: 12), w = randn([8, 3, 3, 3], seed: 13, scale: 0.3), b = randn([8], seed: 14)
        try checkGradients([x, w, b], "conv 3x3") { try conv2d($0[0], weight: $0[1], bias: $0[2], padding: 1) }
        try checkGradients([x, w], "conv stride 2 dilation 2") { try conv2d($0[0], weight: $0[1], stride: 2, padding: 2, dilation: 2) }
        let x8 = randn([2, 8, 6, 5], seed: 15), dw = randn([8, 1, 3, 3], seed: 16, scale: 0.3)
        try checkGradients([x8, dw], "depthwise") { try conv2d($0[0], weight: $0[1], padding: 1, groups: 8) }
        let gw = randn([16, 4, 1, 1], seed: 17, scale: 0.3)
        try checkGradients([x8, gw], "groups 2, 1x1") { try conv2d($0[0], weight: $0[1], groups: 2) }
        // A chain of blocked-layout convolutions with a residual add, as in the SR networks.
        let x16 = randn([1, 16, 5, 6], seed: 29)
        let w1 = randn([16, 16, 3, 3], seed: 18, scale: 0.15), w2 = randn([16, 16, 3, 3], seed: 19, scale: 0.15)
        let gate = randn([1, 1, 5, 6], seed: 31)
        try checkGradients([x16, gate], "blocked times spatial gate, channel mean") {
            let b = try $0[0].inLayout(.blocked) * $0[1]
            return try b.mean(axes: [1], keepDims: true) + b.sum()
        }
        try checkGradients([x16, w1, w2], "residual block") {
            let h = try gelu(conv2d($0[0], weight: $0[1], padding: 1))
            return try conv2d(h, weight: $0[2], padding: 1) + $0[0]
        }
    }

    @Test func matmulBatchedAndShared() throws {
        let a = randn([2, 3, 4, 5], seed: 20), b = randn([2, 3, 5, 6], seed: 21), shared = randn([5, 2], seed: 22)
        try checkGradients([a, b], "batched matmul") { try matmul($0[0], $0[1]) }
        try checkGradients([a, shared], "shared matmul") { try matmul($0[0], $0[1]) }
    }

    @Test func softmaxAndLayerNorm() throws {
        let x = randn([2, 3, 7], seed: 23)
        try checkGradients([x], "softmax last") { try softmax($0[0], axis: -1) }
        try checkGradients([x], "softmax middle") { try softmax($0[0], axis: 1) }
        let w = randn([7], seed: 24, offset: 1), b = randn([7], seed: 25)
        try checkGradients([x, w, b], "layerNorm") { try layerNorm($0[0], weight: $0[1], bias: $0[2]) }
    }

    @Test func resamplingAndPooling() throws {
        let x = randn([1, 2, 5, 6], seed: 26)
        try checkGradients([x], "nearest up") { try resize2d($0[0], height: 10, width: 12, mode: .nearest) }
        try checkGradients([x], "bilinear up") { try resize2d($0[0], height: 11, width: 9, mode: .bilinear) }
        try checkGradients([x], "bilinear down") { try resize2d($0[0], height: 3, width: 4, mode: .bilinear) }
        try checkGradients([x], "bicubic up") { try resize2d($0[0], height: 20, width: 13, mode: .bicubic) }
        try checkGradients([x], "avgPool") { try avgPool2d($0[0], kernel: 3, stride: 2, padding: 1) }
        try checkGradients([x], "avgPool, padding not counted") { try avgPool2d($0[0], kernel: 5, stride: 1, padding: 2, countPadding: false) }
        try checkGradients([x], "globalAvgPool") { try globalAvgPool2d($0[0]) }
    }

    @Test func losses() throws {
        let p = randn([2, 3, 4, 4], seed: 27), t = randn([2, 3, 4, 4], seed: 28).detached()
        try checkGradients([p], "l1") { try l1Loss($0[0], t) }
        try checkGradients([p], "mse") { try mseLoss($0[0], t) }
        try checkGradients([p], "charbonnier") { try charbonnierLoss($0[0], t) }
    }
}

@Suite struct GatherTests {
    @Test func gatherWithRepeatsScattersBack() throws {
        let table = randn([5, 3], seed: 40)
        try checkGradients([table], "gathered") { try $0[0].gathered(rows: [4, 0, 4, 2, 4]) }
        #expect(throws: TensorError.self) { try table.gathered(rows: [5]) }
    }
}
