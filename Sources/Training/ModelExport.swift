import Foundation
import Imaging
import SAVL
import SeededRandom
import Tensors

/// Turns a training run into a model file to ship: the run's EMA weights, the code of a clean image
/// (`clean_code`, which `savl upscale --strength` is measured against) and where the weights came from.
public enum ModelExport {
    /// What was exported.
    public struct Summary {
        public var step: Int
        public var cleanCode: [Float]?
        public var parameterCount: Int
    }

    /// Writes `output` atomically from the run in `runDirectory`: its best-validation weights, or the
    /// newest with `latest`, or the inference weights (EMA) of a checkpoint folder. r_clean is the mean
    /// posterior over the bicubic downscales of the run's validation photos (whole images, cropped to a
    /// multiple of the scale).
    public static func export(runDirectory: URL, to output: URL, latest: Bool = false, checkpoint: URL? = nil) throws -> Summary {
        let run = TrainingRun(folder: runDirectory, keepLast: 1)
        guard FileManager.default.fileExists(atPath: run.configURL.path) else {
            throw TrainingError("\(runDirectory.path): not a training run folder (it has no config.yml)")
        }
        let config = try TrainingConfig.load(contentsOf: run.configURL)
        let model: SAVLModel
        var fileMetadata: [String: String]
        if let checkpoint {
            let saved = try Checkpoint.read(from: checkpoint)
            var weights = saved.model
            for (name, value) in saved.ema { weights[name] = value }
            var unused = SeededGenerator(seed: 0)
            model = SAVLModel(saved.state.config.model, rng: &unused)
            try model.load(stateDict: weights)
            model.eval()
            fileMetadata = ["step": "\(saved.state.step)", "weights": "ema"]
        } else {
            let source = latest ? run.weightsURL : run.bestWeightsURL
            guard FileManager.default.fileExists(atPath: source.path) else {
                throw TrainingError("\(source.path): no such file; is \(runDirectory.path) a training run that has saved weights?")
            }
            (model, fileMetadata) = try ModelFile.load(from: source)
        }
        let code = try model.cleanCode(of: cleanImages(folder: config.validation.folder, scale: config.model.scale))
        var metadata = fileMetadata.filter { !["format", "architecture", "preset", "scale", "config"].contains($0.key) }
        metadata["training_steps"] = "\(config.steps)"
        metadata["training_data"] = config.data.folders.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ", ")
        metadata["training_degradation"] = config.data.mix.shares.filter { $0.1 > 0 }.map { "\($0.0.rawValue) \($0.1)" }.joined(separator: ", ")
        if let code { metadata["clean_code"] = code.map { String($0) }.joined(separator: ",") }
        try ModelFile.save(model, extraMetadata: metadata, to: output)
        return Summary(step: Int(fileMetadata["step"] ?? "") ?? 0, cleanCode: code, parameterCount: model.parameterCount)
    }

    /// The bicubic LR images of a folder's photos, as (1, 3, h, w) tensors (gray replicated to RGB).
    static func cleanImages(folder: String, scale: Int) throws -> [Tensor] {
        guard !folder.isEmpty else { throw TrainingError("the run has no validation folder to measure the clean code on") }
        return try PhotoDataset.imageFiles(in: [URL(fileURLWithPath: folder)]).map { file in
            let image = try readImage(at: file).rgb().quantized(bitDepth: 8)
            let (w, h) = (image.width / scale, image.height / scale)
            let lr = resize(image.cropped(x: 0, y: 0, width: w * scale, height: h * scale), width: w, height: h, method: .matlabBicubic)
                .quantized(bitDepth: 8)
            return Tensor(shape: [1, 3, h, w], values: lr.planes)
        }
    }
}
