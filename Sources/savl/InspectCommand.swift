import ArgumentParser
import Foundation
import Imaging
import Restoration
import SAVL
import Tensors

/// `savl inspect`: pictures of where and how a photo is degraded, as the model's encoder sees it.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show the degradation field a SAVL model estimates for a photo.",
        discussion: """
            Writes into the output folder, for IMAGE named NAME:
              NAME_input.png     the input as read (EXIF orientation applied)
              NAME_code.png      the posterior mean of the degradation code, its first three principal \
            components as red, green and blue (each stretched to its range): equal colours, equal degradation
              NAME_severity.png  the posterior variance averaged over code channels, as a heatmap with a \
            colour bar (low: confident estimate, high: the encoder cannot tell)
              NAME_sr.png        the upscaled result (unless --no-sr)
              NAME_sheet.png     input, code and severity side by side
              NAME_inspect.json  value ranges, principal axes and their share of the variance
            The encoder runs in tiles, so any size fits in memory; the maps have the input's size.
            """)

    @Argument(help: "A PNG, JPEG, WebP or BMP image.")
    var image: String

    @Option(name: .shortAndLong, help: "Output folder (created if needed).")
    var output: String

    @Option(name: .shortAndLong, help: "Model: a path to a savl model file, or an embedded model's name.")
    var model: String?

    @Option(parsing: .unconditional, help: "Restoration strength of the upscaled result (see savl upscale).")
    var strength: Float = 1

    @Flag(inversion: .prefixedNo, help: "Also write the upscaled result.")
    var sr = true

    @Option(parsing: .unconditional, help: "Memory budget of the network for one tile, in MB.")
    var memory: Int = UpscalePipeline.defaultMemoryBudgetMB

    @Option(parsing: .unconditional, help: "Compute threads (default: all cores).")
    var threads: Int?

    func validate() throws {
        guard strength.isFinite, strength >= 0 else { throw ValidationError("--strength must be 0 or more, not \(strength)") }
        guard memory >= 16 else { throw ValidationError("--memory must be at least 16 (MB)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    /// A problem found at run time: printed as is, without the usage text.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func run() throws {
        if let threads { Engine.setThreads(threads) }
        do {
            try inspect()
        } catch let error as Failure {
            throw error
        } catch {
            throw Failure(description: "\(error)")
        }
    }

    private func inspect() throws {
        let loaded = try UpscaleModels.load(model)
        let config = loaded.model.config
        let input = try readImage(at: URL(fileURLWithPath: image))
        let field = try DegradationField.of(photo: input, model: loaded, memoryBudget: memory << 20)
        let folder = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let name = URL(fileURLWithPath: image).deletingPathExtension().lastPathComponent
        func file(_ suffix: String) -> URL { folder.appendingPathComponent("\(name)_\(suffix)") }

        let code = field.codePicture()
        var written = ["input": file("input.png"), "code": file("code.png"), "sheet": file("sheet.png")]
        try writeImage(input, to: written["input"]!, format: .png)
        try writeImage(code, to: written["code"]!, format: .png, bitDepth: 8)
        if let heatmap = field.severityPicture() {
            written["severity"] = file("severity.png")
            try writeImage(heatmap, to: written["severity"]!, format: .png, bitDepth: 8)
        }
        try writeImage(field.sheet(input: input), to: written["sheet"]!, format: .png, bitDepth: 8)
        if sr {
            let pipeline = try UpscalePipeline(loaded, strength: strength, memoryBudget: memory << 20)
            let result = try pipeline.run(input, width: input.width * config.scale, height: input.height * config.scale, alpha: .bicubic)
            written["sr"] = file("sr.png")
            try writeImage(result, to: written["sr"]!, format: .png)
        }
        let report = field.report(image: image, model: loaded.summary,
                                  files: written.mapValues(\.lastPathComponent))
        try writeBytesAtomically(report, to: file("inspect.json"))
        for key in written.keys.sorted() { print(written[key]!.path) }
        print(file("inspect.json").path)
    }
}
