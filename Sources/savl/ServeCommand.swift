import ArgumentParser
import Foundation
import Imaging
import Restoration
import Tensors
import WebServer

/// `savl serve`: a page in the browser that does what `upscale` and `inspect` do, and its JSON API.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Restore and upscale photos from a web browser: a local page and a JSON API.",
        discussion: """
            Starts one process that serves a page (open http://HOST:PORT/ in a browser: drop photos, choose \
            scale and strength, watch the progress, compare before and after, see the degradation code and \
            severity, download the result) and the JSON API it uses: POST /api/upscale, GET /api/jobs/ID, \
            GET /api/jobs/ID/result, GET /api/jobs/ID/inspect, GET /api/health (README, "savl serve"). The \
            model is loaded once. Jobs run --jobs at a time in a queue of --queue places (a full queue \
            answers 503); results are kept in memory for --keep-minutes, the last --keep-results of them.

            By default the server listens on 127.0.0.1 only: no other machine can reach it. Binding to \
            another address (--host 0.0.0.0, or a network address) lets anyone who can reach this machine \
            upload photos, read every kept result and use its CPU: there is no authentication and no \
            encryption. Do that only on a network you trust.

            Example:
              savl serve                      # then open http://127.0.0.1:8080/
            """)

    @Option(help: "Address to listen on (127.0.0.1: this machine only; see above before changing it).")
    var host = "127.0.0.1"

    @Option(parsing: .unconditional, help: "Port to listen on.")
    var port = 8080

    @Option(name: .shortAndLong, help: "Model: a path to a savl model file, or an embedded model's name.")
    var model: String?

    @Option(parsing: .unconditional, help: "Jobs that run at once (one job already uses every core).")
    var jobs = 1

    @Option(parsing: .unconditional, help: "Jobs that may wait; an upload beyond them is refused with 503.")
    var queue = 16

    @Option(parsing: .unconditional, help: "Memory budget of the network for one tile of one job, in MB.")
    var memory = UpscalePipeline.defaultMemoryBudgetMB

    @Option(parsing: .unconditional, help: "Largest upload, in MB.")
    var maxUpload = 50

    @Option(parsing: .unconditional, help: "Largest input or output, in pixels.")
    var maxPixels = ImageLimits.defaultMaxPixels

    @Option(parsing: .unconditional, help: "Minutes a finished result is kept.")
    var keepMinutes: Double = 30

    @Option(parsing: .unconditional, help: "Finished results kept at most (the oldest go first).")
    var keepResults = 20

    @Option(parsing: .unconditional, help: "Compute threads of each job (default: all cores).")
    var threads: Int?

    @Option(help: Precision.help)
    var precision: Precision = .auto

    var settings: ServeSettings {
        var settings = ServeSettings()
        settings.concurrentJobs = jobs
        settings.queueCapacity = queue
        settings.memoryBudget = memory << 20
        settings.maxUploadBytes = maxUpload << 20
        settings.keepSeconds = keepMinutes * 60
        settings.keepResults = keepResults
        settings.threads = threads
        return settings
    }

    func validate() throws {
        guard (1...65_535).contains(port) else { throw ValidationError("--port must be in 1...65535, not \(port)") }
        guard maxUpload >= 1 && maxUpload <= 4096 else { throw ValidationError("--max-upload must be in 1...4096 (MB), not \(maxUpload)") }
        guard maxPixels >= 1 else { throw ValidationError("--max-pixels must be positive") }
        guard keepMinutes.isFinite else { throw ValidationError("--keep-minutes must be a number") }
        if let problem = settings.problem { throw ValidationError(problem) }
    }

    /// A problem found at run time: printed as is, without the usage text.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func run() throws {
        ImageLimits.maxPixels = maxPixels
        let loaded: UpscaleModels.Loaded
        do {
            try Engine.setPrecision(precision)
            loaded = try UpscaleModels.load(model)
            _ = try loaded.cleanCode()
        } catch {
            throw Failure(description: "\(error)")
        }
        let app = ServeApplication(model: loaded, settings: settings)
        let backend = app.backend
        let outcome = Outcome()
        Task {
            do {
                try await app.run(host: host, port: port) { address in
                    print("savl serve: model \(loaded.summary), \(backend)")
                    print("savl serve: listening on \(address); open http://\(host.contains(":") ? "[\(host)]" : host):\(port)/ (Ctrl-C stops)")
                    fflush(stdout)
                }
            } catch {
                outcome.error = error
            }
            outcome.done.signal()
        }
        outcome.done.wait()
        if let error = outcome.error { throw Failure(description: "cannot serve on \(host):\(port): \(error)") }
    }

    /// How the server ended, handed from its task to the command's thread.
    private final class Outcome: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        var error: Error?
    }
}
