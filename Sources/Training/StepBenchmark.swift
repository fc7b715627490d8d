import Foundation
import Layers
import SAVL
import SeededRandom
import Tensors

/// Times training steps of a configuration on random batches of its shapes (no photos are read).
public enum StepBenchmark {
    /// Milliseconds of each timed step of each stage, after `warmup` untimed steps of that stage.
    public struct Result: Sendable {
        public var stage1: [Double]
        public var stage2: [Double]
        public var parameterCount: Int
        /// Multiply-adds of the convolutions of one training step of each stage (see `convolutionMACs`).
        public var stage1MACs: Int
        public var stage2MACs: Int
    }

    /// Multiply-adds of the convolutions of one training step on `batch` LR crops of `side` px:
    /// three times the forward pass of every trained network (forward, backward to data, backward to
    /// weights), plus the encoder's forward pass alone in stage 2. Attention and elementwise operations
    /// are not counted, so for conv-block models this is a slight underestimate.
    public static func convolutionMACs(_ model: SAVLModel, batch: Int, side: Int, stage: Int) -> Int {
        var total = 0
        for (name, module) in model.namedModules() {
            guard let conv = module as? Conv2d else { continue }
            let w = conv.weight.value.shape
            // Every conv keeps its input's size; the SR network's upsamplers and tail work on larger images.
            var outputSide = side
            if name.hasPrefix("sr.upsample."), let index = Int(name.dropFirst("sr.upsample.".count)) { outputSide = side << index }
            if name == "sr.tail" { outputSide = side * model.config.scale }
            let macs = batch * outputSide * outputSide * w[0] * w[1] * w[2] * w[3]
            if stage == 2 && name.hasPrefix("decoder.") { continue }  // not run in stage 2
            total += stage == 2 && name.hasPrefix("encoder.") ? macs : 3 * macs
        }
        return total
    }

    /// Runs `warmup + steps` stage-1 steps, then as many stage-2 steps.
    public static func run(config: TrainingConfig, steps: Int, warmup: Int = 2) throws -> Result {
        var benchConfig = config
        benchConfig.stage1Steps = warmup + steps
        benchConfig.steps = 2 * (warmup + steps)
        let state = TrainingState(config: benchConfig)
        var rng = SeededGenerator(seed: 0)
        let n = config.batchSize, h = config.lrCropSize, s = config.model.scale
        let batch = TrainingBatch(step: 0, lr: Tensor.uniform([n, 3, h, h], using: &rng), hr: Tensor.uniform([n, 3, h * s, h * s], using: &rng),
                                  content: Tensor.uniform([n, 3, h, h], using: &rng),
                                  partner: Partner(lr: Tensor.uniform([n, 3, h, h], using: &rng), content: Tensor.uniform([n, 3, h, h], using: &rng)),
                                  maps: Tensor.uniform([n, SAVLConfig.oracleChannels, h, h], using: &rng))
        var times: [[Double]] = [[], []]
        for i in 0..<benchConfig.steps {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try state.step(batch)
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            if i % (warmup + steps) >= warmup { times[i / (warmup + steps)].append(ms) }
        }
        return Result(stage1: times[0], stage2: times[1], parameterCount: state.model.parameterCount,
                      stage1MACs: convolutionMACs(state.model, batch: n, side: h, stage: 1),
                      stage2MACs: convolutionMACs(state.model, batch: n, side: h, stage: 2))
    }
}
