import ArgumentParser
import Evaluation
import Foundation
import Imaging
import Restoration
import Tensors
import Training

extension MetricChannel: ExpressibleByArgument {}

/// `savl eval`: the field's SR benchmark on folders of HR images.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Benchmark an upscaler on folders of HR images (PSNR / SSIM, as SR papers report them).",
        discussion: """
            For each HR image (sorted by name): crop to a multiple of the scale, make the LR image by \
            MATLAB-style bicubic downscaling, upscale it with the method, round to 8 bits, and compare \
            with the HR image (Y channel of BT.601 by default; gray images on their gray values), \
            ignoring `border` pixels at each edge. Prints a table per folder and the means; \
            files that cannot be evaluated are listed at the end and make the exit status non-zero.

            A folder with HR/ and LR/ subfolders (a test set from `savl degrade --test-set`) is scored on \
            its own LR images instead of bicubic downscales. --method model runs a SAVL model (--model, \
            default: the embedded default model) through the tiled pipeline of `savl upscale`; --results DIR \
            scores SR images made by another tool, read from DIR/<folder name>/<file name>.

            An oracle model (trained with model.code: oracle, a research bound) reads ground-truth \
            degradation maps instead of inferring them: with --oracle-maps, a bicubic downscale gets the \
            maps of a clean image (zero) and a test set's LR image the maps of its record (params/ and \
            maps/ beside LR/); an LR image without a record cannot be scored.

            Examples: savl eval ../shared/data/eval/Set5 ../shared/data/eval/Set14 --scale 4 --json x4.json
                      savl eval testsets/Set14-hetero-x4 --method model
            """)

    enum Method: String, ExpressibleByArgument, CaseIterable {
        case bicubic
        case model
    }

    @Argument(help: "Folders of HR images (.png, .jpg, .jpeg).")
    var directories: [String]

    @Option(parsing: .unconditional, help: "Upscaling factor (2...16).")
    var scale: Int = 4

    @Option(help: "Upscaling method: \(Method.allCases.map(\.rawValue).joined(separator: ", ")).")
    var method: Method = .bicubic

    @Option(help: "With --method model: an embedded model's name or a model file (default: the default model).")
    var model: String?

    @Option(parsing: .unconditional, help: "With --method model: the strength of restoration (see savl upscale; default 1).")
    var strength: Float?

    @Flag(help: "With --method model and an oracle model: give it each LR image's ground-truth degradation maps.")
    var oracleMaps = false

    @Option(name: [.customLong("colour-correction"), .customLong("color-correction")], parsing: .unconditional,
            help: ArgumentHelp("With --method model: see savl upscale (default \(ColourCorrection.defaultSigma)).", valueName: "SIGMA"))
    var colourCorrection: Float?

    @Option(help: ArgumentHelp("Score the SR images in DIR/<folder name>/ (same file names) instead of running a method.", valueName: "DIR"))
    var results: String?

    @Option(parsing: .unconditional, help: "Compute threads (default: all cores).")
    var threads: Int?

    @Option(help: Precision.help)
    var precision: Precision = .auto

    @Option(help: "Compare the Y channel (y) or the colour channels (rgb).")
    var channel: MetricChannel = .y

    @Option(parsing: .unconditional, help: "Pixels ignored at each edge (default: the scale).")
    var border: Int?

    @Option(help: "Also write the full report as JSON to this file.")
    var json: String?

    @Option(parsing: .unconditional, help: "Refuse images with more pixels than this.")
    var maxPixels: Int = ImageLimits.defaultMaxPixels

    func validate() throws {
        guard (2...16).contains(scale) else { throw ValidationError("--scale must be in 2...16, not \(scale)") }
        if let border, border < 0 { throw ValidationError("--border must not be negative") }
        guard maxPixels > 0 else { throw ValidationError("--max-pixels must be positive") }
        if method != .model && model != nil { throw ValidationError("--model only applies with --method model") }
        if results != nil && method != .bicubic { throw ValidationError("--results scores existing files; it does not take --method") }
        if method != .model && strength != nil { throw ValidationError("--strength only applies with --method model") }
        if method != .model && oracleMaps { throw ValidationError("--oracle-maps only applies with --method model") }
        if method != .model && colourCorrection != nil { throw ValidationError("--colour-correction only applies with --method model") }
        if let colourCorrection {
            do { try ColourCorrection.validate(colourCorrection) } catch { throw ValidationError("\(error)") }
        }
        if let strength, !(strength.isFinite && strength >= 0) { throw ValidationError("--strength must be a number >= 0, not \(strength)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func upscaler() throws -> any Upscaler {
        switch method {
        case .bicubic: return BicubicUpscaler()
        case .model:
            let maps: (@Sendable (URL?, Int, Int) throws -> Image)? = oracleMaps ? Self.oracleMaps : nil
            return try ModelUpscaler(UpscaleModels.load(model, allowOracle: oracleMaps), strength: strength ?? 1,
                                     colourCorrection: colourCorrection ?? ColourCorrection.defaultSigma, oracleMaps: maps)
        }
    }

    /// The maps `--oracle-maps` gives an oracle model: zero for a bicubic downscale, else the LR file's record.
    @Sendable static func oracleMaps(lrFile: URL?, width: Int, height: Int) throws -> Image {
        guard let lrFile else { return OracleMaps.clean(width: width, height: height) }
        return try OracleMaps.planes(recordOf: lrFile, width: width, height: height)
    }

    func run() throws {
        if let threads { Engine.setThreads(threads) }
        try Engine.setPrecision(precision)
        let upscaler = try self.upscaler()
        let resultsURL = results.map { URL(fileURLWithPath: $0) }
        let benchmark = Benchmark(scale: scale, upscaler: upscaler, border: border, channel: channel, maxPixels: maxPixels,
                                  results: resultsURL)
        let sets = directories.map { benchmark.run(directory: URL(fileURLWithPath: $0)) }
        let method = resultsURL.map { "results in \($0.standardizedFileURL.path)" } ?? benchmark.upscaler.name
        let report = BenchmarkReport(scale: scale, method: method, channel: channel,
                                     border: benchmark.border, sets: sets)
        print(report.table(), terminator: "")
        var failures = report.failures.map(\.description)
        if let json {
            do {
                try writeBytesAtomically([UInt8](report.json()), to: URL(fileURLWithPath: json))
            } catch {
                failures.append("\(error)")
            }
        }
        if !failures.isEmpty {
            var message = "\(failures.count) failure\(failures.count == 1 ? "" : "s"):\n"
            for failure in failures { message += "  \(failure)\n" }
            FileHandle.standardError.write(Data(message.utf8))
            throw ExitCode(1)
        }
    }
}
