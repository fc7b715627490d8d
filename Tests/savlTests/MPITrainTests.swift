import Foundation
import TestPhotos
import Testing

/// `savl train` under `mpirun -np 2` on this machine, each rank on one thread: the same losses as one
/// process, interruption and resumption with another number of ranks, and a dead rank ending the job.
/// Serialized with each other; they need Open MPI's `mpirun` (scripts/setup installs it).
@Suite(.serialized) struct MPITrainTests {
    let tinyConfig = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("configs/tiny-x4.yml").path

    /// Relative tolerance on every logged value (loss, terms, gradient norm) of a step, 2 ranks against
    /// 1 process. The ranks sum their halves of each mean and of each weight gradient in another order
    /// than one process does: f32 rounding (2^-24 relative per addition) puts the first step's values
    /// within about 1e-6, and the weights then differ by that much, which Adam's normalised steps carry
    /// on; over 30 steps the largest difference measured is 3e-5 (gradient norm). A sharding mistake (a
    /// wrong pair, crop or noise draw) changes a step's loss by percents.
    static let tolerance = 1e-3

    func workspace(_ label: String) throws -> URL {
        let dir = try temporaryDirectory(label)
        let photos = dir.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        for i in 0..<3 { try writePNG(width: 72 + 8 * i, height: 68, channels: 3, to: photos.appendingPathComponent("p\(i).png")) }
        return dir
    }

    /// The tiny configuration on the generated photos, batch 4, every step logged, in f32 (the
    /// tolerance above is derived for f32 arithmetic).
    func settings(_ dir: URL, batch: Int = 4) -> [String] {
        let photos = dir.appendingPathComponent("photos").path
        return ["--threads", "1", "--precision", "f32", "--set", "data.folders=[\(photos)]", "--set", "validation.folder=\(photos)", "--set", "batchSize=\(batch)",
                "--set", "data.hrCropSize=32", "--set", "validation.hrCropSize=32", "--set", "stage1Steps=20", "--set", "steps=30",
                "--set", "logging.every=1", "--set", "checkpoints.every=5", "--set", "validation.every=10"]
    }

    func log(_ run: URL) throws -> [[String: Any]] {
        let text = try String(contentsOf: run.appendingPathComponent("log.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    /// Every logged value of `b` within `tolerance` (relative) of `a`, step for step over `steps`.
    func expectSameLosses(_ a: [[String: Any]], _ b: [[String: Any]], steps: ClosedRange<Int>, tolerance: Double = tolerance) {
        let byStep = { (entries: [[String: Any]]) in Dictionary(entries.map { ($0["step"] as! Int, $0) }) { _, last in last } }
        let (x, y) = (byStep(a), byStep(b))
        for step in steps {
            guard let p = x[step], let q = y[step] else { Issue.record("step \(step) is missing from a log"); continue }
            for key in ["loss", "srL1", "reconstruction", "kl", "gradientNorm"] {
                let u = p[key] as! Double, v = q[key] as! Double
                #expect(abs(u - v) <= tolerance * max(abs(u), 1e-6), "step \(step) \(key): \(u) against \(v)")
            }
        }
    }

    @Test func twoRanksGiveTheLossesOfOneProcess() throws {
        let dir = try workspace("mpi-equal")
        defer { try? FileManager.default.removeItem(at: dir) }
        let one = dir.appendingPathComponent("one"), two = dir.appendingPathComponent("two")
        let single = try runSavl(["train", "--config", tinyConfig, "--run-dir", one.path, "--quiet"] + settings(dir))
        #expect(single.status == 0, "stderr: \(single.stderr)")
        let parallel = try runMPI(ranks: 2, ["train", "--config", tinyConfig, "--run-dir", two.path, "--quiet", "--check-weights-every", "1"] + settings(dir))
        #expect(parallel.status == 0, "stderr: \(parallel.stderr)")
        #expect(parallel.stderr.contains("data parallel: 2 ranks") && parallel.stderr.contains("2 pairs each of the global batch of 4"), "\(parallel.stderr)")
        #expect(parallel.stderr.contains("the 2 ranks hold the same weights"), "\(parallel.stderr)")
        #expect(parallel.stdout.components(separatedBy: "finished at step 30").count == 2, "only rank 0 reports: \(parallel.stdout)")
        let (a, b) = (try log(one), try log(two))
        #expect(a.count == 30 && b.count == 30)
        expectSameLosses(a, b, steps: 1...1, tolerance: 1e-5)
        expectSameLosses(a, b, steps: 1...30)
        #expect(b.contains { $0["validationPSNR"] is Double })

        let odd = try runMPI(ranks: 2, ["train", "--config", tinyConfig, "--run-dir", dir.appendingPathComponent("odd").path] + settings(dir, batch: 3))
        #expect(odd.status != 0)
        #expect(odd.stderr.contains("optimizer.batchSize 3 (the global batch) does not divide into 2 ranks; use a multiple of 2, such as 2 or 4"), "\(odd.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("odd").path), "no run folder for a refused run")
    }

    /// A run of 12 steps on 2 ranks lengthened to 30 on 1 process gives the losses of the same on 1
    /// process throughout; Ctrl-C on mpirun saves a checkpoint, and the run resumes on 2 ranks.
    @Test func resumesWithAnotherNumberOfRanks() throws {
        let dir = try workspace("mpi-resume")
        defer { try? FileManager.default.removeItem(at: dir) }
        let reference = dir.appendingPathComponent("reference"), run = dir.appendingPathComponent("run")
        let short = settings(dir) + ["--set", "stage1Steps=8", "--steps", "12", "--quiet"]
        let whole = try runSavl(["train", "--config", tinyConfig, "--run-dir", reference.path] + short)
        #expect(whole.status == 0, "stderr: \(whole.stderr)")
        let lengthened = try runSavl(["train", "--resume", reference.path, "--steps", "30", "--quiet", "--threads", "1", "--precision", "f32"])
        #expect(lengthened.status == 0, "stderr: \(lengthened.stderr)")
        let first = try runMPI(ranks: 2, ["train", "--config", tinyConfig, "--run-dir", run.path] + short)
        #expect(first.status == 0, "stderr: \(first.stderr)")
        let second = try runSavl(["train", "--resume", run.path, "--steps", "30", "--quiet", "--threads", "1", "--precision", "f32"])
        #expect(second.status == 0 && second.stderr.contains("from step-00000012 (step 12 of 30)"), "stderr: \(second.stderr)")
        expectSameLosses(try log(reference), try log(run), steps: 1...30)

        // Ctrl-C on mpirun: the ranks stop together after a step, rank 0 saves, a 2-rank resume goes on.
        let long = dir.appendingPathComponent("long")
        let process = try startMPI(ranks: 2, ["train", "--config", tinyConfig, "--run-dir", long.path] + settings(dir) + ["--steps", "100000"])
        let logFile = long.appendingPathComponent("log.jsonl").path
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: logFile) && process.isRunning && Date() < deadline { usleep(100_000) }
        usleep(300_000)
        process.interrupt()
        let (_, stderr) = finish(process, within: 120)
        let saved = try #require(stderr.firstMatch(of: #/interrupted: saving a checkpoint at step (\d+)/#).map { Int($0.1)! }, "\(stderr)")
        let checkpoint = long.appendingPathComponent(String(format: "checkpoints/step-%08d/state.json", saved))
        #expect(FileManager.default.fileExists(atPath: checkpoint.path), "\(stderr)")
        let resumed = try runMPI(ranks: 2, ["train", "--resume", long.path, "--steps", "\(saved + 3)", "--quiet", "--threads", "1", "--precision", "f32"])
        #expect(resumed.status == 0 && resumed.stdout.contains("finished at step \(saved + 3)"), "stderr: \(resumed.stderr)")
    }

    /// A rank killed mid-run ends the job with an error in bounded time; the other rank does not hang.
    @Test func aDeadRankEndsTheJob() throws {
        let dir = try workspace("mpi-dead")
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = dir.appendingPathComponent("run")
        let process = try startMPI(ranks: 2, ["train", "--config", tinyConfig, "--run-dir", run.path] + settings(dir) + ["--steps", "100000"])
        let logFile = run.appendingPathComponent("log.jsonl").path
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: logFile) && process.isRunning && Date() < deadline { usleep(100_000) }
        let rank1 = try #require(rankProcess(1, launcher: process.processIdentifier), "rank 1 of mpirun \(process.processIdentifier)")
        kill(rank1, SIGKILL)
        let start = Date()
        let (status, stderr) = finish(process, within: 60)
        #expect(Date().timeIntervalSince(start) < 60, "the job outlived its dead rank")
        #expect(status != 0, "\(stderr)")
    }
}

/// `mpirun --allow-run-as-root --oversubscribe -np ranks savl arguments`, started.
func startMPI(ranks: Int, _ arguments: [String]) throws -> Process {
    guard let mpirun = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "mpirun (Open MPI; scripts/setup installs openmpi-bin)"])
    }
    let process = Process()
    // Through perl (in every Debian), to unblock SIGINT and SIGTERM: the test runner blocks them, exec keeps
    // the mask, and an mpirun that inherits it ignores Ctrl-C.
    process.executableURL = URL(fileURLWithPath: "/usr/bin/perl")
    process.arguments = ["-e", "use POSIX; sigprocmask(SIG_UNBLOCK, POSIX::SigSet->new(SIGINT, SIGTERM)); exec @ARGV or die", mpirun,
                         "--allow-run-as-root", "--oversubscribe", "-np", "\(ranks)", try savlExecutable().path] + arguments
    process.standardOutput = Pipe()
    process.standardError = Pipe()
    try process.run()
    return process
}

/// Waits for `process` (killing it after `seconds`); its status and stderr. Stdout is read too.
func finish(_ process: Process, within seconds: Double) -> (status: Int32, stderr: String) {
    let pid = process.processIdentifier
    DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { if process.isRunning { kill(pid, SIGKILL) } }
    let out = (process.standardOutput as! Pipe).fileHandleForReading, err = (process.standardError as! Pipe).fileHandleForReading
    DispatchQueue.global().async { _ = out.readDataToEndOfFile() }
    let stderr = String(decoding: err.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, stderr)
}

/// Runs `savl` under mpirun with `ranks` ranks (ended after 10 minutes); its status and output.
func runMPI(ranks: Int, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = try startMPI(ranks: ranks, arguments)
    let pid = process.processIdentifier
    DispatchQueue.global().asyncAfter(deadline: .now() + 600) { if process.isRunning { kill(pid, SIGKILL) } }
    // Both pipes read at once, so neither can fill and block the ranks.
    let errors = Received(), done = DispatchSemaphore(value: 0)
    let err = (process.standardError as! Pipe).fileHandleForReading
    DispatchQueue.global().async { errors.data = err.readDataToEndOfFile(); done.signal() }
    let stdout = (process.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile()
    done.wait()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: errors.data, as: UTF8.self))
}

/// Bytes read on another thread, handed over after a semaphore.
private final class Received: @unchecked Sendable {
    var data = Data()
}

/// The process of `rank` among the children of the launcher `launcher` (from OMPI_COMM_WORLD_RANK).
func rankProcess(_ rank: Int, launcher: Int32) -> Int32? {
    guard let children = try? String(contentsOfFile: "/proc/\(launcher)/task/\(launcher)/children", encoding: .utf8) else { return nil }
    for child in children.split(separator: " ").compactMap({ Int32($0) }) {
        guard let environment = FileManager.default.contents(atPath: "/proc/\(child)/environ") else { continue }
        let variables = environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        if variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") { return child }
    }
    return nil
}
