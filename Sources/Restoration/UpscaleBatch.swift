import FileSupport
import Foundation
import Imaging

/// Receives a batch's progress: per tile and per file. Errors are always reported (`failed`).
public protocol UpscaleReporter: AnyObject {
    /// A file is started (`index` from 0).
    func beginFile(_ index: Int, _ name: String)
    /// After each tile of a pass.
    func tile(_ phase: UpscalePhase, _ done: Int, _ total: Int)
    /// A file written (`detail` e.g. its size).
    func written(_ output: String, detail: String)
    /// A file not processed on purpose (e.g. its output exists).
    func skipped(_ reason: String)
    /// Something the user should know that is not an error.
    func note(_ message: String)
    /// A file that failed; `message` names it and says why.
    func failed(_ message: String)
    /// The end of the batch.
    func finish(written: Int, skipped: Int, failed: Int)
}

/// Runs the jobs of `savl upscale` one file at a time; a failed file is reported and the batch goes on.
public struct UpscaleBatch {
    /// The network and its tiling.
    public let pipeline: UpscalePipeline
    /// What is done to each image besides the network.
    public let options: UpscaleOptions
    /// Leave out jobs whose output exists.
    public let skipExisting: Bool
    /// The files.
    public let jobs: [UpscaleJob]

    /// A batch of `jobs`.
    public init(pipeline: UpscalePipeline, options: UpscaleOptions, skipExisting: Bool, jobs: [UpscaleJob]) {
        self.pipeline = pipeline
        self.options = options
        self.skipExisting = skipExisting
        self.jobs = jobs
    }

    /// Upscales every job; true when none failed. `skippedByPlan` files left out while planning (formats savl
    /// does not read) count as skipped in the summary. `totals` turns this process's counts (written, skipped,
    /// failed) into the batch's, for the summary and the result (the sums over the ranks of an MPI job).
    /// `next` chooses the jobs this process does (indices into `jobs`, nil when there are no more; all of
    /// them in order when nil), e.g. a `WorkQueue` shared by the ranks of an MPI job.
    public func run(_ reporter: UpscaleReporter, skippedByPlan: Int = 0, next: (() throws -> Int?)? = nil,
                    totals: ([Int]) throws -> [Int] = { $0 }) throws -> Bool {
        var written = 0, skipped = skippedByPlan, failed = 0
        removeStaleTemporaries(reporter)
        var writable: [String: String?] = [:]
        var overlapNoted = false
        var inOrder = jobs.indices.makeIterator()
        let nextIndex = next ?? { inOrder.next() }
        var begun = 0
        while let index = try nextIndex() {
            let job = jobs[index]
            reporter.beginFile(begun, job.input.lastPathComponent)
            begun += 1
            if skipExisting, job.problem == nil, FileManager.default.fileExists(atPath: job.output.path) {
                reporter.skipped("\(job.output.path) exists")
                skipped += 1
                continue
            }
            do {
                if job.problem == nil {
                    // Before any compute: an output folder that cannot be written fails the file at once.
                    let folder = job.output.deletingLastPathComponent()
                    if writable[folder.path] == nil { writable[folder.path] = Self.writeProblem(folder) }
                    if let problem = writable[folder.path]! { throw RestorationError("\(job.input.path): \(problem)") }
                }
                let target = try prepare(job)
                if !overlapNoted, let note = overlapNote(pipeline.plan(width: target.image.width, height: target.image.height)) {
                    reporter.note(note)
                    overlapNoted = true
                }
                let result = try pipeline.run(target, options: options, progress: reporter.tile)
                try write(result, job: job)
                reporter.written(job.output.path, detail: "\(target.image.width)x\(target.image.height) -> \(target.width)x\(target.height)")
                written += 1
            } catch {
                reporter.failed(Self.message(error, job))
                failed += 1
            }
        }
        let total = try totals([written, skipped, failed])
        reporter.finish(written: total[0], skipped: total[1], failed: total[2])
        return total[2] == 0
    }

    /// Says so when a plan's overlap was shrunk to keep tiling within `TileCost.maxOverhead`, and what that costs.
    private func overlapNote(_ plan: TilePlan) -> String? {
        guard plan.overlap < pipeline.overlap else { return nil }
        let smallest = TileCost.smallestTile(overlap: pipeline.overlap, alignment: pipeline.resolver.alignment)
        return "tiles of \(plan.tile) overlap by \(plan.overlap) instead of \(pipeline.overlap), to keep tiling within "
            + "\(Int(TileCost.maxOverhead))x the compute; the result is less exact (an overlap of 16 stays within about 3e-2 of "
            + "the whole-image result, 32 within 1e-4); --tile \(smallest) or more keeps the full overlap"
    }

    /// Removes what killed runs left in the output folders: only temporaries of atomic writes
    /// (`.NAME.tmp-XXXX`) that no live process is writing.
    private func removeStaleTemporaries(_ reporter: UpscaleReporter) {
        let folders = Set(jobs.filter { $0.problem == nil }.map { $0.output.deletingLastPathComponent().standardizedFileURL.path })
        for folder in folders.sorted() {
            let removed = AtomicFiles.removeStaleTemporaries(in: URL(fileURLWithPath: folder))
            if !removed.isEmpty {
                let what = removed.count == 1 ? "1 temporary file" : "\(removed.count) temporary files"
                reporter.note("removed \(what) left in \(folder) by an interrupted run")
            }
        }
    }

    /// Why files cannot be written in `folder` (created if needed, then probed), or nil when they can.
    public static func writeProblem(_ folder: URL) -> String? {
        do {
            try AtomicFiles.checkWritable(folder: folder)
            return nil
        } catch let error as ImageError {
            return error.reason
        } catch {
            return "cannot write in \(folder.path): \(error)"
        }
    }

    /// Describes each job's sizes, tile plan and memory estimate to `line` (a line each, in order), and
    /// each input that cannot be read to `error`; true when every input could be read.
    public func dryRun(line: (String) -> Void, error: (String) -> Void) -> Bool {
        var ok = true
        for job in jobs {
            do {
                let target = try prepare(job)
                let image = target.image
                let s = pipeline.resolver.scale
                let native = (image.width * s, image.height * s)
                let plan = pipeline.plan(width: image.width, height: image.height)
                let resample = native == (target.width, target.height) ? "" : ", then bicubic from \(native.0)x\(native.1)"
                let memory = pipeline.memoryEstimate(width: image.width, height: image.height, channels: image.channels,
                                                     outputWidth: target.width, outputHeight: target.height,
                                                     outputBytesPerSample: target.bitDepth / 8)
                let exists = FileManager.default.fileExists(atPath: job.output.path)
                let skip = skipExisting && exists ? " (exists: would be skipped)" : (exists ? " (exists: would be replaced)" : "")
                line("\(job.input.path): \(image.width)x\(image.height) \(Self.describe(image)) -> \(target.width)x\(target.height) "
                     + "\(target.bitDepth)-bit \(job.format == .png ? "PNG" : "JPEG") (x\(s) network\(resample)) -> \(job.output.path)\(skip)")
                line("  tiles: \(plan.summary), compute x\(String(format: "%.2f", plan.overhead)); memory: about \(memory >> 20) MB")
                if let note = overlapNote(plan) { line("  note: \(note)") }
            } catch let failure {
                error(Self.message(failure, job))
                ok = false
            }
        }
        return ok
    }

    /// Reads the input and works out the output's size and depth; throws for anything that makes the file fail.
    public func prepare(_ job: UpscaleJob) throws -> UpscaleTarget {
        if let problem = job.problem { throw RestorationError(problem) }
        let image = try readImage(at: job.input)
        return try options.target(for: image, format: job.format, nativeScale: pipeline.resolver.scale, name: job.input.path)
    }

    private func write(_ image: Image, job: UpscaleJob) throws {
        let folder = job.output.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw RestorationError("\(job.input.path): cannot create the output folder \(folder.path): \(FileErrors.reason(error, path: folder.path))")
        }
        try writeImage(image, to: job.output, format: job.format, quality: options.quality,
                       bitDepth: job.format == .png ? image.bitDepth : nil)
    }

    /// An error as one line that names the input.
    public static func message(_ error: Error, _ job: UpscaleJob) -> String {
        switch error {
        case let e as RestorationError: return e.description
        case let e as ImageError where e.file == job.input.path: return e.description
        case let e as ImageError: return "\(job.input.path): \(e)"
        default: return "\(job.input.path): \(error)"
        }
    }

    /// `RGB 8-bit`, `gray+alpha 16-bit`, ...
    public static func describe(_ image: Image) -> String {
        let kind = ["gray", "gray+alpha", "RGB", "RGBA"][image.channels - 1]
        return "\(kind) \(image.bitDepth)-bit"
    }
}
