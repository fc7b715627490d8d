import Foundation
import Testing
@testable import Tensors

@Suite struct TapeTests {
    @Test func gradientsAccumulateWhenATensorIsUsedTwice() throws {
        let x = Tensor(shape: [3], values: [1, 2, 3], requiresGrad: true)
        try (x * x + x).sum().backward()  // d/dx = 2x + 1
        #expect(x.grad!.values == [3, 5, 7])
        try (x * 2).sum().backward()  // accumulates into the existing gradient
        #expect(x.grad!.values == [5, 7, 9])
    }

    @Test func diamondGraphSumsBothPaths() throws {
        let x = Tensor(shape: [2], values: [0.5, -1], requiresGrad: true)
        let y = try exp(x)
        let z = try (y * y + y * 3).sum()  // y is used three times: d/dx = 2 e^{2x} + 3 e^x
        let g = try gradients(of: z, with: [x])[0].values
        let expected = x.values.map { v -> Float in let e = Foundation.exp(v); return 2 * e * e + 3 * e }
        #expect(zip(g, expected).allSatisfy { Swift.abs($0 - $1) < 1e-5 })
    }

    @Test func noGradModeRecordsNothing() throws {
        let x = Tensor(shape: [2], values: [1, 2], requiresGrad: true)
        let y = try GradMode.withoutGrad { try x * 3 }
        #expect(!y.requiresGrad)
        #expect(GradMode.isEnabled)
        #expect(throws: TensorError.self) { try y.sum().backward() }
    }

    @Test func errorsNameTheTensorsInvolved() throws {
        let a = Tensor.zeros([2, 3]), b = Tensor.zeros([4])
        #expect(throws: TensorError("add: shapes do not broadcast (shapes [2, 3] and [4])")) { try a + b }
        #expect(throws: TensorError("matmul: inner dimensions differ (shapes [2, 3] and [2, 3])")) { try matmul(a, a) }
        #expect(throws: TensorError("backward(): called on a tensor of shape [2, 3]; it needs a scalar (one element)")) {
            try a.requiringGrad().backward()
        }
        let w = Tensor.zeros([8, 4, 3, 3])
        #expect(throws: TensorError.self) { try conv2d(Tensor.zeros([1, 3, 5, 5]), weight: w) }
        #expect(throws: TensorError.self) { try Tensor.zeros([6]).reshaped([4, -1]) }
        #expect(throws: TensorError.self) { try Tensor.zeros([2, 3]).sliced(axis: 1, 2..<5) }
        let outside = Tensor.zeros([2], requiresGrad: true)
        let inside = Tensor.ones([2], requiresGrad: true)
        #expect(throws: TensorError("gradients(of:with:): a tensor of shape [2] is not on the tape that produced the loss")) {
            _ = try gradients(of: inside.sum(), with: [outside])
        }
    }

    @Test func blockedLayoutIsInvisibleToValues() throws {
        let x = randn([2, 16, 3, 5], seed: 1).detached()
        let blocked = try x.inLayout(.blocked)
        #expect(blocked.layout == .blocked)
        #expect(blocked.values == x.values)
        let viaReference = Kernel.with(.reference) { Kernels.reorder(x, to: .blocked) }
        #expect(Array(UnsafeBufferPointer(start: viaReference.storage.pointer, count: x.count))
                == Array(UnsafeBufferPointer(start: blocked.storage.pointer, count: x.count)))
    }

    /// Once the loss and its inputs go away, every buffer the forward and backward made is freed. A backward
    /// rule that captured its own output would make the output own itself (output, node, rule, output), and
    /// the output with everything it was computed from would stay allocated for good.
    @Test(arguments: ["softmax", "layerNorm", "matmul", "gelu", "mean", "slice", "concat", "pad", "permute", "gathered", "conv2d", "resize2d"])
    func nothingOutlivesTheTape(_ op: String) throws {
        let meter = try StorageMeter.measure { meter in
            let x = randn([2, 4, 6, 8], seed: 1)
            let y: Tensor
            switch op {
            case "softmax": y = try softmax(x, axis: -1)
            case "layerNorm": y = try layerNorm(x, weight: randn([8], seed: 2), bias: randn([8], seed: 3))
            case "matmul": y = try matmul(x, x.transposed())
            case "gelu": y = try gelu(x)
            case "mean": y = try x.mean(axes: [1])
            case "slice": y = try x.sliced(axis: 2, 1..<4)
            case "concat": y = try concat([x, x * 2], axis: 1)
            case "pad": y = try x.padded2d(top: 1, bottom: 0, left: 2, right: 1)
            case "permute": y = try x.permuted([0, 2, 3, 1])
            case "gathered": y = try x.gathered(rows: [1, 0, 1])
            case "conv2d": y = try conv2d(x, weight: randn([4, 4, 3, 3], seed: 4), bias: randn([4], seed: 5), padding: 1)
            default: y = try resize2d(x, height: 9, width: 12, mode: .bilinear)
            }
            try (y * y).sum().backward()
            #expect(x.grad != nil && meter.liveBytes > 0)
        }
        #expect(meter.liveBytes == 0, "\(op): \(meter.liveBytes) bytes still allocated after the loss and its inputs went away")
    }
}
