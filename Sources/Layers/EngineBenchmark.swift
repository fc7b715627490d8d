import Dispatch
import SeededRandom
import Tensors

/// What `savl bench` measures: the tensor engine on a reference SR network, the same network
/// `benchmarks/pytorch_reference.py` runs in PyTorch: convolution passes, a training step and inference.
public enum EngineBenchmark {
    /// The reference network: head conv 3->64, residual blocks of conv3x3-ReLU-conv3x3, a global skip,
    /// tail conv 64->48 and pixel shuffle x4.
    public final class Network: Module, UnaryLayer {
        final class Block: Module, UnaryLayer {
            let conv1: Conv2d, conv2: Conv2d
            init(_ c: Int, rng: inout SeededGenerator) {
                conv1 = Conv2d(c, c, kernel: 3, rng: &rng)
                conv2 = Conv2d(c, c, kernel: 3, rng: &rng)
            }
            func callAsFunction(_ x: Tensor) throws -> Tensor { try x + conv2(relu(conv1(x))) }
        }

        let head: Conv2d
        let body: [Block]
        let tail: Conv2d

        public init(channels: Int = 64, blocks: Int = 8, rng: inout SeededGenerator) {
            head = Conv2d(3, channels, kernel: 3, rng: &rng)
            body = (0..<blocks).map { _ in Block(channels, rng: &rng) }
            tail = Conv2d(channels, 48, kernel: 3, rng: &rng)
        }

        public func callAsFunction(_ x: Tensor) throws -> Tensor {
            let h = try head(x)
            return try pixelShuffle(tail(body.reduce(h) { try $1($0) } + h), 4)
        }
    }

    /// The figures by name (milliseconds, GFLOP/s, MB, counts): the three passes of a 3x3 64->64
    /// convolution on `batch` 48x48 inputs, then the network's median training step (L1 loss, Adam) over
    /// `steps` steps after two warm-ups and its median inference, with memory before and after.
    public static func run(batch: Int, steps: Int) throws -> [String: Double] {
        let conv = try measureConv2d(batch: batch, channels: 64, size: 48)
        let gflops = { (ms: Double) in 2 * Double(conv.macs) / (ms / 1000) / 1e9 }

        var rng = SeededGenerator(seed: 0)
        let net = Network(rng: &rng)
        let x = Tensor.uniform([batch, 3, 48, 48], using: &rng)
        let target = Tensor.uniform([batch, 3, 192, 192], using: &rng)
        let opt = Adam(learningRate: 1e-4)
        func trainStep() throws {
            let loss = try l1Loss(net(x), target)
            try loss.backward()
            try opt.step(net.trainableParameters)
            net.zeroGrad()
        }
        func timed(_ body: () throws -> Void) rethrows -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        }
        for _ in 0..<2 { try trainStep() }
        let rssAfterWarmup = ProcessMemory.residentMegabytes()
        let stepTimes = try (0..<steps).map { _ in try timed(trainStep) }
        let rssAfterSteps = ProcessMemory.residentMegabytes()
        let inferTimes = try (0..<max(steps, 3)).map { _ in try timed { _ = try GradMode.withoutGrad { try net(x) } } }

        return [
            "conv_fwd_ms": conv.forward, "conv_bwd_data_ms": conv.backwardData, "conv_bwd_weights_ms": conv.backwardWeights,
            "conv_fwd_gflops": gflops(conv.forward), "conv_bwd_data_gflops": gflops(conv.backwardData),
            "conv_bwd_weights_gflops": gflops(conv.backwardWeights),
            "train_step_ms": stepTimes.median, "infer_ms": inferTimes.median,
            "params": Double(net.parameterCount), "peak_rss_mb": ProcessMemory.peakResidentMegabytes(),
            "rss_growth_mb": rssAfterSteps - rssAfterWarmup, "steps": Double(steps), "batch": Double(batch),
        ]
    }
}
