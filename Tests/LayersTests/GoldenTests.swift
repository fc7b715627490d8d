import Foundation
import Testing
import Layers
import Tensors

/// Whether `actual` matches `expected` in shape and, entry by entry, within
/// `rtol * |expected| + atol * max|expected|`; records the worst entry otherwise.
///
/// The absolute term, relative to the tensor's largest magnitude, covers entries that are sums
/// cancelling to near zero: their float32 rounding error scales with the terms summed, not the result.
@discardableResult
func expectClose(_ actual: Tensor, _ expected: Tensor, rtol: Float = 1e-4, atol: Float = 1e-5, _ what: String,
                 sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
    guard actual.shape == expected.shape else {
        Issue.record("\(what): shape \(actual.shape), expected \(expected.shape)", sourceLocation: sourceLocation)
        return false
    }
    let a = actual.values, e = expected.values
    let floor = atol * (e.map { Swift.abs($0) }.max() ?? 0)
    var worst: (index: Int, excess: Float)?
    for i in e.indices {
        let excess = Swift.abs(a[i] - e[i]) - (rtol * Swift.abs(e[i]) + floor)
        if !(excess <= 0), excess.isNaN || excess > (worst?.excess ?? 0) { worst = (i, excess.isNaN ? .infinity : excess) }
    }
    guard let worst else { return true }
    Issue.record("\(what): entry \(worst.index) of \(e.count) is \(a[worst.index]), PyTorch has \(e[worst.index])",
                 sourceLocation: sourceLocation)
    return false
}

/// One computation of a golden fixture file: named inputs in, one tensor out.
struct GoldenCase: Sendable, CustomTestStringConvertible {
    let file: String
    let name: String
    let inputs: [String]
    /// A mismatch of Tensors found by this case and not yet fixed there: the test expects it to fail.
    let run: @Sendable ([Tensor]) throws -> Tensor

    init(_ file: String, _ name: String, _ inputs: [String], _ run: @escaping @Sendable ([Tensor]) throws -> Tensor) {
        (self.file, self.name, self.inputs, self.run) = (file, name, inputs, run)
    }

    var testDescription: String { name }

    static let conv: [GoldenCase] = [
        GoldenCase("golden_conv", "conv3x3", ["x", "weight", "bias"]) { try conv2d($0[0], weight: $0[1], bias: $0[2], padding: 1) },
        GoldenCase("golden_conv", "strided_dilated", ["x", "weight", "bias"]) {
            try conv2d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: 2, dilation: 2)
        },
        GoldenCase("golden_conv", "depthwise", ["x", "weight", "bias"]) { try conv2d($0[0], weight: $0[1], bias: $0[2], padding: 1, groups: 8) },
        GoldenCase("golden_conv", "grouped1x1", ["x", "weight"]) { try conv2d($0[0], weight: $0[1], groups: 2) },
    ]

    static let ops: [GoldenCase] = [
        GoldenCase("golden_ops", "matmul_batched", ["a", "b"]) { try matmul($0[0], $0[1]) },
        GoldenCase("golden_ops", "matmul_shared", ["a", "b"]) { try matmul($0[0], $0[1]) },
        GoldenCase("golden_ops", "softmax_axis1", ["x"]) { try softmax($0[0], axis: 1) },
        GoldenCase("golden_ops", "layer_norm", ["x", "weight", "bias"]) { try layerNorm($0[0], weight: $0[1], bias: $0[2], eps: 1e-5) },
        GoldenCase("golden_ops", "pixel_shuffle", ["x"]) { try pixelShuffle($0[0], 2) },
        GoldenCase("golden_ops", "pixel_unshuffle", ["x"]) { try pixelUnshuffle($0[0], 2) },
        GoldenCase("golden_ops", "bilinear_up", ["x"]) { try resize2d($0[0], height: 9, width: 12, mode: .bilinear) },
        GoldenCase("golden_ops", "bilinear_down", ["x"]) { try resize2d($0[0], height: 4, width: 6, mode: .bilinear) },
        GoldenCase("golden_ops", "nearest", ["x"]) { try resize2d($0[0], height: 10, width: 3, mode: .nearest) },
        GoldenCase("golden_ops", "nearest_up", ["x"]) { try resize2d($0[0], height: 8, width: 11, mode: .nearest) },
        GoldenCase("golden_ops", "nearest_float_scale", ["x"]) { try resize2d($0[0], height: 22, width: 3, mode: .nearest) },
        GoldenCase("golden_ops", "avg_pool_k3s2p1", ["x"]) { try avgPool2d($0[0], kernel: 3, stride: 2, padding: 1) },
        GoldenCase("golden_ops", "avg_pool_k2", ["x"]) { try avgPool2d($0[0], kernel: 2) },
        GoldenCase("golden_ops", "avg_pool_k5s1p2_uncounted", ["x"]) {
            try avgPool2d($0[0], kernel: 5, stride: 1, padding: 2, countPadding: false)
        },
        GoldenCase("golden_ops", "gelu", ["x"]) { try gelu($0[0]) },
        GoldenCase("golden_ops", "leaky_relu", ["x"]) { try leakyRelu($0[0], slope: 0.2) },
        GoldenCase("golden_ops", "softplus", ["x"]) { try softplus($0[0]) },
        GoldenCase("golden_ops", "l1_loss", ["prediction", "target"]) { try l1Loss($0[0], $0[1]) },
        GoldenCase("golden_ops", "mse_loss", ["prediction", "target"]) { try mseLoss($0[0], $0[1]) },
        GoldenCase("golden_ops", "charbonnier_loss", ["prediction", "target"]) { try charbonnierLoss($0[0], $0[1], eps: 1e-3) },
    ]
}

/// The Tensors ops against PyTorch 2.13 (CPU, float32) on fixtures from scripts/make_tensor_fixtures.py:
/// outputs, and gradients of sum(output * grad_out) for a fixed random grad_out, on both kernel paths.
@Suite(.serialized) struct GoldenTests {
    static let paths: [KernelPath] = [.reference, .fast]

    /// Rebuilds one case from its stored inputs and compares the output and every input's gradient.
    private func check(_ c: GoldenCase, _ path: KernelPath) throws {
        let file = try Fixtures.load("\(c.file).safetensors")
        try Kernel.with(path) {
            let inputs = try c.inputs.map { try file.tensor("\(c.name).\($0)").requiringGrad() }
            let out = try c.run(inputs)
            expectClose(out, try file.tensor("\(c.name).out"), "\(c.name) [\(path)] output")
            let probe = try file.tensor("\(c.name).grad_out", shape: out.shape)
            let grads = try gradients(of: (out * probe).sum(), with: inputs)
            for (input, g) in zip(c.inputs, grads) {
                expectClose(g, try file.tensor("\(c.name).grad.\(input)"), "\(c.name) [\(path)] gradient of \(input)")
            }
        }
    }

    @Test(arguments: GoldenCase.conv, paths)
    func convolution(_ c: GoldenCase, _ path: KernelPath) throws {
        try check(c, path)
    }

    @Test(arguments: GoldenCase.ops, paths)
    func operation(_ c: GoldenCase, _ path: KernelPath) throws {
        try check(c, path)
    }

    /// Every case the script wrote has a test, and every test a case.
    @Test func everyFixtureCaseIsTested() throws {
        for (fileName, cases) in [("golden_conv", GoldenCase.conv), ("golden_ops", GoldenCase.ops)] {
            let file = try Fixtures.load("\(fileName).safetensors")
            let written = Set(file.tensors.keys.filter { $0.hasSuffix(".out") }.map { String($0.dropLast(4)) })
            #expect(written == Set(cases.map(\.name)), "\(fileName)")
            let expectedNames = Set(cases.flatMap { c in
                ["\(c.name).out", "\(c.name).grad_out"] + c.inputs.flatMap { ["\(c.name).\($0)", "\(c.name).grad.\($0)"] }
            })
            #expect(Set(file.tensors.keys) == expectedNames, "\(fileName)")
        }
    }

    /// The parameters of the fixture network, as PyTorch names them, with their shapes.
    static let convnetParameters: [(String, [Int])] = {
        var p: [(String, [Int])] = [("head.weight", [8, 3, 3, 3]), ("head.bias", [8])]
        for block in 0..<2 {
            for conv in ["conv1", "conv2"] {
                p += [("body.\(block).\(conv).weight", [8, 8, 3, 3]), ("body.\(block).\(conv).bias", [8])]
            }
        }
        return p + [("tail.weight", [12, 8, 3, 3]), ("tail.bias", [12])]
    }()

    /// A small super-resolution network: head conv 3->8, two residual blocks
    /// (conv, LeakyReLU 0.1, conv, plus input), a global skip, tail conv 8->12, pixel shuffle x2.
    static func convnet(_ p: [String: Tensor], _ x: Tensor) throws -> Tensor {
        func conv(_ name: String, _ x: Tensor) throws -> Tensor {
            try conv2d(x, weight: p["\(name).weight"]!, bias: p["\(name).bias"]!, padding: 1)
        }
        let h = try conv("head", x)
        var y = h
        for block in 0..<2 {
            y = try y + conv("body.\(block).conv2", leakyRelu(conv("body.\(block).conv1", y), slope: 0.1))
        }
        return try pixelShuffle(conv("tail", y + h), 2)
    }

    @Test(arguments: paths)
    func convnetLossAndGradients(_ path: KernelPath) throws {
        let weights = try Fixtures.load("golden_convnet_weights.safetensors")
        let io = try Fixtures.load("golden_convnet.safetensors")
        #expect(Set(weights.tensors.keys) == Set(Self.convnetParameters.map(\.0)))
        try Kernel.with(path) {
            var params: [String: Tensor] = [:]
            for (name, shape) in Self.convnetParameters {
                params[name] = try weights.tensor(name, shape: shape).requiringGrad()
            }
            let input = try io.tensor("input", shape: [2, 3, 6, 7]).requiringGrad()
            let output = try Self.convnet(params, input)
            expectClose(output, try io.tensor("output"), "[\(path)] network output")
            let loss = try l1Loss(output, io.tensor("target", shape: [2, 3, 12, 14]))
            expectClose(loss, try io.tensor("loss", shape: []), "[\(path)] loss")
            let names = Self.convnetParameters.map(\.0)
            let grads = try gradients(of: loss, with: names.map { params[$0]! } + [input])
            for (name, g) in zip(names + ["input"], grads) {
                expectClose(g, try io.tensor("grad.\(name)"), "[\(path)] gradient of \(name)")
            }
        }
    }
}
