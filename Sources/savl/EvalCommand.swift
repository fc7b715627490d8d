import ArgumentParser
import Evaluation
import Foundation
import Imaging

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

            Example: savl eval ../shared/data/eval/Set5 ../shared/data/eval/Set14 --scale 4 --json x4.json
            """)

    enum Method: String, ExpressibleByArgument, CaseIterable {
        case bicubic
    }

    @Argument(help: "Folders of HR images (.png, .jpg, .jpeg).")
    var directories: [String]

    @Option(help: "Upscaling factor (2...16).")
    var scale: Int = 4

    @Option(help: "Upscaling method: \(Method.allCases.map(\.rawValue).joined(separator: ", ")).")
    var method: Method = .bicubic

    @Option(help: "Compare the Y channel (y) or the colour channels (rgb).")
    var channel: MetricChannel = .y

    @Option(help: "Pixels ignored at each edge (default: the scale).")
    var border: Int?

    @Option(help: "Also write the full report as JSON to this file.")
    var json: String?

    @Option(help: "Refuse images with more pixels than this.")
    var maxPixels: Int = ImageLimits.defaultMaxPixels

    func validate() throws {
        guard (2...16).contains(scale) else { throw ValidationError("--scale must be in 2...16, not \(scale)") }
        if let border, border < 0 { throw ValidationError("--border must not be negative") }
        guard maxPixels > 0 else { throw ValidationError("--max-pixels must be positive") }
    }

    func upscaler() -> any Upscaler {
        switch method {
        case .bicubic: return BicubicUpscaler()
        }
    }

    func run() throws {
        let benchmark = Benchmark(scale: scale, upscaler: upscaler(), border: border, channel: channel, maxPixels: maxPixels)
        let sets = directories.map { benchmark.run(directory: URL(fileURLWithPath: $0)) }
        let report = BenchmarkReport(scale: scale, method: benchmark.upscaler.name, channel: channel,
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
