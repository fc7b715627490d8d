import Foundation

/// One line of `log.jsonl`: the values of one training step, and the validation scores when the
/// step ended with a validation pass.
public struct LogEntry: Codable, Equatable, Sendable {
    /// Steps completed (1-based: the entry of the first step has `step` 1).
    public var step: Int
    /// The stage of this step (1 joint, 2 encoder frozen).
    public var stage: Int
    /// The objective that was minimised: L1 + alpha L_rec + beta KL in stage 1, L1 in stage 2.
    public var loss: Float
    /// L1(SR, HR).
    public var srL1: Float
    /// L_rec of the likelihood decoder (0 in stage 2).
    public var reconstruction: Float
    /// KL of the posterior to N(0, I) (0 in stage 2).
    public var kl: Float
    /// The learning rate of this step.
    public var learningRate: Float
    /// Global gradient norm before clipping.
    public var gradientNorm: Float
    /// Steps per second since the previous entry.
    public var stepsPerSecond: Double?
    /// Seconds the loop waited for the data worker since the previous entry.
    public var dataWaitSeconds: Double?
    /// The engine's precision in effect, resolved (`f32` or `bf16`).
    public var precision: String?
    /// Validation PSNR (dB, Y, border = scale) of the EMA weights.
    public var validationPSNR: Double?
    /// Validation SSIM of the EMA weights.
    public var validationSSIM: Double?
    /// PSNR of MATLAB bicubic upscaling on the same validation inputs.
    public var bicubicPSNR: Double?

    public init(step: Int, stage: Int, loss: Float, srL1: Float, reconstruction: Float, kl: Float, learningRate: Float, gradientNorm: Float) {
        self.step = step
        self.stage = stage
        self.loss = loss
        self.srL1 = srL1
        self.reconstruction = reconstruction
        self.kl = kl
        self.learningRate = learningRate
        self.gradientNorm = gradientNorm
    }
}

/// The JSON-lines log of a run, one `LogEntry` per line, flushed line by line.
public struct TrainingLog {
    public let url: URL

    public init(url: URL) { self.url = url }

    /// Appends one entry.
    public func append(_ entry: LogEntry) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var line = try encoder.encode(entry)
        line.append(0x0A)
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else { throw DatasetError("\(url.path): cannot create the log") }
        }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
    }

    /// Every entry; a line that does not parse (a crash mid-write) is skipped.
    public func entries() -> [LogEntry] {
        guard let data = FileManager.default.contents(atPath: url.path) else { return [] }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return data.split(separator: 0x0A).compactMap { try? decoder.decode(LogEntry.self, from: Data($0)) }
    }

    /// Drops the entries after `step`, so a run resumed from an older checkpoint logs each step once.
    public func truncate(after step: Int) throws {
        guard let data = FileManager.default.contents(atPath: url.path) else { return }
        var kept = Data()
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        for line in data.split(separator: 0x0A) {
            guard let entry = try? decoder.decode(LogEntry.self, from: Data(line)), entry.step <= step else { continue }
            kept.append(line)
            kept.append(0x0A)
        }
        try kept.write(to: url, options: .atomic)
    }
}

/// The progress line on stderr: rewritten in place on a terminal, one plain line per log entry otherwise.
public final class ProgressReporter {
    public enum Mode: Sendable {
        /// Rewrite one line with carriage returns (stderr is a terminal).
        case terminal
        /// A line per log entry (stderr is a file or pipe).
        case plain
        /// Only messages, no progress.
        case quiet
    }

    public let mode: Mode
    private var lineShown = false
    private let sink: (String) -> Void

    /// `terminal` when stderr is a terminal, `plain` otherwise; `quiet` when asked.
    public convenience init(quiet: Bool = false) {
        self.init(mode: quiet ? .quiet : (isatty(STDERR_FILENO) != 0 ? .terminal : .plain))
    }

    /// A reporter in `mode` that hands its text to `sink` (stderr by default).
    public init(mode: Mode, sink: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.mode = mode
        self.sink = sink
    }

    /// A message on its own line (loading, validation, checkpoints, warnings).
    public func message(_ text: String) {
        write((lineShown ? "\n" : "") + text + "\n")
        lineShown = false
    }

    /// Progress after a step; `logged` says whether the step wrote a log entry.
    public func progress(_ entry: LogEntry, totalSteps: Int, stepsPerSecond: Double, logged: Bool) {
        switch mode {
        case .quiet: return
        case .plain where !logged: return
        default: break
        }
        let eta = stepsPerSecond > 0 ? Self.duration(Double(totalSteps - entry.step) / stepsPerSecond) : "--:--:--"
        var text = "step \(entry.step)/\(totalSteps) stage \(entry.stage)  loss \(Self.format(entry.loss))"
        if entry.stage == 1 {
            text += " (l1 \(Self.format(entry.srL1)) rec \(Self.format(entry.reconstruction)) kl \(Self.format(entry.kl)))"
        }
        text += "  lr \(String(format: "%.2e", entry.learningRate))  \(String(format: "%.2f", stepsPerSecond)) step/s  ETA \(eta)"
        if mode == .terminal {
            write("\r\u{1B}[K" + text)
            lineShown = true
        } else {
            write(text + "\n")
        }
    }

    /// Ends a progress line left open on a terminal.
    public func finish() {
        if lineShown { write("\n") }
        lineShown = false
    }

    /// `h:mm:ss`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "--:--:--" }
        let s = Int(seconds.rounded())
        return String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
    }

    private static func format(_ value: Float) -> String { String(format: "%.4f", value) }

    private func write(_ text: String) { sink(text) }
}
