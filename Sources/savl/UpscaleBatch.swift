import FileSupport
import Foundation
import Imaging

/// Runs the jobs of `savl upscale` one file at a time; a failed file is reported and the batch goes on.
struct UpscaleBatch {
    let command: UpscaleCommand
    let pipeline: UpscalePipeline
    let jobs: [UpscaleJob]

    /// An input that could not be upscaled: the message names the file and says why.
    struct FileError: Error, CustomStringConvertible {
        var description: String
    }

    /// What one file will become.
    struct Target {
        var image: Image
        var width: Int, height: Int
        var bitDepth: Int
    }

    /// Upscales every job; true when none failed. `skippedByPlan` files left out while planning (formats savl
    /// does not read) count as skipped in the summary. `totals` turns this process's counts (written, skipped,
    /// failed) into the batch's, for the summary and the result (the sums over the ranks of an MPI job).
    func run(_ reporter: UpscaleProgress, skippedByPlan: Int = 0, totals: ([Int]) throws -> [Int] = { $0 }) throws -> Bool {
        var written = 0, skipped = skippedByPlan, failed = 0
        removeStaleTemporaries(reporter)
        var writable: [String: String?] = [:]
        var overlapNoted = false
        for (i, job) in jobs.enumerated() {
            reporter.beginFile(i, job.input.lastPathComponent)
            if command.skipExisting, job.problem == nil, FileManager.default.fileExists(atPath: job.output.path) {
                reporter.skipped("\(job.output.path) exists")
                skipped += 1
                continue
            }
            do {
                if job.problem == nil {
                    // Before any compute: an output folder that cannot be written fails the file at once.
                    let folder = job.output.deletingLastPathComponent()
                    if writable[folder.path] == nil { writable[folder.path] = Self.writeProblem(folder) }
                    if let problem = writable[folder.path]! { throw FileError(description: "\(job.input.path): \(problem)") }
                }
                let target = try prepare(job)
                if !overlapNoted, let note = overlapNote(pipeline.plan(width: target.image.width, height: target.image.height)) {
                    reporter.note(note)
                    overlapNoted = true
                }
                let result = try pipeline.run(target.image, width: target.width, height: target.height, alpha: command.alpha,
                                              progress: reporter.tile)
                try write(result, bitDepth: target.bitDepth, job: job)
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
    private func removeStaleTemporaries(_ reporter: UpscaleProgress) {
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
    static func writeProblem(_ folder: URL) -> String? {
        do {
            try AtomicFiles.checkWritable(folder: folder)
            return nil
        } catch let error as ImageError {
            return error.reason
        } catch {
            return "cannot write in \(folder.path): \(error)"
        }
    }

    /// Prints each job's sizes, tile plan and memory estimate; true when every input could be read.
    func dryRun() throws -> Bool {
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
                let skip = command.skipExisting && exists ? " (exists: would be skipped)" : (exists ? " (exists: would be replaced)" : "")
                print("\(job.input.path): \(image.width)x\(image.height) \(Self.describe(image)) -> \(target.width)x\(target.height) "
                      + "\(target.bitDepth)-bit \(job.format == .png ? "PNG" : "JPEG") (x\(s) network\(resample)) -> \(job.output.path)\(skip)")
                print("  tiles: \(plan.summary), compute x\(String(format: "%.2f", plan.overhead)); memory: about \(memory >> 20) MB")
                if let note = overlapNote(plan) { print("  note: \(note)") }
            } catch {
                FileHandle.standardError.write(Data("error: \(Self.message(error, job))\n".utf8))
                ok = false
            }
        }
        return ok
    }

    /// Reads the input and works out the output's size and depth; throws for anything that makes the file fail.
    func prepare(_ job: UpscaleJob) throws -> Target {
        if let problem = job.problem { throw FileError(description: problem) }
        let image = try readImage(at: job.input)
        let (width, height) = outputSize(image.width, image.height)
        let limit = ImageLimits.maxPixels
        guard width.multipliedReportingOverflow(by: height).partialValue <= limit, width <= 1_000_000, height <= 1_000_000 else {
            throw FileError(description: "\(job.input.path): the output would be \(width)x\(height), over the limit of \(limit) pixels")
        }
        if job.format == .jpeg {
            if image.hasAlpha {
                throw FileError(description: "\(job.input.path): has an alpha channel, which JPEG cannot store; use --format png")
            }
            guard width <= 65_535, height <= 65_535 else {
                throw FileError(description: "\(job.input.path): a \(width)x\(height) output is too large for JPEG (65535 per side); use --format png")
            }
        }
        let depth: Int
        switch command.bitDepth {
        case .auto: depth = job.format == .png ? image.bitDepth : 8
        case .eight: depth = 8
        case .sixteen: depth = 16
        }
        return Target(image: image, width: width, height: height, bitDepth: depth)
    }

    /// The output size: --width/--height (one of them keeps the aspect ratio), --scale, or the native factor.
    func outputSize(_ w: Int, _ h: Int) -> (Int, Int) {
        func scaled(_ n: Int, _ f: Double) -> Int { max(1, Int((Double(n) * f).rounded())) }
        switch (command.width, command.height) {
        case let (width?, height?): return (width, height)
        case let (width?, nil): return (width, scaled(h, Double(width) / Double(w)))
        case let (nil, height?): return (scaled(w, Double(height) / Double(h)), height)
        case (nil, nil):
            let f = command.scale ?? Double(pipeline.resolver.scale)
            return (scaled(w, f), scaled(h, f))
        }
    }

    private func write(_ image: Image, bitDepth: Int, job: UpscaleJob) throws {
        var image = image
        image.bitDepth = bitDepth
        let folder = job.output.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw FileError(description: "\(job.input.path): cannot create the output folder \(folder.path): \(FileErrors.reason(error, path: folder.path))")
        }
        try writeImage(image, to: job.output, format: job.format, quality: command.quality, bitDepth: job.format == .png ? bitDepth : nil)
    }

    /// An error as one line that names the input.
    static func message(_ error: Error, _ job: UpscaleJob) -> String {
        switch error {
        case let e as FileError: return e.description
        case let e as ImageError where e.file == job.input.path: return e.description
        case let e as ImageError: return "\(job.input.path): \(e)"
        default: return "\(job.input.path): \(error)"
        }
    }

    static func describe(_ image: Image) -> String {
        let kind = ["gray", "gray+alpha", "RGB", "RGBA"][image.channels - 1]
        return "\(kind) \(image.bitDepth)-bit"
    }
}
