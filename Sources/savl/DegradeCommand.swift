import ArgumentParser
import Degradations
import FileSupport
import Foundation
import Training

extension DegradationPreset: ExpressibleByArgument {}

/// `savl degrade`: synthesises LR images (and their ground-truth maps) from HR images, or builds a fixed test set.
struct DegradeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "degrade",
        abstract: "Degrade HR images into LR images with parameters and per-pixel ground-truth maps.",
        discussion: """
            Presets: bicubic (MATLAB bicubic downscale only), mild (light blur, low noise, JPEG 75-95), \
            realesrgan (Real-ESRGAN's second-order \
            pipeline with its x4plus training settings), heterogeneous (the same pipeline with blur width, \
            noise level and JPEG quality varying over the image through soft masks).
            Writes DIR/NAME.png (LR), DIR/NAME.json (parameters); with --maps DIR/NAME_<map>.png (16-bit, \
            value ranges in the JSON); with --sheet DIR/NAME_sheet.png. Each image's seed is derived from \
            --seed and its file name, so the same seed gives the same bytes.
            --test-set turns one folder of HR images into OUT/<folder>-<preset>-x<scale>/ (HR, LR, maps, \
            params, manifest.json) and prints its checksum.
            """)

    @Argument(help: "HR images (PNG, JPEG or WebP) or folders of them.")
    var inputs: [String] = []

    @Option(name: .shortAndLong, help: "Output folder.")
    var output: String?

    @Option(parsing: .unconditional, help: "Downscaling factor (1-8).")
    var scale = 4

    @Option(help: "bicubic | mild | realesrgan | heterogeneous.")
    var preset: DegradationPreset = .realesrgan

    @Option(help: "A configuration (YAML or JSON) laid over --preset: keys left out keep the preset's values, unknown keys are errors (start from --print-config).")
    var config: String?

    @Option(help: "Seed; each image's own seed is derived from it and the image's file name.")
    var seed: UInt64 = 0

    @Flag(help: "Also write the ground-truth maps as 16-bit PNGs.")
    var maps = false

    @Flag(help: "Also write a contact sheet (HR, LR, detail crops, maps as heatmaps).")
    var sheet = false

    @Option(parsing: .unconditional, help: "Degrade a random N x N crop of each HR (N a multiple of the scale).")
    var crop: Int?

    @Flag(help: "Crop each HR to a multiple of the scale instead of refusing it.")
    var modCrop = false

    @Flag(help: "Build a fixed, named test set from one folder (implies --maps and --mod-crop).")
    var testSet = false

    @Option(help: "Test-set name (default <folder>-<preset>-x<scale>, e.g. Set14-hetero-x4).")
    var name: String?

    @Flag(help: "Print the configuration as JSON and exit.")
    var printConfig = false

    func validate() throws {
        if printConfig { return }
        guard !inputs.isEmpty else { throw ValidationError("give at least one HR image or folder") }
        guard output != nil else { throw ValidationError("give an output folder with -o") }
        guard (1...8).contains(scale) else { throw ValidationError("--scale \(scale) is not in 1...8") }
        if let crop, crop <= 0 || crop % scale != 0 {
            throw ValidationError("--crop \(crop) must be a positive multiple of the scale \(scale)")
        }
        if testSet && inputs.count != 1 { throw ValidationError("--test-set takes exactly one folder") }
        if name != nil && !testSet { throw ValidationError("--name only applies with --test-set") }
    }

    func run() throws {
        for line in try execute() { print(line) }
    }

    /// Does the work and returns the lines to print.
    func execute() throws -> [String] {
        let resolved = try resolvedConfig()
        if printConfig {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            return [String(decoding: try encoder.encode(resolved), as: UTF8.self)]
        }
        var batch = DegradationBatch(inputs: inputs, output: URL(fileURLWithPath: output!), config: resolved, configLabel: presetLabel)
        batch.scale = scale
        batch.seed = seed
        batch.maps = maps
        batch.sheets = sheet
        batch.crop = crop
        batch.modCrop = modCrop
        batch.testSet = testSet
        batch.name = name
        return try batch.run()
    }

    /// A problem with the configuration file: printed as is, without the usage text.
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// The name a test set and the records use for the configuration.
    private var presetLabel: String { config == nil ? preset.shortName : "config" }

    private func resolvedConfig() throws -> DegradationConfig {
        guard let config else { return .preset(preset) }
        let text: String
        do {
            text = try String(contentsOf: URL(fileURLWithPath: config), encoding: .utf8)
        } catch {
            throw Failure("cannot read the configuration \(config): \(FileErrors.reason(error, path: config))")
        }
        do {
            try StrictConfig.checkNotEmpty(yaml: text, source: config)
            return try DegradationConfig.load(yaml: text, over: .preset(preset), source: config)
        } catch let error as ConfigError {
            throw Failure("configuration \(error.message)")
        }
    }
}
