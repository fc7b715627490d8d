import Foundation
import Layers
import SAVL
import SeededRandom
import Tensors

/// The model and everything that changes as it trains: Adam's moments, the EMA of the SR weights,
/// the generator of the posterior's samples, and the count of steps done.
///
/// `step(_:)` is one optimizer step exactly as the trainer takes it; a checkpoint holds this state
/// whole, so restoring it continues the same sequence of numbers.
public final class TrainingState {
    public let config: TrainingConfig
    public let model: SAVLModel
    /// Steps completed.
    public internal(set) var step = 0
    let optimizer: Adam
    let ema: ExponentialMovingAverage
    var posteriorGenerator: SeededGenerator

    /// The initial state of `config`'s run: weights drawn from its seed.
    public init(config: TrainingConfig) {
        self.config = config
        let root = SeededGenerator(seed: UInt64(config.seed))
        var weights = root.fork(StreamKey.weights)
        model = SAVLModel(config.model, rng: &weights)
        let o = config.optimizer
        optimizer = Adam(learningRate: o.learningRate, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay)
        ema = ExponentialMovingAverage(model.sr, decay: o.emaDecay)
        posteriorGenerator = root.fork(StreamKey.posterior)
    }

    /// One optimizer step on `batch` (the batch of step `step`): the objective of the step's stage,
    /// backward, gradient clipping, Adam at the scheduled learning rate, the EMA update.
    /// Returns the step's values; throws when the loss is not finite (nothing is updated then).
    ///
    /// In a data-parallel job (`parallel` of more than one rank) `batch` is this rank's shard; the gradients
    /// and the logged values are averaged over ranks before clipping, and `stop` tells the others that
    /// this rank was asked to stop.
    public func step(_ batch: TrainingBatch, parallel: DataParallel? = nil, stop: Bool = false) throws -> LogEntry {
        let stage = config.stage(ofStep: step)
        applyStage(stage)
        let lr = config.learningRate(atStep: step)
        optimizer.learningRate = lr
        let noise = try parallel?.posteriorNoise(config: config, stage: stage, lr: batch.lr, rng: &posteriorGenerator)
        let objective = try model.objective(lr: batch.lr, hr: batch.hr, content: batch.content, weights: config.objective,
                                            stage: stage, partner: batch.partner, maps: batch.maps, noise: noise, rng: &posteriorGenerator)
        var loss = try objective.total.item()
        var terms = [try objective.srL1.item(), try objective.reconstruction.item(), try objective.kl.item()]
        let shared = parallel.map { $0.size > 1 } ?? false
        if shared { try objective.total.backward() }   // every rank takes part in the allreduce, whatever its loss
        if let parallel, shared {
            let averaged = try parallel.average(gradientsOf: model.trainableParameters, terms: [loss] + terms, stop: stop)
            (loss, terms) = (averaged[0], Array(averaged[1...]))
        }
        guard loss.isFinite else {
            model.zeroGrad()
            throw TrainingError("step \(step + 1): the loss is \(loss); lower optimizer.learningRate or optimizer.gradientClipNorm")
        }
        if !shared { try objective.total.backward() }
        let parameters = model.trainableParameters
        let clip = config.optimizer.gradientClipNorm
        let norm = clipGradientNorm(parameters, maxNorm: clip > 0 ? clip : .greatestFiniteMagnitude)
        try optimizer.step(parameters)
        model.zeroGrad()
        try ema.update(decay: config.optimizer.emaWarmup ? ema.warmedUpDecay(step: step) : nil)
        step += 1
        return LogEntry(step: step, stage: stage, loss: loss, srL1: terms[0], reconstruction: terms[1], kl: terms[2],
                        learningRate: lr, gradientNorm: norm)
    }

    /// Freezes the encoder and decoder in stage 2 (they are trained in stage 1 only).
    func applyStage(_ stage: Int) {
        let trainable = stage == 1
        for module in [model.encoder as Module?, model.decoder as Module?].compactMap({ $0 }) {
            if module.namedParameters().first?.parameter.trainable != trainable { module.freeze(!trainable) }
        }
    }

    /// The model's parameters with the SR network's replaced by their EMA: the weights for inference.
    public func inferenceWeights() -> [String: Tensor] {
        var weights = model.stateDict()
        for (name, value) in ema.shadow { weights["sr.\(name)"] = value }
        return weights
    }

    /// A model in evaluation mode holding `inferenceWeights()`.
    public func inferenceModel() throws -> SAVLModel {
        var unused = SeededGenerator(seed: 0)
        let copy = SAVLModel(config.model, rng: &unused)
        try copy.load(stateDict: inferenceWeights())
        copy.eval()
        return copy
    }

    /// The state as a checkpoint, with the run's best score.
    func checkpoint(best: BestScore?) -> Checkpoint {
        let state = CheckpointState(step: step, posteriorGenerator: posteriorGenerator, best: best, config: config)
        return Checkpoint(state: state, model: model.stateDict(),
                          ema: Dictionary(uniqueKeysWithValues: ema.shadow.map { ("sr.\($0.key)", $0.value) }),
                          optimizer: optimizer.stateDict(model.namedParameters()))
    }

    /// Restores a verified checkpoint; names the file whose tensors do not fit the model.
    func restore(_ checkpoint: Checkpoint, from url: URL) throws {
        func fit(_ file: String, _ body: () throws -> Void) throws {
            do { try body() } catch { throw CheckpointError("\(url.appendingPathComponent(file).path): \(error)") }
        }
        try fit(Checkpoint.modelFile) { try model.load(stateDict: checkpoint.model) }
        try fit(Checkpoint.emaFile) {
            var shadow: [String: Tensor] = [:]
            for (name, value) in checkpoint.ema where name.hasPrefix("sr.") { shadow[String(name.dropFirst(3))] = value }
            try ema.load(shadow)
        }
        try fit(Checkpoint.optimizerFile) { try optimizer.load(stateDict: checkpoint.optimizer, model.namedParameters()) }
        step = checkpoint.state.step
        posteriorGenerator = checkpoint.state.posteriorGenerator
        applyStage(config.stage(ofStep: step))
    }
}
