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
    /// The model, optimizer, EMA and generator.
    public let state: TrainingState
    /// The best validation score so far.
    public internal(set) var best: BestScore?
    /// Where progress and messages go.
    public let reporter: ProgressReporter
    /// The ranks of a data-parallel job (see `Trainer.joining`), or nil for one process.
    public internal(set) var parallel: DataParallel?

    let builder: BatchBuilder
    let validation: ValidationSet?
    /// The step of the newest checkpoint written or loaded.
    var savedStep: Int?

    /// Builds the model, optimizer, EMA, dataset and validation set of `config` (validated first).
    /// Ranks of a data-parallel job other than 0 (`parallel`) neither validate nor write.
    init(config: TrainingConfig, run: TrainingRun, reporter: ProgressReporter, parallel: DataParallel? = nil) throws {
        try config.validate()
        self.config = config
        self.run = run
        self.reporter = reporter
        self.parallel = parallel
        state = TrainingState(config: config)

        var local = config
        if !(parallel?.writes ?? true) { local.validation.folder = "" }
        try local.checkPaths()
        let d = config.data
        reporter.message("loading photos from \(d.folders.joined(separator: ", "))")
        let photos = try PhotoDataset(folders: d.folders.map { URL(fileURLWithPath: $0) }, maxImages: d.maxImages,
                                      jpegDownscale: d.jpegDownscale, minimumSide: d.hrCropSize)
        for (path, reason) in photos.skipped { reporter.message("warning: skipped \(path): \(reason)") }
        reporter.message("\(photos.photos.count) photos; model \(config.model.preset) x\(config.model.scale), \(state.model.parameterCount) parameters")
        builder = try BatchBuilder(photos: photos, config: config)
        if local.validation.folder.isEmpty {
            validation = nil
        } else {
            let set = try ValidationSet(config: config.validation, scale: config.model.scale)
            reporter.message("validation: \(set.items.count) images of \(config.validation.folder), bicubic PSNR \(String(format: "%.2f", set.bicubic.psnr)) dB")
            validation = set
        }
    }

    /// Steps completed.
    public var step: Int { state.step }

    /// Whether this process writes the run folder: one process, or rank 0 of a data-parallel job.
    public var writes: Bool { parallel?.writes ?? true }

    /// The trained model.
    public var model: SAVLModel { state.model }

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
        let prefetcher = BatchPrefetcher(builder: builder, steps: step..<end, capacity: config.data.prefetchBatches,
                                         pairs: parallel?.shard(batchSize: config.batchSize))
        defer { prefetcher.stop() }
        var windowStart = Date(), windowSteps = 0, windowWait = prefetcher.waitSeconds
        var rate = 0.0
        defer { reporter.finish() }

        while step < end {
            // In a data-parallel job the ranks stop together: the step's allreduce tells each whether any was asked to.
            if parallel.map({ $0.size > 1 ? $0.stopRequested : shouldStop() }) ?? shouldStop() {
                reporter.message("interrupted: saving a checkpoint at step \(step)")
                try saveCheckpoint()
                try finish()
                return .interrupted(step: step)
            }
            let batch = try prefetcher.next()
            precondition(batch.step == step, "batch of step \(batch.step) arrived for step \(step)")
            var entry: LogEntry
            do {
                entry = try state.step(batch, parallel: parallel, stop: parallel != nil && shouldStop())
            } catch let error as TrainingError {
                throw TrainingError(error.message + (savedStep.map { "; resume from the checkpoint of step \($0)" } ?? ""))
            }
            windowSteps += 1
            let elapsed = Date().timeIntervalSince(windowStart)
            let validates = validation != nil && (step == config.steps || (config.validation.every > 0 && step % config.validation.every == 0))
            let logs = step % config.logging.every == 0 || validates || step == end
            if logs {
                rate = Double(windowSteps) / max(elapsed, 1e-9)
                entry.stepsPerSecond = rate
                entry.dataWaitSeconds = prefetcher.waitSeconds - windowWait
                entry.precision = Engine.precision.rawValue
                (windowStart, windowSteps, windowWait) = (Date(), 0, prefetcher.waitSeconds)
            } else if rate == 0 {
                rate = Double(windowSteps) / max(elapsed, 1e-9)
            }
            if validates { try validate(into: &entry) }
            onStep?(entry)
            if let parallel, parallel.checkEvery > 0 && step % parallel.checkEvery == 0 || step == end { try parallel.checkWeights(state) }
            if logs && writes { try run.log.append(entry) }
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
        let evaluator = try state.inferenceModel()
        let score = try validation.score { try evaluator($0, maps: $1) }
        entry.validationPSNR = score.psnr
        entry.validationSSIM = score.ssim
        entry.bicubicPSNR = validation.bicubic.psnr
        let improved = best.map { score.psnr > $0.score.psnr } ?? true
        reporter.message(String(format: "validation at step %d: PSNR %.3f dB, SSIM %.4f (bicubic %.3f dB)%@",
                                step, score.psnr, score.ssim, validation.bicubic.psnr, improved ? ", best so far" : ""))
        if improved {
            best = BestScore(step: step, score: score)
            try run.checkpoints.saveBest(state.checkpoint(best: best))
            try run.writeWeights(state.inferenceWeights(), model: model, step: step, to: run.bestWeightsURL)
        }
    }

    /// Saves the checkpoint of the current step (unless it is the last one saved) and the latest inference weights.
    func saveCheckpoint() throws {
        guard savedStep != step, writes else { return }
        try run.checkpoints.save(state.checkpoint(best: best))
        try run.writeWeights(state.inferenceWeights(), model: model, step: step, to: run.weightsURL)
        savedStep = step
    }

    /// Saves what is not saved yet and draws the plot.
    func finish() throws {
        reporter.finish()
        try saveCheckpoint()
        writePlot()
    }

    func writePlot() {
        guard writes else { return }
        do {
            try TrainingPlot.write(entries: run.log.entries(), title: "\(run.folder.lastPathComponent): \(config.model.preset) x\(config.model.scale)",
                                   to: run.plotURL)
        } catch {
            reporter.message("warning: cannot draw \(run.plotURL.path): \(error)")
        }
    }
}
