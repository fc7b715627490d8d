import Evaluation
import Imaging

/// `savl eval --method model`: a SAVL model through the same tiled pipeline as `savl upscale`.
struct ModelUpscaler: Upscaler, @unchecked Sendable {
    let pipeline: UpscalePipeline
    let name: String

    init(_ loaded: UpscaleModels.Loaded, strength: Float, colourCorrection: Float = ColourCorrection.defaultSigma) throws {
        let config = loaded.model.config
        var pipeline = try UpscalePipeline(loaded, strength: strength, memoryBudget: UpscalePipeline.defaultMemoryBudgetMB << 20)
        pipeline.colourCorrection = ColourCorrection(sigma: colourCorrection)
        self.pipeline = pipeline
        let correction = colourCorrection > 0 ? "colour correction \(colourCorrection)" : "no colour correction"
        name = "savl \(config.preset) x\(config.scale) (\(loaded.source), \(correction))"
    }

    func upscale(_ image: Image, scale: Int) throws -> Image {
        guard scale == pipeline.resolver.scale else {
            throw MetricError("the model upscales x\(pipeline.resolver.scale), not x\(scale); pass --scale \(pipeline.resolver.scale)")
        }
        return try pipeline.run(image, width: image.width * scale, height: image.height * scale, alpha: .bicubic)
    }
}
