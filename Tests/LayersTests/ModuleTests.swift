import Foundation
import SeededRandom
import Testing
@testable import Layers
@testable import Tensors

private final class Block: Module, UnaryLayer {
    let conv1: Conv2d, conv2: Conv2d
    init(_ c: Int, rng: inout SeededGenerator) {
        conv1 = Conv2d(c, c, kernel: 3, rng: &rng)
        conv2 = Conv2d(c, c, kernel: 3, rng: &rng)
    }
    func callAsFunction(_ x: Tensor) throws -> Tensor { try x + conv2(leakyRelu(conv1(x), slope: 0.1)) }
}

private final class TinyNet: Module, UnaryLayer {
    let head: Conv2d
    let body: [Block]
    let tail: Conv2d
    init(rng: inout SeededGenerator) {
        head = Conv2d(3, 8, kernel: 3, rng: &rng)
        body = [Block(8, rng: &rng), Block(8, rng: &rng)]
        tail = Conv2d(8, 12, kernel: 3, rng: &rng)
    }
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let h = try head(x)
        return try pixelShuffle(tail(body.reduce(h) { try $1($0) } + h), 2)
    }
}

@Suite struct ModuleTests {
    @Test func parametersHaveDottedNames() {
        var rng = SeededGenerator(seed: 1)
        let net = TinyNet(rng: &rng)
        let names = net.namedParameters().map(\.name)
        #expect(names == ["head.weight", "head.bias",
                          "body.0.conv1.weight", "body.0.conv1.bias", "body.0.conv2.weight", "body.0.conv2.bias",
                          "body.1.conv1.weight", "body.1.conv1.bias", "body.1.conv2.weight", "body.1.conv2.bias",
                          "tail.weight", "tail.bias"])
        #expect(net.parameterCount == 3 * 8 * 9 + 8 + 4 * (8 * 8 * 9 + 8) + 8 * 12 * 9 + 12)
        let seq = Sequential([Linear(4, 5, rng: &rng), Activation.relu(), Linear(5, 2, bias: false, rng: &rng)])
        #expect(seq.namedParameters().map(\.name) == ["layers.0.weight", "layers.0.bias", "layers.2.weight"])
    }

    @Test func stateDictRoundTripAndErrors() throws {
        var rng = SeededGenerator(seed: 2)
        let a = TinyNet(rng: &rng), b = TinyNet(rng: &rng)
        try b.load(stateDict: a.stateDict())
        #expect(b.namedParameters().map { $0.parameter.value.values } == a.namedParameters().map { $0.parameter.value.values })
        var partial = a.stateDict()
        partial["tail.bias"] = nil
        #expect(throws: TensorError("missing tensor 'tail.bias' (shape [12])")) { try b.load(stateDict: partial) }
        partial["tail.bias"] = Tensor.zeros([3])
        #expect(throws: TensorError("parameter 'tail.bias': expected shape [12], got [3]")) { try b.load(stateDict: partial) }
        partial["tail.bias"] = Tensor.zeros([12])
        partial["extra.weight"] = Tensor.zeros([1])
        #expect(throws: TensorError.self) { try b.load(stateDict: partial) }
    }

    @Test func frozenParametersGetNoGradient() throws {
        var rng = SeededGenerator(seed: 3)
        let net = TinyNet(rng: &rng)
        net.head.freeze()
        let x = Tensor.normal([1, 3, 6, 6], using: &rng)
        try net(x).mean().backward()
        #expect(net.head.weight.value.grad == nil)
        #expect(net.tail.weight.value.grad != nil)
        #expect(net.trainableParameters.count == 10)
    }

    @Test func trainAndEvalModesPropagate() {
        var rng = SeededGenerator(seed: 4)
        let net = TinyNet(rng: &rng)
        net.eval()
        #expect(!net.isTraining && !net.body[1].conv2.isTraining)
        net.train()
        #expect(net.body[1].conv2.isTraining)
    }

    /// A small conv network fits a fixed target: the loss falls at least tenfold with Adam.
    @Test func smallNetworkFitsFixedTarget() throws {
        var rng = SeededGenerator(seed: 5)
        let net = TinyNet(rng: &rng)
        let x = Tensor.uniform([2, 3, 8, 8], using: &rng)
        let target = try GradMode.withoutGrad { try resize2d(x, height: 16, width: 16, mode: .bilinear) }
        let opt = Adam(learningRate: 3e-3)
        var first: Float = 0, last: Float = 0
        for step in 0..<150 {
            let loss = try mseLoss(net(x), target)
            if step == 0 { first = try loss.item() }
            last = try loss.item()
            try loss.backward()
            try opt.step(net.trainableParameters)
            net.zeroGrad()
        }
        #expect(last < first / 10, "loss went from \(first) to \(last)")
    }

    @Test func adamMatchesItsFormula() throws {
        let p = Parameter(Tensor(shape: [2], values: [1, -2]))
        let opt = Adam(learningRate: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.5)
        var expected: [Double] = [1, -2], m: [Double] = [0, 0], v: [Double] = [0, 0]
        for t in 1...3 {
            let grads = p.value.values.map { Double($0) * 3 }  // d/dp of 1.5 p^2
            try (p.value * p.value * 1.5).sum().backward()
            try opt.step([p])
            p.value.zeroGrad()
            for i in 0..<2 {
                let g = grads[i] + 0.5 * expected[i]
                m[i] = 0.9 * m[i] + 0.1 * g
                v[i] = 0.99 * v[i] + 0.01 * g * g
                let mh = m[i] / (1 - Foundation.pow(0.9, Double(t))), vh = v[i] / (1 - Foundation.pow(0.99, Double(t)))
                expected[i] -= 0.1 * mh / (vh.squareRoot() + 1e-8)
            }
        }
        #expect(zip(p.value.values, expected).allSatisfy { Swift.abs(Double($0) - $1) < 1e-5 })
        let state = opt.stateDict([("p", p)])
        let restored = Adam(learningRate: 0.1, beta1: 0.9, beta2: 0.99, weightDecay: 0.5)
        try restored.load(stateDict: state, [("p", p)])
        #expect(restored.stepCount == 3)
    }

    @Test func adamWShrinksWeightsWithoutGradientCoupling() throws {
        let p = Parameter(Tensor(shape: [1], values: [2]))
        let opt = Adam.adamW(learningRate: 0.1, weightDecay: 0.1)
        try (p.value * 0).sum().backward()  // zero gradient: only decay acts
        try opt.step([p])
        #expect(Swift.abs(p.value.values[0] - 2 * (1 - 0.01)) < 1e-6)
    }

    @Test func gradientClippingBoundsTheGlobalNorm() throws {
        let a = Parameter(Tensor(shape: [2], values: [3, 0])), b = Parameter(Tensor(shape: [1], values: [4]))
        try ((a.value * a.value).sum() * 0.5 + (b.value * b.value).sum() * 0.5).backward()  // grads [3, 0], [4]
        let norm = clipGradientNorm([a, b], maxNorm: 1)
        #expect(Swift.abs(norm - 5) < 1e-5)
        let clipped = (a.value.grad!.values + b.value.grad!.values).map { Double($0) }
        #expect(Swift.abs(clipped.reduce(0) { $0 + $1 * $1 }.squareRoot() - 1) < 1e-4)
    }

    @Test func schedules() {
        let cosine = CosineSchedule(base: 1, warmupSteps: 10, totalSteps: 110, minimum: 0.1)
        #expect(Swift.abs(cosine(0) - 0.1) < 1e-6 && Swift.abs(cosine(9) - 1) < 1e-6)
        #expect(Swift.abs(cosine(60) - 0.55) < 1e-5)
        #expect(Swift.abs(cosine(110) - 0.1) < 1e-6 && Swift.abs(cosine(500) - 0.1) < 1e-6)
        let steps = StepSchedule(base: 1, milestones: [10, 20], gamma: 0.5)
        #expect(steps(9) == 1 && steps(10) == 0.5 && steps(25) == 0.25)
    }

    @Test func movingAverageFollowsItsFormula() throws {
        var rng = SeededGenerator(seed: 6)
        let layer = Linear(2, 1, bias: false, rng: &rng)
        let start = layer.weight.value.values
        let ema = ExponentialMovingAverage(layer, decay: 0.9)
        try layer.weight.value.assign(Tensor(shape: [1, 2], values: [1, 1]))
        try ema.update()
        let expected = start.map { 0.9 * $0 + 0.1 }
        #expect(zip(ema.shadow["weight"]!.values, expected).allSatisfy { Swift.abs($0 - $1) < 1e-6 })
    }

    @Test func movingAverageWarmsUp() throws {
        var rng = SeededGenerator(seed: 7)
        let layer = Linear(2, 1, bias: false, rng: &rng)
        let start = layer.weight.value.values
        let ema = ExponentialMovingAverage(layer, decay: 0.999)
        #expect(ema.warmedUpDecay(step: 0) == 0.1 && ema.warmedUpDecay(step: 90) == 0.91)
        #expect(ema.warmedUpDecay(step: 8_989) < 0.999 && ema.warmedUpDecay(step: 8_990) == 0.999 && ema.warmedUpDecay(step: 50_000) == 0.999)
        try layer.weight.value.assign(Tensor(shape: [1, 2], values: [2, 4]))
        try ema.update(decay: ema.warmedUpDecay(step: 0))
        let expected = zip(start, [Float(2), 4]).map { 0.1 * $0 + 0.9 * $1 }
        #expect(zip(ema.shadow["weight"]!.values, expected).allSatisfy { Swift.abs($0 - $1) < 1e-6 })
    }
}
