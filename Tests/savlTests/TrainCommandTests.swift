import Foundation
import TestPhotos
import Testing

/// End-to-end tests of `savl train` with `configs/tiny-x4.yml`, running the built executable on small
/// generated photos. Serialized: each test trains, and the convolution kernels already own both cores.
@Suite(.serialized) struct TrainCommandTests {
    /// `configs/tiny-x4.yml` of this repository.
    let tinyConfig = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("configs/tiny-x4.yml").path

    /// A folder with `photos/` holding three generated PNG photos.
    func workspace(_ label: String) throws -> URL {
        let dir = try temporaryDirectory(label)
        let photos = dir.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        for i in 0..<3 { try writePNG(width: 72 + 8 * i, height: 68, channels: 3, to: photos.appendingPathComponent("p\(i).png")) }
        return dir
    }

    /// Overrides that make the tiny configuration read the generated photos and stay small, on one
    /// compute thread (other suites run at the same time).
    func settings(_ dir: URL) -> [String] {
        let photos = dir.appendingPathComponent("photos").path
        return ["--threads", "1", "--set", "data.folders=[\(photos)]", "--set", "validation.folder=\(photos)", "--set", "batchSize=2",
                "--set", "data.hrCropSize=32", "--set", "validation.hrCropSize=32", "--set", "stage1Steps=4",
                "--set", "logging.every=2"]
    }

    /// Lines of a run's `log.jsonl`, decoded.
    func log(_ run: URL) throws -> [[String: Any]] {
        let text = try String(contentsOf: run.appendingPathComponent("log.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    @Test func tinyConfigTrainsResumesAndPlots() throws {
        let dir = try workspace("train-e2e")
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = dir.appendingPathComponent("run")

        let first = try runSavl(["train", "--config", tinyConfig, "--run-dir", run.path, "--steps", "6"] + settings(dir))
        #expect(first.status == 0, "stderr: \(first.stderr)")
        #expect(first.stdout.contains("finished at step 6") && first.stdout.contains("run folder: \(run.path)"), "\(first.stdout)")
        #expect(first.stdout.contains("best validation: PSNR"))
        #expect(first.stderr.contains("step 2/6 stage 1  loss") && first.stderr.contains("step 6/6 stage 2  loss"), "\(first.stderr)")
        #expect(first.stderr.contains("validation at step 6: PSNR"))
        for file in ["config.yml", "log.jsonl", "training.png", "weights.safetensors", "best-weights.safetensors",
                     "checkpoints/step-00000006/state.json", "checkpoints/step-00000006/model.safetensors",
                     "checkpoints/best-step-00000006/optimizer.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent(file).path), "missing \(file)")
        }
        let config = try String(contentsOf: run.appendingPathComponent("config.yml"), encoding: .utf8)
        #expect(config.contains("steps: 6\nstage1Steps: 4\nbatchSize: 2\n") && config.contains("preset: \"tiny\""), "\(config)")
        let entries = try log(run)
        #expect(entries.map { $0["step"] as? Int } == [2, 4, 6])
        #expect(entries.allSatisfy { ($0["loss"] as? Double).map { $0 > 0 && $0 < 2 } ?? false })
        #expect(entries.last?["validationPSNR"] is Double && entries.last?["stage"] as? Int == 2)

        let resumed = try runSavl(["train", "--resume", run.path, "--steps", "8", "--quiet", "--threads", "1"])
        #expect(resumed.status == 0, "stderr: \(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming \(run.path) from step-00000006 (step 6 of 8)"), "\(resumed.stderr)")
        #expect(!resumed.stderr.contains("step 8/8"), "--quiet prints no progress")
        #expect(resumed.stdout.contains("finished at step 8"))
        #expect(resumed.stderr.contains("backend: oneDNN") && resumed.stderr.contains("1 thread"), "\(resumed.stderr)")
        #expect(try log(run).map { $0["step"] as? Int } == [2, 4, 6, 8])

        let again = try runSavl(["train", "--resume", run.path])
        #expect(again.status == 0 && again.stdout.contains("finished at step 8"), "\(again.stderr)")

        try FileManager.default.removeItem(at: run.appendingPathComponent("training.png"))
        let plot = try runSavl(["train", "--plot", run.path])
        #expect(plot.status == 0 && plot.stdout.contains("training.png"))
        #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent("training.png").path))

        let model = dir.appendingPathComponent("model.safetensors")
        let exported = try runSavl(["train", "--export", run.path, "-o", model.path, "--latest", "--threads", "1"])
        #expect(exported.status == 0, "stderr: \(exported.stderr)")
        #expect(exported.stdout.contains("weights of step 8") && exported.stdout.contains("clean code of 4 values"), "\(exported.stdout)")
        let header = try String(decoding: Data(contentsOf: model).prefix(8192), as: UTF8.self)
        for key in ["\"clean_code\"", "\"training_steps\":\"8\"", "\"format\":\"savl-model\""] {
            #expect(header.contains(key), "no \(key) in the exported file's header")
        }
        let upscaled = try runSavl(["upscale", dir.appendingPathComponent("photos/p0.png").path, "-o", dir.appendingPathComponent("sr").path,
                                    "--model", model.path, "--strength", "0", "--threads", "1"])
        #expect(upscaled.status == 0, "stderr: \(upscaled.stderr)")
        let fromCheckpoint = try runSavl(["train", "--export", run.path, "-o", model.path, "--threads", "1",
                                          "--checkpoint", run.appendingPathComponent("checkpoints/step-00000006").path])
        #expect(fromCheckpoint.status == 0 && fromCheckpoint.stdout.contains("weights of step 6"), "\(fromCheckpoint.stderr)")
        let noOutput = try runSavl(["train", "--export", run.path])
        #expect(noOutput.status != 0 && noOutput.stderr.contains("--export needs -o"))
    }

    /// Ctrl-C saves a checkpoint after the current step and exits with 130; the run then resumes.
    @Test func interruptSavesACheckpointAndExits() throws {
        let dir = try workspace("train-sigint")
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = dir.appendingPathComponent("run")
        let process = Process()
        process.executableURL = try savlExecutable()
        process.arguments = ["train", "--config", tinyConfig, "--run-dir", run.path, "--steps", "100000"] + settings(dir)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let logFile = run.appendingPathComponent("log.jsonl").path
        let deadline = Date().addingTimeInterval(240)
        while !FileManager.default.fileExists(atPath: logFile) && process.isRunning && Date() < deadline { usleep(100_000) }
        process.interrupt()
        // The run saves after its current step; a run that ignores the signal must not hang the tests.
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + 120) { if process.isRunning { kill(pid, SIGKILL) } }
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()

        #expect(process.terminationReason == .exit && process.terminationStatus == 130, "stderr: \(stderr)")
        let saved = try #require(stderr.firstMatch(of: #/interrupted: saving a checkpoint at step (\d+)/#).map { Int($0.1)! }, "\(stderr)")
        #expect(saved >= 2)
        #expect(stdout.contains("interrupted at step \(saved); continue with: savl train --resume \(run.path)"), "\(stdout)")
        let checkpoint = String(format: "step-%08d", saved)
        #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent("checkpoints/\(checkpoint)/state.json").path))

        let resumed = try runSavl(["train", "--resume", run.path, "--steps", "\(saved + 1)", "--threads", "1"])
        #expect(resumed.status == 0, "stderr: \(resumed.stderr)")
        #expect(resumed.stderr.contains("from \(checkpoint) (step \(saved) of \(saved + 1))"), "\(resumed.stderr)")
    }

    @Test func badInputIsExplained() throws {
        let dir = try workspace("train-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let typo = dir.appendingPathComponent("typo.yml")
        try "steps: 3\noptimizer:\n  learningrate: 1e-3\n".write(to: typo, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["train"], "give exactly one of --config FILE.yml, --resume RUN_DIR, --plot RUN_DIR or --export RUN_DIR"),
            (["train", "--config", tinyConfig, "-o", dir.appendingPathComponent("m.safetensors").path], "-o, --latest and --checkpoint only apply with --export"),
            (["train", "--export", dir.path, "-o", dir.appendingPathComponent("m.safetensors").path], "not a training run folder (it has no config.yml)"),
            (["train", "--config", typo.path], "optimizer.learningrate: unknown key (did you mean 'learningRate'?)"),
            (["train", "--config", tinyConfig, "--set", "optimizer.learningRate=-1"], "optimizer.learningRate: must be positive"),
            (["train", "--config", tinyConfig, "--set", "validation.degradation=jpeg"], "validation.degradation: 'jpeg' is not one of"),
            (["train", "--config", tinyConfig, "--set", "steps"], "--set steps: expected key=value"),
            (["train", "--config", dir.appendingPathComponent("none.yml").path], "none.yml: cannot read the configuration"),
            (["train", "--config", tinyConfig, "--steps", "0"], "--steps must be at least 1"),
            (["train", "--config", tinyConfig, "--threads", "0"], "--threads must be at least 1"),
            (["train", "--resume", dir.path, "--set", "steps=3"], "--set only applies with --config"),
            (["train", "--resume", dir.path], "no checkpoint to resume from"),
            (["train", "--resume", dir.appendingPathComponent("none").path], "none: no such run folder"),
            (["train", "--plot", dir.path], "log.jsonl: no log entries to plot"),
            (["train", "--config", tinyConfig, "--run-dir", dir.appendingPathComponent("r").path, "--set", "data.folders=[\(dir.path)/missing]"],
             "missing: no such folder"),
        ]
        for (arguments, message) in cases {
            let result = try runSavl(arguments)
            #expect(result.status != 0 && result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("r").path), "a run with bad data leaves no folder")

        let printed = try runSavl(["train", "--config", tinyConfig, "--print-config", "--set", "optimizer.learningRate=5e-4"])
        #expect(printed.status == 0 && printed.stdout.contains("learningRate: 0.0005") && printed.stdout.contains("preset: \"tiny\""))
    }
}
