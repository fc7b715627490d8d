import ArgumentParser
import Foundation
import Layers
import Restoration
import Tensors

/// `savl bench`: the tensor engine on the reference network (`EngineBenchmark`), or a model's inference.
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
        try printResult(try EngineBenchmark.run(batch: batch, steps: steps))
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
