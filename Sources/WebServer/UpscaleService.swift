import Foundation
import Imaging
import Restoration

/// What a finished job keeps: the upscaled file and the pictures of `savl inspect`.
public struct UpscaleResult: Sendable {
    /// The output file's bytes.
    public var bytes: [UInt8]
    /// Its format.
    public var format: ImageFormat
    /// A file name for downloading it.
    public var fileName: String
    /// The degradation-code picture as PNG (none for a model without a code).
    public var code: [UInt8]?
    /// The severity picture as PNG, when the code has a variance.
    public var severity: [UInt8]?
    /// The JSON report of `savl inspect` (value ranges, principal axes), when there is a code.
    public var report: [UInt8]?
}

/// One upload waiting for a worker: its bytes, its name and what was asked.
public struct UpscaleInput: Sendable {
    /// The uploaded file.
    public var bytes: [UInt8]
    /// Its label (never a path).
    public var name: String
    /// The options asked for.
    public var request: UpscaleRequest
}

/// The work of `savl serve`: the embedded (or given) model, loaded once, run over uploads with the
/// pipeline of `savl upscale`, so that a result has the bytes `savl upscale` writes for the same photo
/// and options; then the degradation field of `savl inspect`.
public final class UpscaleService: @unchecked Sendable {
    /// The model; read-only while jobs run.
    public let model: UpscaleModels.Loaded
    let settings: ServeSettings

    /// A service over a loaded model.
    public init(model: UpscaleModels.Loaded, settings: ServeSettings) {
        self.model = model
        self.settings = settings
    }

    /// Decodes an upload and works out its output, to check both before the job is queued: throws an
    /// `ImageError` or a `RestorationError` that says what is wrong (not an image, damaged, over the pixel
    /// limit, an output too large or that the format cannot store).
    public func check(_ input: UpscaleInput) throws -> (UpscaleTarget, ImageFormat) {
        let image = try decodeImage(input.bytes)
        let format = input.request.outputFormat(for: input.bytes)
        return (try input.request.options.target(for: image, format: format, nativeScale: model.model.config.scale, name: input.name), format)
    }

    /// Runs one job: `report(phase, progress)` as it goes. Returns the result and the sizes
    /// (input width and height, output width and height).
    public func run(_ input: UpscaleInput, report: (String, Double) -> Void) throws -> (UpscaleResult, sizes: [Int]) {
        let (target, format) = try check(input)
        let image = target.image
        let request = input.request
        let pipeline = try UpscalePipeline(upscaling: model, strength: request.strength, memoryBudget: settings.memoryBudget,
                                           colourCorrection: request.colourCorrection)
        // Upscaling is most of the time; the field and encoding share the last tenth.
        let output = try pipeline.run(target, options: request.options) { phase, done, total in
            let fraction = Double(done) / Double(max(total, 1))
            report(phase.rawValue, phase == .analysing ? 0.1 * fraction : 0.1 + 0.8 * fraction)
        }
        report("encoding", 0.9)
        let bytes = try UpscalePipeline.encode(output, format: format, options: request.options)
        let base = (input.name as NSString).deletingPathExtension
        var result = UpscaleResult(bytes: bytes, format: format, fileName: "\(base.isEmpty ? "photo" : base)-savl.\(format.fileExtension)")
        if model.model.config.code != .none {
            report("inspecting", 0.93)
            let field = try DegradationField.of(photo: image, model: model, memoryBudget: settings.memoryBudget)
            result.code = try encodeImage(field.codePicture(), format: .png, bitDepth: 8)
            result.severity = try field.severityPicture().map { try encodeImage($0, format: .png, bitDepth: 8) }
            result.report = field.report(image: input.name, model: model.summary, files: [:])
        }
        return (result, [image.width, image.height, target.width, target.height])
    }
}
