import Degradations
import Foundation
import Layers
import SAVL

/// Everything a training run needs, with documented defaults (the `small` x4 run).
///
/// Loaded from YAML by `TrainingConfig.load(yaml:overrides:)`: keys left out keep these defaults,
/// an unknown key is an error naming it, and `validate()` names the first bad value.
/// The resolved configuration is written into the run folder as `config.yml`.
///
/// ```yaml
/// seed: 0
/// steps: 3600
/// model: {preset: small, scale: 4}
/// data: {folders: [../shared/data/train], mix: {bicubic: 0.2, mild: 0.2, realesrgan: 0.3, heterogeneous: 0.3}}
/// ```
public struct TrainingConfig: Codable, Equatable, Sendable {
    /// Seed of everything random: initial weights, batches, the posterior's samples (0).
    public var seed: Int = 0
    /// Total optimizer steps of the run, both stages (3600). `savl train --steps` overrides it.
    public var steps: Int = 3600
    /// Steps of stage 1 (joint training of encoder, decoder and SR network); stage 2 follows
    /// with the encoder frozen (1200).
    public var stage1Steps: Int = 1200
    /// Training pairs per step (16).
    public var batchSize: Int = 16
    /// The networks; any field of `SAVLConfig`, starting from `preset` at `scale` (small, x4).
    public var model: SAVLConfig = try! SAVLConfig.preset("small", scale: 4)
    /// Weights of the stage-1 objective L1 + alpha L_rec + beta KL (alpha 1, beta 0.01).
    public var objective = ObjectiveWeights()
    /// Adam, learning-rate schedule, clipping and EMA.
    public var optimizer = OptimizerConfig()
    /// Training photos and how pairs are made from them.
    public var data = DataConfig()
    /// The fixed validation set and how often it is scored.
    public var validation = ValidationConfig()
    /// How often checkpoints are written and how many are kept.
    public var checkpoints = CheckpointConfig()
    /// How often a log line is written.
    public var logging = LoggingConfig()

    /// The `small` x4 defaults.
    public init() {}

    /// The stage of the step with 0-based index `step`: 1 before `stage1Steps`, then 2.
    public func stage(ofStep step: Int) -> Int { step < stage1Steps ? 1 : 2 }

    /// The learning rate of the 0-based `step`: each stage warms up linearly over `optimizer.warmupSteps`,
    /// then decays by a cosine to `optimizer.minimumLearningRate` at the stage's end.
    public func learningRate(atStep step: Int) -> Float {
        let stage1 = min(stage1Steps, steps)
        let (start, length) = stage(ofStep: step) == 1 ? (0, stage1) : (stage1, steps - stage1)
        let o = optimizer
        return CosineSchedule(base: o.learningRate, warmupSteps: min(o.warmupSteps, max(length - 1, 0)), totalSteps: length,
                              minimum: o.minimumLearningRate)(step - start)
    }

    /// The LR side of a training crop.
    public var lrCropSize: Int { data.hrCropSize / model.scale }
}

/// Adam (beta1, beta2), the learning-rate schedule, gradient clipping and the EMA of the SR weights.
public struct OptimizerConfig: Codable, Equatable, Sendable {
    /// Peak learning rate (2e-4).
    public var learningRate: Float = 2e-4
    /// Learning rate at the end of each stage's cosine decay (1e-6).
    public var minimumLearningRate: Float = 1e-6
    /// Linear warm-up steps at the start of each stage (100). Each stage has its own warm-up and
    /// cosine decay, as the method trains its two stages as two runs.
    public var warmupSteps: Int = 100
    /// Adam's beta1 (0.9).
    public var beta1: Float = 0.9
    /// Adam's beta2 (0.99).
    public var beta2: Float = 0.99
    /// Adam's epsilon (1e-8).
    public var eps: Float = 1e-8
    /// L2 weight decay added to the gradient (0).
    public var weightDecay: Float = 0
    /// Largest global gradient norm; larger gradients are scaled down to it (1). 0 turns clipping off.
    public var gradientClipNorm: Float = 1
    /// Decay of the exponential moving average of the SR network's weights (0.999).
    public var emaDecay: Float = 0.999
    /// Whether the average's decay warms up, min(emaDecay, (1 + t) / (10 + t)) at step t (true), so a run
    /// of a few thousand steps is not pulled toward its initial weights; false keeps emaDecay from the
    /// first step (the recipe of models v1 and v2 and of the experiments before it).
    public var emaWarmup: Bool = true

    /// The defaults above.
    public init() {}
}

/// The shares of the degradation presets among the training pairs; they sum to 1.
///
/// Clean (`bicubic`) and `mild` pairs teach the model to recognise a photo that needs little
/// restoration; without them every input is treated as damaged.
public struct DegradationMix: Codable, Equatable, Sendable {
    /// MATLAB bicubic downscale only (0.2).
    public var bicubic: Double = 0.2
    /// Light blur, low noise, JPEG 75-95 (0.2).
    public var mild: Double = 0.2
    /// Real-ESRGAN's second-order pipeline (0.3).
    public var realesrgan: Double = 0.3
    /// The second-order pipeline with spatially varying blur, noise and JPEG (0.3).
    public var heterogeneous: Double = 0.3

    /// The default shares above.
    public init() {}

    /// The given shares.
    public init(bicubic: Double, mild: Double, realesrgan: Double, heterogeneous: Double) {
        (self.bicubic, self.mild, self.realesrgan, self.heterogeneous) = (bicubic, mild, realesrgan, heterogeneous)
    }

    /// All pairs from one preset.
    public static func only(_ preset: DegradationPreset) -> DegradationMix {
        DegradationMix(bicubic: preset == .bicubic ? 1 : 0, mild: preset == .mild ? 1 : 0,
                       realesrgan: preset == .realesrgan ? 1 : 0, heterogeneous: preset == .heterogeneous ? 1 : 0)
    }

    /// Every preset with its share, in a fixed order.
    public var shares: [(DegradationPreset, Double)] {
        [(.bicubic, bicubic), (.mild, mild), (.realesrgan, realesrgan), (.heterogeneous, heterogeneous)]
    }

    /// The preset a uniform draw `u` in [0, 1) falls on.
    public func preset(at u: Double) -> DegradationPreset {
        var rest = u
        for (preset, share) in shares where share > 0 {
            if rest < share { return preset }
            rest -= share
        }
        return shares.last { $0.1 > 0 }!.0
    }
}

/// The training photos and how pairs are made from them.
public struct DataConfig: Codable, Equatable, Sendable {
    /// Folders searched recursively for PNG, JPEG and WebP photos; relative paths start at the current
    /// directory (["../shared/data/train"]).
    public var folders: [String] = ["../shared/data/train"]
    /// Use at most this many photos (the first in path order); 0 means all (0).
    public var maxImages: Int = 0
    /// JPEG photos are shrunk by this factor (MATLAB bicubic) when loaded, to hide their
    /// compression artefacts, or by less where the factor would leave them smaller than the crop;
    /// 1 keeps them as they are (2).
    public var jpegDownscale: Int = 2
    /// Side of the random HR crops, a multiple of the scale (192 for x4: 48 px LR).
    public var hrCropSize: Int = 192
    /// Random horizontal flips (true).
    public var flips: Bool = true
    /// Random 90-degree rotations (true).
    public var rotations: Bool = true
    /// The shares of the degradation presets that make the LR of each pair (0.2 bicubic, 0.2 mild,
    /// 0.3 realesrgan, 0.3 heterogeneous).
    public var mix = DegradationMix()
    /// Batches prepared ahead by the background worker (3).
    public var prefetchBatches: Int = 3

    /// The defaults above.
    public init() {}
}

/// The small fixed validation set: centre crops of a few HR images, degraded once with a fixed seed.
public struct ValidationConfig: Codable, Equatable, Sendable {
    /// Folder of HR images (the first `images` in name order are used); relative paths start at the
    /// current directory. Empty turns validation off ("../shared/data/eval/Set5").
    public var folder: String = "../shared/data/eval/Set5"
    /// Number of images (5).
    public var images: Int = 5
    /// Side of the centre crop of each HR image, a multiple of the scale (128).
    public var hrCropSize: Int = 128
    /// How the validation LR images are made (heterogeneous).
    public var degradation: DegradationPreset = .heterogeneous
    /// Seed of the validation degradations, independent of the training seed (0).
    public var seed: Int = 0
    /// Score the EMA weights every this many steps, and at the end (200). 0 scores only at the end.
    public var every: Int = 200

    /// The defaults above.
    public init() {}
}

/// When checkpoints are written and how many stay.
public struct CheckpointConfig: Codable, Equatable, Sendable {
    /// Write a checkpoint every this many steps, and at the end and on interrupt (200).
    public var every: Int = 200
    /// Keep the newest this many step checkpoints; the best one is kept besides them (3).
    public var keepLast: Int = 3

    /// The defaults above.
    public init() {}
}

/// When progress is logged.
public struct LoggingConfig: Codable, Equatable, Sendable {
    /// Append a line to `log.jsonl` (and print progress) every this many steps (10).
    public var every: Int = 10
    /// Redraw `training.png` in the run folder at every validation, besides the end (true).
    public var plotAtValidation: Bool = true

    /// The defaults above.
    public init() {}
}

/// A configuration that cannot be used, naming the key at fault.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The message, starting with the dotted key (`optimizer.learningRate: must be positive, got -1`).
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension TrainingConfig {
    /// Checks every value before any work starts; the error names the first bad key.
    public func validate() throws {
        func check(_ ok: Bool, _ key: String, _ rule: @autoclosure () -> String) throws {
            if !ok { throw ConfigError("\(key): \(rule())") }
        }
        do { try model.validate() } catch let error as SAVLError { throw ConfigError(error.message) }
        try check(seed >= 0, "seed", "must not be negative, got \(seed)")
        try check(steps >= 1, "steps", "must be at least 1, got \(steps)")
        try check(stage1Steps >= 0, "stage1Steps", "must not be negative, got \(stage1Steps)")
        try check(stage1Steps > 0 || model.code == .none, "stage1Steps",
                  "must be at least 1 when the model has a degradation encoder (stage 2 freezes it untrained)")
        try check(batchSize >= 1, "batchSize", "must be at least 1, got \(batchSize)")
        try check(objective.alpha >= 0 && objective.alpha.isFinite, "objective.alpha", "must be a finite number >= 0, got \(objective.alpha)")
        try check(objective.beta >= 0 && objective.beta.isFinite, "objective.beta", "must be a finite number >= 0, got \(objective.beta)")
        try check(objective.freeBits >= 0 && objective.freeBits.isFinite, "objective.freeBits",
                  "must be a finite number of nats >= 0, got \(objective.freeBits)")

        let o = optimizer
        try check(o.learningRate > 0 && o.learningRate.isFinite, "optimizer.learningRate", "must be positive, got \(o.learningRate)")
        try check(o.minimumLearningRate >= 0 && o.minimumLearningRate <= o.learningRate, "optimizer.minimumLearningRate",
                  "must be in [0, learningRate = \(o.learningRate)], got \(o.minimumLearningRate)")
        try check(o.warmupSteps >= 0, "optimizer.warmupSteps", "must not be negative, got \(o.warmupSteps)")
        try check(o.beta1 >= 0 && o.beta1 < 1, "optimizer.beta1", "must be in [0, 1), got \(o.beta1)")
        try check(o.beta2 >= 0 && o.beta2 < 1, "optimizer.beta2", "must be in [0, 1), got \(o.beta2)")
        try check(o.eps > 0, "optimizer.eps", "must be positive, got \(o.eps)")
        try check(o.weightDecay >= 0, "optimizer.weightDecay", "must not be negative, got \(o.weightDecay)")
        try check(o.gradientClipNorm >= 0, "optimizer.gradientClipNorm", "must not be negative (0 turns clipping off), got \(o.gradientClipNorm)")
        try check(o.emaDecay >= 0 && o.emaDecay < 1, "optimizer.emaDecay", "must be in [0, 1), got \(o.emaDecay)")

        let d = data
        let scale = model.scale
        try check(!d.folders.isEmpty && d.folders.allSatisfy { !$0.isEmpty }, "data.folders", "needs at least one folder")
        try check(d.maxImages >= 0, "data.maxImages", "must not be negative (0 means all), got \(d.maxImages)")
        try check((1...8).contains(d.jpegDownscale), "data.jpegDownscale", "must be in 1...8, got \(d.jpegDownscale)")
        try check(d.hrCropSize % scale == 0, "data.hrCropSize", "must be a multiple of the scale \(scale), got \(d.hrCropSize)")
        try check(d.hrCropSize / scale >= 8, "data.hrCropSize", "must give an LR crop of at least 8 px (\(8 * scale) at x\(scale)), got \(d.hrCropSize)")
        if model.blockKind == .attention {
            try check(lrCropSize % model.windowSize == 0, "data.hrCropSize",
                      "must give an LR crop that is a multiple of the attention window \(model.windowSize), got \(lrCropSize) px")
        }
        for (preset, share) in d.mix.shares {
            try check(share >= 0 && share <= 1, "data.mix.\(preset.rawValue)", "must be in [0, 1], got \(share)")
        }
        let total = d.mix.shares.reduce(0) { $0 + $1.1 }
        try check(abs(total - 1) < 1e-6, "data.mix", "shares must sum to 1, got \(total)")
        try check(d.prefetchBatches >= 1, "data.prefetchBatches", "must be at least 1, got \(d.prefetchBatches)")

        let v = validation
        if !v.folder.isEmpty {
            try check(v.images >= 1, "validation.images", "must be at least 1, got \(v.images)")
            try check(v.hrCropSize % scale == 0, "validation.hrCropSize", "must be a multiple of the scale \(scale), got \(v.hrCropSize)")
            try check(v.hrCropSize / scale >= 8, "validation.hrCropSize",
                      "must give an LR crop of at least 8 px (\(8 * scale) at x\(scale)), got \(v.hrCropSize)")
            try check(v.seed >= 0, "validation.seed", "must not be negative, got \(v.seed)")
            try check(v.every >= 0, "validation.every", "must not be negative (0 scores only at the end), got \(v.every)")
        }
        try check(checkpoints.every >= 1, "checkpoints.every", "must be at least 1, got \(checkpoints.every)")
        try check(checkpoints.keepLast >= 1, "checkpoints.keepLast", "must be at least 1, got \(checkpoints.keepLast)")
        try check(logging.every >= 1, "logging.every", "must be at least 1, got \(logging.every)")
    }
}
