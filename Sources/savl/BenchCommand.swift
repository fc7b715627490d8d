import ArgumentParser
import Foundation
import Layers
import SeededRandom
import Tensors

/// The reference network of the engine benchmark: head conv 3->64, residual blocks of
/// conv3x3-ReLU-conv3x3, a global skip, tail conv 64->48 and pixel shuffle x4.
final class BenchmarkNetwork: Module, UnaryLayer {
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

    init(channels: Int = 64, blocks: Int = 8, rng: inout SeededGenerator) {
        head = Conv2d(3, channels, kernel: 3, rng: &rng)
        body = (0..<blocks).map { _ in Block(channels, rng: &rng) }
        tail = Conv2d(channels, 48, kernel: 3, rng: &rng)
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let h = try head(x)
        return try pixelShuffle(tail(body.reduce(h) { try $1($0) } + h), 4)
    }
}

/// Peak resident set size of this process in MB (VmHWM).
func peakResidentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb / 1024
}

/// Current resident set size in MB (VmRSS).
func residentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb / 1024
}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the tensor engine: convolution passes, a training step and inference of a reference SR network.",
        discussion: """
            Compare with `python3 benchmarks/pytorch_reference.py --json`, which runs the identical network in PyTorch.
            With --model, times a SAVL model's inference instead (encoder and SR network on one random \
            --size x --size LR image, no tiling); `python3 benchmarks/upscale_speed.py` runs the same in PyTorch.
            """)

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(parsing: .unconditional, help: "Timed training steps (after 2 warm-up steps); the median is reported.")
    var steps = 10

    @Option(parsing: .unconditional, help: "Batch size of the reference network.")
    var batch = 16

    @Option(help: "Time this model's inference (an embedded model's name or a model file) instead.")
    var model: String?

    @Option(parsing: .unconditional, help: "With --model: the side of the square LR image.")
    var size = 256

    @Option(parsing: .unconditional, help: "Compute threads (default: all cores).")
    var threads: Int?

    @Option(help: Precision.help)
    var precision: Precision = .auto

    func validate() throws {
        guard steps >= 1, batch >= 1 else { throw ValidationError("--steps and --batch must be at least 1") }
        guard size >= 8 else { throw ValidationError("--size must be at least 8, got \(size)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func run() throws {
        if let threads { Engine.setThreads(threads) }
        try Engine.setPrecision(precision)
        FileHandle.standardError.write(Data("backend: \(Engine.backendDescription)\n".utf8))
        if let model {
            let result = try ModelInferenceBenchmark.run(model: model, size: size, repeats: max(steps, 3))
            try printResult(result)
            return
        }
        let conv = try measureConv2d(batch: batch, channels: 64, size: 48)
        let gflops = { (ms: Double) in 2 * Double(conv.macs) / (ms / 1000) / 1e9 }

        var rng = SeededGenerator(seed: 0)
        let net = BenchmarkNetwork(rng: &rng)
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
        let rssAfterWarmup = residentMegabytes()
        let stepTimes = try (0..<steps).map { _ in try timed(trainStep) }
        let rssAfterSteps = residentMegabytes()
        let inferTimes = try (0..<max(steps, 3)).map { _ in try timed { _ = try GradMode.withoutGrad { try net(x) } } }

        let result: [String: Double] = [
            "conv_fwd_ms": conv.forward, "conv_bwd_data_ms": conv.backwardData, "conv_bwd_weights_ms": conv.backwardWeights,
            "conv_fwd_gflops": gflops(conv.forward), "conv_bwd_data_gflops": gflops(conv.backwardData),
            "conv_bwd_weights_gflops": gflops(conv.backwardWeights),
            "train_step_ms": stepTimes.median, "infer_ms": inferTimes.median,
            "params": Double(net.parameterCount), "peak_rss_mb": peakResidentMegabytes(),
            "rss_growth_mb": rssAfterSteps - rssAfterWarmup, "steps": Double(steps), "batch": Double(batch),
        ]
        try printResult(result)
    }

    private func printResult(_ result: [String: Double]) throws {
        if json {
            let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for key in result.keys.sorted() { print(key.padding(toLength: 26, withPad: " ", startingAt: 0), String(format: "%.2f", result[key]!)) }
        }
    }
}
