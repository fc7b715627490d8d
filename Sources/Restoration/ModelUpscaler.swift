import Evaluation
import Foundation
import Imaging
import SAVL
import Tensors

/// `savl eval --method model`: a SAVL model through the same tiled pipeline as `savl upscale`.
public struct ModelUpscaler: Upscaler, @unchecked Sendable {
    /// The pipeline of `savl upscale` with automatic tiles.
    public let pipeline: UpscalePipeline
    /// The model, its source and the colour correction, for reports.
    public let name: String
    /// For an `oracle` model: the ground-truth maps of an LR image (`SAVLConfig.oracleChannels` planes of
    /// its size) from its file (nil: a bicubic downscale the benchmark made) and its width and height.
    public let oracleMaps: (@Sendable (URL?, Int, Int) throws -> Image)?

    /// The pipeline of a loaded model at `strength`, with a colour correction of `colourCorrection` LR pixels
    /// (0: off); `oracleMaps` gives an oracle model its maps.
    public init(_ loaded: UpscaleModels.Loaded, strength: Float, colourCorrection: Float = ColourCorrection.defaultSigma,
                oracleMaps: (@Sendable (URL?, Int, Int) throws -> Image)? = nil) throws {
        guard (loaded.model.config.code == .oracle) == (oracleMaps != nil) else {
            throw SAVLError(oracleMaps == nil
                ? "\(loaded.source) is an oracle model: it reads ground-truth degradation maps (savl eval --oracle-maps)"
                : "--oracle-maps is for an oracle model; \(loaded.source) infers the degradation itself")
        }
        self.oracleMaps = oracleMaps
        let config = loaded.model.config
        var pipeline = try UpscalePipeline(loaded, strength: strength, memoryBudget: UpscalePipeline.defaultMemoryBudgetMB << 20)
        pipeline.colourCorrection = ColourCorrection(sigma: colourCorrection)
        self.pipeline = pipeline
        let correction = colourCorrection > 0 ? "colour correction \(colourCorrection)" : "no colour correction"
        name = "savl \(config.preset) x\(config.scale) (\(loaded.source), \(correction), \(Engine.precision))"
    }

    /// The upscaled image; refuses a scale other than the model's.
    public func upscale(_ image: Image, scale: Int) throws -> Image {
        try upscale(image, scale: scale, lrFile: nil)
    }

    /// The upscaled image of an LR image read from `lrFile` (nil: a bicubic downscale).
    public func upscale(_ image: Image, scale: Int, lrFile: URL?) throws -> Image {
        guard scale == pipeline.resolver.scale else {
            throw MetricError("the model upscales x\(pipeline.resolver.scale), not x\(scale); pass --scale \(pipeline.resolver.scale)")
        }
        let maps = try oracleMaps?(lrFile, image.width, image.height)
        return try pipeline.run(image, width: image.width * scale, height: image.height * scale, alpha: .bicubic, oracleMaps: maps)
    }
}
