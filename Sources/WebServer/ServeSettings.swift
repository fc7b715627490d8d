import Foundation

/// The limits and the queue of `savl serve`.
public struct ServeSettings: Sendable {
    /// Jobs that run at once; one job already uses every core.
    public var concurrentJobs = 1
    /// Jobs that may wait for a free worker; an upload beyond them is refused with 503.
    public var queueCapacity = 16
    /// Bytes the network may use for one tile of one job (the `--memory` of `savl upscale`).
    public var memoryBudget = 640 << 20
    /// The largest upload accepted, in bytes.
    public var maxUploadBytes = 50 << 20
    /// How long a finished job's result is kept, in seconds.
    public var keepSeconds: Double = 30 * 60
    /// How many finished jobs are kept at most; the oldest go first.
    public var keepResults = 20
    /// Compute threads of each worker (nil: all cores).
    public var threads: Int?

    /// The defaults, which `savl serve --help` names.
    public init() {}

    /// Why these settings cannot be used, naming the option, or nil.
    public var problem: String? {
        if concurrentJobs < 1 { return "--jobs must be at least 1, not \(concurrentJobs)" }
        if queueCapacity < 0 { return "--queue must not be negative, not \(queueCapacity)" }
        if memoryBudget < 16 << 20 { return "--memory must be at least 16 (MB), not \(memoryBudget >> 20)" }
        if maxUploadBytes < 1 { return "--max-upload must be positive" }
        if !(keepSeconds > 0) { return "--keep-minutes must be positive" }
        if keepResults < 1 { return "--keep-results must be at least 1, not \(keepResults)" }
        if let threads, threads < 1 { return "--threads must be at least 1, not \(threads)" }
        return nil
    }
}
