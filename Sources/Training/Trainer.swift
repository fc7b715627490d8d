import Foundation
import Layers
import SAVL
import SeededRandom
import Tensors

/// A failure during training, with what to do about it.
public struct TrainingError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// How `Trainer.train` ended.
public enum TrainingOutcome: Equatable, Sendable {
    /// All `config.steps` steps are done.
    case finished(step: Int)
    /// The requested stop step was reached before the end of the schedule; a checkpoint was saved.
    case stopped(step: Int)
    /// `shouldStop` asked to stop (Ctrl-C); a checkpoint was saved.
    case interrupted(step: Int)
}

/// Trains a SAVL model: stage 1 jointly (L1 + alpha L_rec + beta KL), then stage 2 with the encoder
/// frozen (L1); Adam with a warm-up and cosine decay per stage, gradient clipping, an EMA of the SR
/// weights, validation, checkpoints, `log.jsonl` and a progress line.
///
/// A run lives in one folder (see `TrainingRun`). Resuming restores weights, EMA, Adam's moments,
/// the posterior's generator and the step; batches are a function of (seed, step), so the steps after
/// a resume compute the same losses, bit for bit, as an uninterrupted run.
///
/// ```swift
/// let trainer = try Trainer(config: config, runDirectory: URL(fileURLWithPath: "runs/tiny"))
/// let outcome = try trainer.train(shouldStop: { interrupted })
/// // later: try Trainer.resume(runDirectory: URL(fileURLWithPath: "runs/tiny")).train()
/// ```
public final class Trainer {
    public let config: TrainingConfig
    public let run: TrainingRun
    public let model: SAVLModel
    /// Steps completed.
    public internal(set) var step = 0
    /// The best validation score so far.
    public internal(set) var best: BestScore?
    /// Where progress and messages go.
    public let reporter: ProgressReporter

    let optimizer: Adam
    let ema: ExponentialMovingAverage
    var posteriorGenerator: SeededGenerator
    let builder: BatchBuilder
    let validation: ValidationSet?
    /// The step of the newest checkpoint written or loaded.
    var savedStep: Int?

    /// Builds the model, optimizer, EMA, dataset and validation set of `config` (validated first).
    init(config: TrainingConfig, run: TrainingRun, reporter: ProgressReporter) throws {
        try config.validate()
        self.config = config
        self.run = run
        self.reporter = reporter
        let root = SeededGenerator(seed: UInt64(config.seed))
        var weights = root.fork(StreamKey.weights)
        model = SAVLModel(config.model, rng: &weights)
        let o = config.optimizer
        optimizer = Adam(learningRate: o.learningRate, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay)
        ema = ExponentialMovingAverage(model.sr, decay: o.emaDecay)
        posteriorGenerator = root.fork(StreamKey.posterior)

        let d = config.data
        reporter.message("loading photos from \(d.folders.joined(separator: ", "))")
        let photos = try PhotoDataset(folders: d.folders.map { URL(fileURLWithPath: $0) }, maxImages: d.maxImages,
                                      jpegDownscale: d.jpegDownscale, minimumSide: d.hrCropSize)
        for (path, reason) in photos.skipped { reporter.message("warning: skipped \(path): \(reason)") }
        reporter.message("\(photos.photos.count) photos; model \(config.model.preset) x\(config.model.scale), \(model.parameterCount) parameters")
        builder = try BatchBuilder(photos: photos, config: config)
        if config.validation.folder.isEmpty {
            validation = nil
        } else {
            let set = try ValidationSet(config: config.validation, scale: config.model.scale)
            reporter.message("validation: \(set.items.count) images of \(config.validation.folder), bicubic PSNR \(String(format: "%.2f", set.bicubic.psnr)) dB")
            validation = set
        }
    }

    /// The learning rate of the 0-based `step`: each stage warms up linearly, then decays by a cosine.
    public func learningRate(at step: Int) -> Float {
        let stage1 = min(config.stage1Steps, config.steps)
        let (start, length) = config.stage(ofStep: step) == 1 ? (0, stage1) : (stage1, config.steps - stage1)
        let o = config.optimizer
        return CosineSchedule(base: o.learningRate, warmupSteps: min(o.warmupSteps, max(length - 1, 0)), totalSteps: length,
                              minimum: o.minimumLearningRate)(step - start)
    }

    /// Freezes the encoder and decoder in stage 2 (they are trained in stage 1 only).
    func applyStage(_ stage: Int) {
        let trainable = stage == 1
        for module in [model.encoder as Module?, model.decoder as Module?].compactMap({ $0 }) {
            if module.namedParameters().first?.parameter.trainable != trainable { module.freeze(!trainable) }
        }
    }

    /// Trains until `config.steps` (or `stopStep`, if sooner), or until `shouldStop` returns true
    /// between steps. Writes a checkpoint whenever it stops.
    /// - Parameter onStep: called after every step with its values (the log keeps every `logging.every`-th).
    @discardableResult
    public func train(until stopStep: Int? = nil, shouldStop: () -> Bool = { false },
                      onStep: ((LogEntry) -> Void)? = nil) throws -> TrainingOutcome {
        let end = min(stopStep ?? config.steps, config.steps)
        if step >= end {
            try finish()
            return step >= config.steps ? .finished(step: step) : .stopped(step: step)
        }
        let prefetcher = BatchPrefetcher(builder: builder, steps: step..<end, capacity: config.data.prefetchBatches)
        defer { prefetcher.stop() }
        let clip = config.optimizer.gradientClipNorm > 0 ? config.optimizer.gradientClipNorm : .greatestFiniteMagnitude
        var windowStart = Date(), windowSteps = 0, windowWait = prefetcher.waitSeconds
        var rate = 0.0
        defer { reporter.finish() }

        while step < end {
            if shouldStop() {
                reporter.message("interrupted: saving a checkpoint at step \(step)")
                try saveCheckpoint()
                try finish()
                return .interrupted(step: step)
            }
            let stage = config.stage(ofStep: step)
            applyStage(stage)
            let batch = try prefetcher.next()
            precondition(batch.step == step, "batch of step \(batch.step) arrived for step \(step)")
            let lr = learningRate(at: step)
            optimizer.learningRate = lr
            let objective = try model.objective(lr: batch.lr, hr: batch.hr, content: batch.content, weights: config.objective,
                                                stage: stage, rng: &posteriorGenerator)
            let loss = try objective.total.item()
            guard loss.isFinite else {
                throw TrainingError("step \(step + 1): the loss is \(loss); lower optimizer.learningRate or optimizer.gradientClipNorm"
                                    + (savedStep.map { " and resume from the checkpoint of step \($0)" } ?? ""))
            }
            try objective.total.backward()
            let parameters = model.trainableParameters
            let norm = clipGradientNorm(parameters, maxNorm: clip)
            try optimizer.step(parameters)
            model.zeroGrad()
            try ema.update()
            step += 1

            var entry = LogEntry(step: step, stage: stage, loss: loss, srL1: try objective.srL1.item(),
                                 reconstruction: try objective.reconstruction.item(), kl: try objective.kl.item(),
                                 learningRate: lr, gradientNorm: norm)
            windowSteps += 1
            let elapsed = Date().timeIntervalSince(windowStart)
            let validates = validation != nil && (step == config.steps || (config.validation.every > 0 && step % config.validation.every == 0))
            let logs = step % config.logging.every == 0 || validates || step == end
            if logs {
                rate = Double(windowSteps) / max(elapsed, 1e-9)
                entry.stepsPerSecond = rate
                entry.dataWaitSeconds = prefetcher.waitSeconds - windowWait
                (windowStart, windowSteps, windowWait) = (Date(), 0, prefetcher.waitSeconds)
            } else if rate == 0 {
                rate = Double(windowSteps) / max(elapsed, 1e-9)
            }
            if validates { try validate(into: &entry) }
            onStep?(entry)
            if logs { try run.log.append(entry) }
            reporter.progress(entry, totalSteps: config.steps, stepsPerSecond: rate, logged: logs)
            if step % config.checkpoints.every == 0 || step == end { try saveCheckpoint() }
            if validates && config.logging.plotAtValidation { writePlot() }
        }
        try finish()
        return step >= config.steps ? .finished(step: step) : .stopped(step: step)
    }

    /// Scores the EMA weights on the validation set, keeps the best, and adds the scores to `entry`.
    func validate(into entry: inout LogEntry) throws {
        guard let validation else { return }
        let evaluator = try inferenceModel()
        let score = try validation.score { try evaluator($0) }
        entry.validationPSNR = score.psnr
        entry.validationSSIM = score.ssim
        entry.bicubicPSNR = validation.bicubic.psnr
        let improved = best.map { score.psnr > $0.score.psnr } ?? true
        reporter.message(String(format: "validation at step %d: PSNR %.3f dB, SSIM %.4f (bicubic %.3f dB)%@",
                                step, score.psnr, score.ssim, validation.bicubic.psnr, improved ? ", best so far" : ""))
        if improved {
            best = BestScore(step: step, score: score)
            try run.checkpoints.saveBest(checkpoint())
            try run.writeWeights(inferenceWeights(), config: config.model, step: step, to: run.bestWeightsURL)
        }
    }

    /// A model holding the weights used for inference: the EMA of the SR network, the encoder as trained.
    public func inferenceModel() throws -> SAVLModel {
        var unused = SeededGenerator(seed: 0)
        let copy = SAVLModel(config.model, rng: &unused)
        try copy.load(stateDict: inferenceWeights())
        copy.eval()
        return copy
    }

    /// The model's parameters with the SR network's replaced by their EMA.
    public func inferenceWeights() -> [String: Tensor] {
        var weights = model.stateDict()
        for (name, value) in ema.shadow { weights["sr.\(name)"] = value }
        return weights
    }

    /// Saves the checkpoint of the current step (unless it is the last one saved) and the latest inference weights.
    func saveCheckpoint() throws {
        guard savedStep != step else { return }
        try run.checkpoints.save(checkpoint())
        try run.writeWeights(inferenceWeights(), config: config.model, step: step, to: run.weightsURL)
        savedStep = step
    }

    /// Saves what is not saved yet and draws the plot.
    func finish() throws {
        reporter.finish()
        try saveCheckpoint()
        writePlot()
    }

    func writePlot() {
        do {
            try TrainingPlot.write(entries: run.log.entries(), title: "\(run.folder.lastPathComponent): \(config.model.preset) x\(config.model.scale)",
                                   to: run.plotURL)
        } catch {
            reporter.message("warning: cannot draw \(run.plotURL.path): \(error)")
        }
    }
}
