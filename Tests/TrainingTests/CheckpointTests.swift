import Foundation
import SeededRandom
import Tensors
import Testing
@testable import Training

extension TrainingRuns {
    @Suite struct CheckpointTests {
        /// A small checkpoint with recognisable values.
        func sample(step: Int) -> Checkpoint {
            var rng = SeededGenerator(seed: UInt64(step))
            let state = CheckpointState(step: step, posteriorGenerator: rng.fork(3),
                                        best: BestScore(step: step, score: ValidationScore(psnr: 20.5, ssim: 0.6)), config: TrainingConfig())
            return Checkpoint(state: state,
                              model: ["encoder.head.weight": Tensor.normal([4, 3, 3, 3], using: &rng), "sr.tail.bias": Tensor.normal([3], using: &rng)],
                              ema: ["sr.tail.bias": Tensor.normal([3], using: &rng)],
                              optimizer: ["step": Tensor(Float(step)), "exp_avg.sr.tail.bias": Tensor.normal([3], using: &rng)])
        }

        @Test func roundTripsExactly() throws {
            let folder = try temporaryFolder("checkpoint")
            defer { try? FileManager.default.removeItem(at: folder) }
            let original = sample(step: 7)
            try original.write(to: folder.appendingPathComponent("step-7"))
            let read = try Checkpoint.read(from: folder.appendingPathComponent("step-7"))
            #expect(read.state.step == 7 && read.state.best == original.state.best && read.state.config == original.state.config)
            #expect(read.state.posteriorGenerator == original.state.posteriorGenerator)
            for (name, tensor) in original.model { #expect(read.model[name]?.values == tensor.values && read.model[name]?.shape == tensor.shape) }
            #expect(read.ema["sr.tail.bias"]?.values == original.ema["sr.tail.bias"]?.values)
            #expect(read.optimizer.keys.sorted() == ["exp_avg.sr.tail.bias", "step"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["step-7"], "no temporary folder is left")
        }

        @Test(arguments: [
            ("truncate", Checkpoint.modelFile, "bytes, expected"),
            ("flip", Checkpoint.optimizerFile, "checksum mismatch"),
            ("truncate", Checkpoint.stateFile, "not a valid checkpoint state"),
            ("delete", Checkpoint.emaFile, "missing or unreadable"),
        ])
        func damagedFilesAreRefusedByName(damage: String, file: String, reason: String) throws {
            let folder = try temporaryFolder("damaged")
            defer { try? FileManager.default.removeItem(at: folder) }
            let url = folder.appendingPathComponent("step-3")
            try sample(step: 3).write(to: url)
            try damageFile(url.appendingPathComponent(file), how: damage)
            let error = try #require(throws: CheckpointError.self) { try Checkpoint.read(from: url) }
            #expect(error.message.contains(url.appendingPathComponent(file).path) && error.message.contains(reason), "\(error.message)")
        }

        @Test func storeKeepsTheNewestAndTheBest() throws {
            let folder = try temporaryFolder("store")
            defer { try? FileManager.default.removeItem(at: folder) }
            let store = CheckpointStore(folder: folder, keepLast: 2)
            try store.saveBest(sample(step: 2))
            for step in 1...5 { try store.save(sample(step: step)) }
            try store.saveBest(sample(step: 3))
            #expect(store.entries().map(\.url.lastPathComponent) == ["best-step-00000003", "step-00000004", "step-00000005"])

            try damageFile(folder.appendingPathComponent("step-00000005/\(Checkpoint.modelFile)"), how: "flip")
            var refused: [String] = []
            let (newest, url) = try store.newestUsable { url, _ in refused.append(url.lastPathComponent) }
            #expect(refused == ["step-00000005"] && url.lastPathComponent == "step-00000004" && newest.state.step == 4)
        }

        /// A run whose newest checkpoint is damaged resumes from the previous one, and goes on as an
        /// uninterrupted run would.
        @Test func resumeRefusesADamagedCheckpointAndContinuesFromThePreviousOne() throws {
            let space = try Workspace("resume-damaged", count: 3)
            defer { space.remove() }
            var config = try tinyConfig(photos: space.photos, steps: 6, stage1Steps: 6)
            config.validation.folder = ""
            config.checkpoints.every = 3
            let folder = space.run("run")
            var original: [LogEntry] = []
            try Trainer(config: config, runDirectory: folder, reporter: ProgressReporter(mode: .quiet)).train(onStep: { original.append($0) })

            try damageFile(folder.appendingPathComponent("checkpoints/step-00000006/\(Checkpoint.modelFile)"), how: "truncate")
            var messages: [String] = []
            let resumed = try Trainer.resume(runDirectory: folder, reporter: ProgressReporter(mode: .quiet) { messages.append($0) })
            #expect(resumed.step == 3)
            #expect(messages.contains { $0.contains("warning: refusing checkpoint step-00000006") && $0.contains("truncated") }, "\(messages)")
            #expect(resumed.run.log.entries().map(\.step) == [1, 2, 3], "the log drops the steps after the checkpoint")
            var again: [LogEntry] = []
            try resumed.train(onStep: { again.append($0) })
            #expect(again.map(\.loss) == original.suffix(3).map(\.loss))
            #expect(try Checkpoint.read(from: folder.appendingPathComponent("checkpoints/step-00000006")).state.step == 6)
        }

        /// Truncates a file to half, flips a byte in its middle, or deletes it.
        func damageFile(_ url: URL, how: String) throws {
            var data = try Data(contentsOf: url)
            switch how {
            case "truncate": data = data.prefix(data.count / 2)
            case "flip": data[data.count / 2] ^= 0x40
            default: try FileManager.default.removeItem(at: url); return
            }
            try data.write(to: url)
        }
    }
}

extension TrainingRuns.CheckpointTests {
    /// A kill during `Checkpoint.write` leaves `.step-N.UUID.tmp`; a resume removes it, but not a temporary
    /// folder another writer still holds, nor anything else; the store never lists them as checkpoints.
    @Test func resumeRemovesStaleTemporaryFoldersOnly() throws {
        let space = try Workspace("resume-stale", count: 3)
        defer { space.remove() }
        var config = try tinyConfig(photos: space.photos, steps: 3, stage1Steps: 3)
        config.validation.folder = ""
        config.checkpoints.every = 3
        let folder = space.run("run")
        try Trainer(config: config, runDirectory: folder, reporter: ProgressReporter(mode: .quiet)).train()
        let checkpoints = folder.appendingPathComponent("checkpoints")
        let stale = ".step-00000006.\(UUID().uuidString).tmp", held = ".step-00000009.\(UUID().uuidString).tmp"
        let others = [".notes.tmp", "step-notes", ".step-00000006.not-a-uuid.tmp"]
        for name in [stale, held] + others {
            try FileManager.default.createDirectory(at: checkpoints.appendingPathComponent(name), withIntermediateDirectories: true)
            try Data([1, 2, 3]).write(to: checkpoints.appendingPathComponent("\(name)/\(Checkpoint.modelFile)"))
        }
        let lock = open(checkpoints.appendingPathComponent(held).path, O_RDONLY | O_DIRECTORY)
        #expect(lock >= 0 && flock(lock, LOCK_EX) == 0)
        defer { close(lock) }
        #expect(CheckpointStore(folder: checkpoints, keepLast: 2).entries().map(\.url.lastPathComponent) == ["step-00000003"])

        var messages: [String] = []
        let resumed = try Trainer.resume(runDirectory: folder, reporter: ProgressReporter(mode: .quiet) { messages.append($0) })
        #expect(resumed.step == 3)
        #expect(messages.contains { $0.contains("removed \(stale)") }, "\(messages)")
        let left = try FileManager.default.contentsOfDirectory(atPath: checkpoints.path).sorted()
        #expect(left == ([held, "step-00000003"] + others).sorted())
    }
}
