import Foundation
import Layers
import SeededRandom
import Tensors

/// A SAVL model saved for inference: one safetensors file whose metadata says what it is.
///
/// Metadata keys: `format` = `savl-model`, `architecture` = `savl`, `preset`, `scale`, and `config`
/// (the full `SAVLConfig` as JSON), so a file names its architecture and a wrong file gives an error
/// that says what does not match. Tensors are the model's parameters under their dotted names.
public enum ModelFile {
    /// The `format` metadata value of a model file.
    public static let format = "savl-model"

    /// Writes the model's parameters (or `weights`, e.g. an EMA, by the same names) atomically.
    public static func save(_ model: SAVLModel, weights: [String: Tensor]? = nil, extraMetadata: [String: String] = [:], to url: URL) throws {
        let config = String(decoding: try JSONEncoder().encode(model.config), as: UTF8.self)
        var metadata = extraMetadata
        metadata["format"] = format
        metadata["architecture"] = "savl"
        metadata["preset"] = model.config.preset
        metadata["scale"] = String(model.config.scale)
        metadata["config"] = config
        try SafeTensors.write(weights ?? model.stateDict(), metadata: metadata, to: url)
    }

    /// Reads a model file and builds the model it describes, with its weights loaded.
    public static func load(from url: URL) throws -> (model: SAVLModel, metadata: [String: String]) {
        try load(SafeTensorsFile(contentsOf: url))
    }

    /// Builds the model a decoded model file describes (e.g. the bytes of an embedded model), with its
    /// weights loaded; errors name `file.source`.
    public static func load(_ file: SafeTensorsFile) throws -> (model: SAVLModel, metadata: [String: String]) {
        let path = file.source
        guard file.metadata["format"] == format, file.metadata["architecture"] == "savl" else {
            let found = file.metadata["architecture"].map { "architecture '\($0)'" } ?? "no architecture in its metadata"
            throw SAVLError("\(path): not a savl model file (\(found); expected format '\(format)', architecture 'savl')")
        }
        guard let json = file.metadata["config"]?.data(using: .utf8) else {
            throw SAVLError("\(path): the metadata has no 'config'")
        }
        let config: SAVLConfig
        do {
            config = try JSONDecoder().decode(SAVLConfig.self, from: json)
            try config.validate()
        } catch {
            throw SAVLError("\(path): the model configuration is unreadable: \(error)")
        }
        var rng = SeededGenerator(seed: 0)
        let model = SAVLModel(config, rng: &rng)
        do {
            try model.load(stateDict: file.tensors)
        } catch {
            throw SAVLError("\(path): weights do not match the \(config.preset) x\(config.scale) architecture: \(error)")
        }
        model.eval()
        return (model, file.metadata)
    }
}

extension SAVLModel {
    /// r_clean, the code of a clean image: the posterior mean averaged over every pixel of `images`
    /// (clean LR batches (N, 3, h, w), e.g. bicubic downscales of sharp photos). `savl upscale --strength`
    /// measures a photo's code against it. Nil for the no-code ablation.
    public func cleanCode(of images: [Tensor]) throws -> [Float]? {
        guard let encoder, !images.isEmpty else { return nil }
        let d = config.latentDim
        var sums = [Double](repeating: 0, count: d)
        var count = 0
        try GradMode.withoutGrad {
            for image in images {
                let mean = try encoder(image).mean
                let (n, pixels) = (mean.shape[0], mean.shape[2] * mean.shape[3])
                let values = mean.values
                for b in 0..<n {
                    for c in 0..<d {
                        let start = (b * d + c) * pixels
                        sums[c] += values[start..<(start + pixels)].reduce(0.0) { $0 + Double($1) }
                    }
                }
                count += n * pixels
            }
        }
        return sums.map { Float($0 / Double(count)) }
    }
}
