import ArgumentParser
import Foundation
import Restoration
#if canImport(Glibc)
import Glibc
#endif

/// `--progress`: how progress goes to stderr.
enum ProgressMode: String, ExpressibleByArgument, CaseIterable {
    /// A status line when stderr is a terminal, nothing otherwise.
    case auto
    /// One JSON object a line, for programs.
    case json
    /// Nothing but errors.
    case none
}

/// Reports a batch's progress on stderr: per tile (with the file's and the batch's ETA) and per file.
/// Errors are always reported: as lines `error: ...` or, in JSON mode, as `file` events with `"status": "failed"`.
final class UpscaleProgress: UpscaleReporter {
    enum Style { case line, json, quiet }

    let style: Style
    private let files: Int
    private let command: String
    private var index = 0, name = ""
    private let batchStart = Date()
    private var fileStart = Date(), phaseStart = Date(), lastLine = Date.distantPast
    private var finishedFiles = 0
    private var lineShown = false

    init(mode: ProgressMode, files: Int, command: String = "upscale") {
        switch mode {
        case .auto: style = isatty(STDERR_FILENO) == 1 ? .line : .quiet
        case .json: style = .json
        case .none: style = .quiet
        }
        self.files = files
        self.command = command
    }

    func start(model: String, backend: String, threads: Int) {
        switch style {
        case .line: write("savl \(command): \(files) file\(files == 1 ? "" : "s"), model \(model), \(backend)\n")
        case .json: event(["event": "start", "files": files, "model": model, "backend": backend, "threads": threads])
        case .quiet: break
        }
    }

    func beginFile(_ index: Int, _ name: String) {
        self.index = index
        self.name = name
        fileStart = Date()
        phaseStart = fileStart
    }

    private var phase = ""

    /// After each tile of a pass.
    func tile(_ phase: UpscalePhase, _ done: Int, _ total: Int) {
        if phase.rawValue != self.phase { self.phase = phase.rawValue; phaseStart = Date() }
        let fraction = Double(done) / Double(max(total, 1))
        let fileFraction = phase == .analysing ? 0.1 * fraction : 0.1 + 0.9 * fraction
        let phaseElapsed = Date().timeIntervalSince(phaseStart)
        let eta = fraction > 0 ? phaseElapsed * (1 - fraction) / fraction : 0
        let batchDone = Double(finishedFiles) + fileFraction
        let batchElapsed = Date().timeIntervalSince(batchStart)
        let batchETA = batchDone > 0 ? batchElapsed * (Double(files) - batchDone) / batchDone : 0
        switch style {
        case .line:
            guard done == total || Date().timeIntervalSince(lastLine) > 0.1 else { return }
            lastLine = Date()
            var text = "\r\u{1B}[K[\(index + 1)/\(files)] \(name): \(phase.rawValue) tile \(done)/\(total) \(Int(fraction * 100))%"
            text += ", ETA \(Self.clock(eta))"
            if files > 1 { text += ", batch ETA \(Self.clock(batchETA))" }
            write(text)
            lineShown = true
        case .json:
            event(["event": "tile", "file": name, "index": index + 1, "files": files, "phase": phase.rawValue, "tile": done,
                   "tiles": total, "elapsed_s": Self.rounded(phaseElapsed), "eta_s": Self.rounded(eta), "batch_eta_s": Self.rounded(batchETA)])
        case .quiet: break
        }
    }

    /// A file written (`detail` e.g. its size).
    func written(_ output: String, detail: String) {
        finishedFiles += 1
        phase = ""
        let seconds = Date().timeIntervalSince(fileStart)
        switch style {
        case .line: write("\(clearLine())[\(index + 1)/\(files)] \(name) -> \(output) (\(detail), \(String(format: "%.1f", seconds)) s)\n")
        case .json: event(["event": "file", "file": name, "index": index + 1, "status": "written", "output": output, "detail": detail,
                           "seconds": Self.rounded(seconds)])
        case .quiet: break
        }
    }

    /// A file not processed on purpose (e.g. its output exists).
    func skipped(_ reason: String) {
        finishedFiles += 1
        switch style {
        case .line: write("\(clearLine())[\(index + 1)/\(files)] \(name): skipped, \(reason)\n")
        case .json: event(["event": "file", "file": name, "index": index + 1, "status": "skipped", "reason": reason])
        case .quiet: break
        }
    }

    /// Something the user should know that is not an error (e.g. stale temporaries removed, files not read):
    /// a `note:` line, even in quiet mode, or a `note` event.
    func note(_ message: String) {
        switch style {
        case .json: event(["event": "note", "message": message])
        case .line, .quiet: write("\(clearLine())note: \(message)\n")
        }
    }

    /// A file that failed; `message` names it and says why.
    func failed(_ message: String) {
        finishedFiles += 1
        phase = ""
        switch style {
        case .json: event(["event": "file", "file": name, "index": index + 1, "status": "failed", "error": message])
        case .line, .quiet: write("\(clearLine())error: \(message)\n")
        }
    }

    /// The end of the batch.
    func finish(written: Int, skipped: Int, failed: Int) {
        let seconds = Date().timeIntervalSince(batchStart)
        switch style {
        case .line:
            write("\(clearLine())\(written) written, \(skipped) skipped, \(failed) failed in \(String(format: "%.1f", seconds)) s\n")
        case .json:
            event(["event": "done", "written": written, "skipped": skipped, "failed": failed, "seconds": Self.rounded(seconds)])
        case .quiet: break
        }
    }

    private func clearLine() -> String {
        defer { lineShown = false }
        return lineShown ? "\r\u{1B}[K" : ""
    }

    private func event(_ fields: [String: Any]) {
        guard let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        write(String(decoding: data, as: UTF8.self) + "\n")
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }

    private static func rounded(_ x: Double) -> Double { (x * 100).rounded() / 100 }
}
