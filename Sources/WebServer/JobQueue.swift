import Foundation
import Tensors

/// Where a job is.
public enum JobState: String, Sendable, Codable {
    case queued, running, done, failed
}

/// What a client sees of a job (`GET /api/jobs/{id}`).
public struct JobStatus: Sendable, Codable, Equatable {
    /// The job's id, as `POST /api/upscale` answered it.
    public var id: String
    /// Where the job is.
    public var state: JobState
    /// The uploaded file's name.
    public var name: String
    /// For a queued job: 1 when it is next.
    public var position: Int?
    /// What a running job is doing (`analysing`, `upscaling`, `alpha`, `inspecting`, `encoding`).
    public var phase: String?
    /// 0 to 1.
    public var progress: Double
    /// Seconds spent waiting and running so far.
    public var waitedSeconds: Double, runSeconds: Double?
    /// When the job started and finished, in seconds since 1970 (milliseconds kept).
    public var startedAt: Double?, finishedAt: Double?
    /// Why a failed job failed.
    public var error: String?
    /// Input and output sizes, once known.
    public var inputWidth: Int?, inputHeight: Int?, outputWidth: Int?, outputHeight: Int?
}

/// Why a job could not be queued: every place in the queue is taken.
public struct QueueFull: Error, CustomStringConvertible, Sendable {
    /// The places of the queue.
    public var capacity: Int
    public var description: String {
        "the queue is full (\(capacity) waiting jobs); try again when a job has finished"
    }
}

/// A bounded queue of jobs run by a fixed number of worker threads, and the finished jobs kept for a
/// bounded time and count.
///
/// Work is CPU-bound and synchronous (the tensor engine), so it runs on its own threads, never on the
/// threads that serve requests. `Output` is what a finished job keeps (its result files).
public final class JobQueue<Input: Sendable, Output: Sendable>: @unchecked Sendable {
    /// What a worker does with a job; `report(phase, progress)` may be called from the worker's thread.
    public typealias Work = @Sendable (Input, _ report: (String, Double) -> Void) throws -> (Output, sizes: [Int])

    private final class Job {
        let id: String, name: String
        var input: Input?
        let created = Date()
        var started: Date?, finished: Date?
        var state = JobState.queued
        var phase: String?
        var progress = 0.0
        var error: String?
        var output: Output?
        var sizes: [Int] = []

        init(id: String, name: String, input: Input) {
            (self.id, self.name, self.input) = (id, name, input)
        }
    }

    private let settings: ServeSettings
    private let work: Work
    private let condition = NSCondition()
    private var jobs: [String: Job] = [:]
    private var waiting: [String] = []
    private var running = 0
    private var workers: [Thread] = []
    private var stopping = false

    /// A queue with the settings' concurrency, capacity and retention; no worker runs until `start()`.
    public init(settings: ServeSettings, work: @escaping Work) {
        self.settings = settings
        self.work = work
    }

    /// Starts the workers; they hold the queue until `stop()`.
    public func start() {
        condition.lock()
        defer { condition.unlock() }
        guard workers.isEmpty else { return }
        for k in 0..<settings.concurrentJobs {
            let thread = Thread { self.workerLoop() }
            thread.name = "savl-serve-worker-\(k)"
            thread.stackSize = 16 << 20
            workers.append(thread)
            thread.start()
        }
    }

    /// Lets the workers finish their current job and end.
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    /// Queues a job and returns its id and queue position; throws `QueueFull` when every place is taken.
    public func submit(name: String, input: Input) throws -> (id: String, position: Int) {
        condition.lock()
        defer { condition.unlock() }
        expire()
        guard waiting.count < settings.queueCapacity else { throw QueueFull(capacity: settings.queueCapacity) }
        let id = UUID().uuidString.lowercased()
        jobs[id] = Job(id: id, name: name, input: input)
        waiting.append(id)
        condition.signal()
        return (id, waiting.count)
    }

    /// The job's status, or nil for an unknown or expired id.
    public func status(_ id: String) -> JobStatus? {
        condition.lock()
        defer { condition.unlock() }
        expire()
        guard let job = jobs[id] else { return nil }
        let now = Date()
        let position = job.state == .queued ? (waiting.firstIndex(of: id).map { $0 + 1 }) : nil
        var status = JobStatus(id: id, state: job.state, name: job.name, position: position, phase: job.phase, progress: job.progress,
                               waitedSeconds: Self.rounded((job.started ?? now).timeIntervalSince(job.created)),
                               runSeconds: job.started.map { Self.rounded((job.finished ?? now).timeIntervalSince($0)) },
                               startedAt: job.started.map { Self.milliseconds($0) }, finishedAt: job.finished.map { Self.milliseconds($0) },
                               error: job.error)
        if job.sizes.count == 4 {
            (status.inputWidth, status.inputHeight, status.outputWidth, status.outputHeight) = (job.sizes[0], job.sizes[1], job.sizes[2], job.sizes[3])
        }
        return status
    }

    /// A finished job's output (nil unless the job is done).
    public func output(_ id: String) -> Output? {
        condition.lock()
        defer { condition.unlock() }
        expire()
        return jobs[id]?.output
    }

    /// Counts for `GET /api/health`.
    public var counts: (queued: Int, running: Int, kept: Int) {
        condition.lock()
        defer { condition.unlock() }
        expire()
        return (waiting.count, running, jobs.values.filter { $0.finished != nil }.count)
    }

    /// Drops finished jobs older than the retention time, then the oldest beyond the retention count.
    /// Called with the lock held.
    private func expire() {
        let now = Date()
        let finished = jobs.values.filter { $0.finished != nil }.sorted { $0.finished! > $1.finished! }
        for (k, job) in finished.enumerated()
        where k >= settings.keepResults || now.timeIntervalSince(job.finished!) > settings.keepSeconds {
            jobs[job.id] = nil
        }
    }

    private func workerLoop() {
        if let threads = settings.threads { Engine.setThreads(threads) }
        while true {
            condition.lock()
            while waiting.isEmpty && !stopping { condition.wait() }
            if stopping { condition.unlock(); return }
            let job = jobs[waiting.removeFirst()]!
            let input = job.input!
            job.input = nil
            job.state = .running
            job.started = Date()
            running += 1
            condition.unlock()

            let result = Result { try work(input) { phase, progress in self.update(job, phase: phase, progress: progress) } }

            condition.lock()
            switch result {
            case .success(let (output, sizes)):
                job.output = output
                job.sizes = sizes
                job.state = .done
                job.progress = 1
            case .failure(let error):
                job.error = "\(error)"
                job.state = .failed
            }
            job.phase = nil
            job.finished = Date()
            running -= 1
            expire()
            condition.unlock()
        }
    }

    private func update(_ job: Job, phase: String, progress: Double) {
        condition.lock()
        job.phase = phase
        job.progress = progress
        condition.unlock()
    }

    private static func rounded(_ x: Double) -> Double { (x * 100).rounded() / 100 }

    private static func milliseconds(_ date: Date) -> Double { (date.timeIntervalSince1970 * 1000).rounded(.down) / 1000 }
}
