import Evaluation
import Imaging
import Tensors

/// `savl eval --method model`: a SAVL model through the same tiled pipeline as `savl upscale`.
public struct ModelUpscaler: Upscaler, @unchecked Sendable {
    /// The pipeline of `savl upscale` with automatic tiles.
    public let pipeline: UpscalePipeline
    /// The model, its source and the colour correction, for reports.
    public let name: String

    /// The pipeline of a loaded model at `strength`, with a colour correction of `colourCorrection` LR pixels (0: off).
    public init(_ loaded: UpscaleModels.Loaded, strength: Float, colourCorrection: Float = ColourCorrection.defaultSigma) throws {
        let config = loaded.model.config
        var pipeline = try UpscalePipeline(loaded, strength: strength, memoryBudget: UpscalePipeline.defaultMemoryBudgetMB << 20)
        pipeline.colourCorrection = ColourCorrection(sigma: colourCorrection)
        self.pipeline = pipeline
        let correction = colourCorrection > 0 ? "colour correction \(colourCorrection)" : "no colour correction"
        name = "savl \(config.preset) x\(config.scale) (\(loaded.source), \(correction), \(Engine.precision))"
    }

    /// The upscaled image; refuses a scale other than the model's.
    public func upscale(_ image: Image, scale: Int) throws -> Image {
        guard scale == pipeline.resolver.scale else {
            throw MetricError("the model upscales x\(pipeline.resolver.scale), not x\(scale); pass --scale \(pipeline.resolver.scale)")
        }
        return try pipeline.run(image, width: image.width * scale, height: image.height * scale, alpha: .bicubic)
    }
}
