import FileSupport
import Foundation
import Layers
import SAVL
import Tensors

/// The folder of a training run:
///
/// ```
/// config.yml                  the resolved configuration
/// log.jsonl                   one JSON object per logged step
/// training.png                loss and validation curves
/// weights.safetensors         model file (`ModelFile`) with the EMA of the SR network, newest checkpoint
/// best-weights.safetensors    model file of the best validation score
/// checkpoints/step-00000200/  model, EMA and optimizer safetensors + state.json (newest `keepLast`)
/// checkpoints/best-step-00000150/
/// ```
public struct TrainingRun {
    public let folder: URL
    public let log: TrainingLog
    public let checkpoints: CheckpointStore

    public init(folder: URL, keepLast: Int) {
        self.folder = folder
        log = TrainingLog(url: folder.appendingPathComponent("log.jsonl"))
        checkpoints = CheckpointStore(folder: folder.appendingPathComponent("checkpoints"), keepLast: keepLast)
    }

    public var configURL: URL { folder.appendingPathComponent("config.yml") }
    public var plotURL: URL { folder.appendingPathComponent("training.png") }
    public var weightsURL: URL { folder.appendingPathComponent("weights.safetensors") }
    public var bestWeightsURL: URL { folder.appendingPathComponent("best-weights.safetensors") }

    /// Writes inference weights as a SAVL model file (`ModelFile`, loadable by `savl upscale`),
    /// adding the step and `weights: ema` to its metadata.
    func writeWeights(_ weights: [String: Tensor], model: SAVLModel, step: Int, to url: URL) throws {
        try ModelFile.save(model, weights: weights, extraMetadata: ["step": "\(step)", "weights": "ema"], to: url)
    }

    /// Writes the resolved configuration, atomically.
    func writeConfig(_ config: TrainingConfig) throws {
        let header = "# Resolved configuration of this run (every key, defaults filled in).\n"
        do {
            try Data((header + config.yaml()).utf8).write(to: configURL, options: .atomic)
        } catch {
            throw TrainingError("\(configURL.path): cannot write the configuration: \(FileErrors.reason(error, path: configURL.path))")
        }
    }
}

extension TrainingConfig {
    /// Checks that every folder the run reads (`data.folders`, `validation.folder`) exists, before any
    /// photo is loaded: a wrong path fails in a moment, naming its key, not after minutes of loading.
    public func checkPaths() throws {
        let named = data.folders.map { ("data.folders", $0) } + (validation.folder.isEmpty ? [] : [("validation.folder", validation.folder)])
        for (key, path) in named {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw DatasetError("\(key): \(path): no such folder")
            }
            guard isDirectory.boolValue else { throw DatasetError("\(key): \(path): a file, not a folder") }
        }
    }

    /// The configuration with relative data and validation folders made absolute against `directory`,
    /// so the run folder's copy works from anywhere.
    public func resolvingPaths(against directory: URL) -> TrainingConfig {
        func absolute(_ path: String) -> String {
            guard !path.isEmpty, !path.hasPrefix("/") else { return path }
            return directory.appendingPathComponent(path).standardizedFileURL.path
        }
        var out = self
        out.data.folders = data.folders.map(absolute)
        out.validation.folder = absolute(validation.folder)
        return out
    }
}

extension Trainer {
    /// Starts a new run in `runDirectory`, which must not hold a run already. The photos and the
    /// validation set are loaded before the folder is made, so bad data leaves nothing behind;
    /// then `config.yml` is written there.
    public convenience init(config: TrainingConfig, runDirectory: URL, reporter: ProgressReporter = ProgressReporter()) throws {
        try config.validate()
        let run = TrainingRun(folder: runDirectory, keepLast: config.checkpoints.keepLast)
        let fm = FileManager.default
        if fm.fileExists(atPath: run.configURL.path) || fm.fileExists(atPath: run.checkpoints.folder.path) {
            throw TrainingError("\(runDirectory.path) already holds a run; continue it with --resume \(runDirectory.path), or choose another --run-dir")
        }
        try self.init(config: config, run: run, reporter: reporter)
        do {
            try fm.createDirectory(at: run.checkpoints.folder, withIntermediateDirectories: true)
            try run.writeConfig(config)
        } catch {
            throw TrainingError("\(runDirectory.path): cannot create the run folder: \(FileErrors.reason(error, path: runDirectory.path))")
        }
    }

    /// Continues the run in `runDirectory` from its newest usable checkpoint (a truncated or corrupted
    /// newer one is refused with a warning). `steps` changes the total step count (the cosine schedule
    /// stretches with it, so only an unchanged total reproduces an uninterrupted run exactly).
    public static func resume(runDirectory: URL, steps: Int? = nil, reporter: ProgressReporter = ProgressReporter()) throws -> Trainer {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: runDirectory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TrainingError("\(runDirectory.path): no such run folder")
        }
        let store = TrainingRun(folder: runDirectory, keepLast: 1).checkpoints
        for name in store.removeStaleTemporaries() {
            reporter.message("removed \(name), a checkpoint left half-written by an interrupted run")
        }
        let (checkpoint, url) = try store.newestUsable { refusedURL, error in
            reporter.message("warning: refusing checkpoint \(refusedURL.lastPathComponent): \(error.message)")
        }
        var config = checkpoint.state.config
        if let steps {
            guard steps >= checkpoint.state.step else {
                throw TrainingError("--steps \(steps): the run is already at step \(checkpoint.state.step)")
            }
            config.steps = steps
        }
        try config.validate()
        let run = TrainingRun(folder: runDirectory, keepLast: config.checkpoints.keepLast)
        try run.writeConfig(config)
        reporter.message("resuming \(runDirectory.path) from \(url.lastPathComponent) (step \(checkpoint.state.step) of \(config.steps))")
        let trainer = try Trainer(config: config, run: run, reporter: reporter)
        try trainer.state.restore(checkpoint, from: url)
        trainer.best = checkpoint.state.best
        trainer.savedStep = checkpoint.state.step
        try run.log.truncate(after: checkpoint.state.step)
        return trainer
    }
}
