import Foundation
import Layers
import SAVL
import Tensors
import Testing
@testable import Training

/// Training runs of the `tiny` preset on synthetic photos.
extension TrainingRuns {
    @Suite struct TrainerTests {
        /// Messages of a quiet reporter, kept for assertions.
        final class Messages: @unchecked Sendable {
            private final class Lines { var all: [String] = [] }
            private let store = Lines()
            let reporter: ProgressReporter
            var lines: [String] { store.all }

            init() {
                let store = store
                reporter = ProgressReporter(mode: .quiet) { store.all.append($0) }
            }
        }

        @Test func tinyLossFallsOverFiftySteps() throws {
            let space = try Workspace("falls")
            defer { space.remove() }
            var config = try tinyConfig(photos: space.photos, steps: 50, stage1Steps: 50)
            config.validation.folder = ""
            config.logging.every = 10
            config.checkpoints.every = 50
            let folder = space.run("run")
            let trainer = try Trainer(config: config, runDirectory: folder, reporter: Messages().reporter)
            var entries: [LogEntry] = []
            #expect(try trainer.train(onStep: { entries.append($0) }) == .finished(step: 50))

            #expect(entries.map(\.step) == Array(1...50))
            let first = entries.prefix(5).map(\.loss).reduce(0, +) / 5, last = entries.suffix(10).map(\.loss).reduce(0, +) / 10
            #expect(last < 0.6 * first, "loss \(first) at the start, \(last) at the end")
            let firstL1 = entries.prefix(5).map(\.srL1).reduce(0, +) / 5, lastL1 = entries.suffix(10).map(\.srL1).reduce(0, +) / 10
            #expect(lastL1 < 0.8 * firstL1, "SR L1 \(firstL1) at the start, \(lastL1) at the end")

            let logged = trainer.run.log.entries()
            #expect(logged.map(\.step) == [10, 20, 30, 40, 50])
            #expect(logged.map(\.loss) == [10, 20, 30, 40, 50].map { entries[$0 - 1].loss })
            #expect(logged.allSatisfy { $0.stepsPerSecond != nil && $0.learningRate > 0 && $0.gradientNorm > 0 && $0.precision == "f32" })
            #expect(try TrainingConfig.load(contentsOf: trainer.run.configURL) == config)
            let (saved, metadata) = try ModelFile.load(from: trainer.run.weightsURL)
            #expect(metadata["preset"] == "tiny" && metadata["step"] == "50" && metadata["weights"] == "ema")
            let ema = trainer.state.inferenceWeights()
            #expect(saved.namedParameters().allSatisfy { ema[$0.name]?.values == $0.parameter.value.values })
            #expect(FileManager.default.fileExists(atPath: trainer.run.plotURL.path))
        }

        /// An interrupted run resumed from its checkpoint computes, bit for bit, the losses of an uninterrupted run,
        /// across the change of stage, with validation and the best checkpoint on the way.
        @Test func resumeGivesTheLossesOfAnUninterruptedRun() throws {
            let space = try Workspace("resume")
            defer { space.remove() }
            var config = try tinyConfig(photos: space.photos, steps: 8, stage1Steps: 5, mix: DegradationMix())
            config.validation.every = 3
            config.checkpoints.every = 2

            let whole = try Trainer(config: config, runDirectory: space.run("whole"), reporter: Messages().reporter)
            var uninterrupted: [LogEntry] = []
            try whole.train(onStep: { uninterrupted.append($0) })

            let folder = space.run("parts")
            let first = try Trainer(config: config, runDirectory: folder, reporter: Messages().reporter)
            var done = 0
            let outcome = try first.train(shouldStop: { done == 4 }, onStep: { _ in done += 1 })
            #expect(outcome == .interrupted(step: 4))
            #expect(first.run.checkpoints.entries().map(\.url.lastPathComponent) == ["step-00000002", "best-step-00000003", "step-00000004"])

            let messages = Messages()
            let resumed = try Trainer.resume(runDirectory: folder, reporter: messages.reporter)
            #expect(resumed.step == 4 && resumed.best?.step == 3)
            #expect(messages.lines.contains { $0.contains("resuming \(folder.path) from step-00000004 (step 4 of 8)") })
            var after: [LogEntry] = []
            #expect(try resumed.train(onStep: { after.append($0) }) == .finished(step: 8))

            #expect(after.map(\.step) == Array(5...8))
            #expect(after.map(\.stage) == [1, 2, 2, 2])
            #expect(after.map(\.loss) == uninterrupted.suffix(4).map(\.loss))
            #expect(after.map(\.kl) == uninterrupted.suffix(4).map(\.kl))
            #expect(after.map(\.validationPSNR) == uninterrupted.suffix(4).map(\.validationPSNR))
            #expect(after.compactMap(\.validationPSNR).count == 2)
            let a = whole.state.inferenceWeights(), b = resumed.state.inferenceWeights()
            #expect(a.keys.sorted() == b.keys.sorted())
            #expect(a.keys.allSatisfy { a[$0]!.values == b[$0]!.values })
            #expect(resumed.run.log.entries().map(\.step) == Array(1...8))
            #expect(resumed.run.log.entries().map(\.loss) == whole.run.log.entries().map(\.loss))
        }

        @Test func stageTwoTrainsOnlyTheSRNetwork() throws {
            let space = try Workspace("stages")
            defer { space.remove() }
            var config = try tinyConfig(photos: space.photos, steps: 6, stage1Steps: 3)
            config.validation.folder = ""
            let trainer = try Trainer(config: config, runDirectory: space.run("run"), reporter: Messages().reporter)
            var atStageChange: [String: [Float]] = [:]
            var entries: [LogEntry] = []
            try trainer.train(onStep: { entry in
                entries.append(entry)
                if entry.step == 3 { atStageChange = trainer.model.stateDict().mapValues(\.values) }
            })
            let end = trainer.model.stateDict().mapValues(\.values)
            for (name, values) in atStageChange {
                if name.hasPrefix("encoder.") || name.hasPrefix("decoder.") {
                    #expect(end[name] == values, "\(name) changed in stage 2")
                }
            }
            #expect(atStageChange.keys.filter { $0.hasPrefix("sr.") && end[$0] != atStageChange[$0] }.count > 0)
            #expect(entries.map(\.stage) == [1, 1, 1, 2, 2, 2])
            #expect(entries.suffix(3).allSatisfy { $0.reconstruction == 0 && $0.kl == 0 && $0.loss == $0.srL1 })
            #expect(entries.prefix(3).allSatisfy { $0.reconstruction > 0 && $0.kl > 0 && $0.loss > $0.srL1 })
        }

        /// With the warm-up the first update keeps a tenth of the initial weights; without it 0.9 of them
        /// (`emaDecay` 0.9 in `tinyConfig`).
        @Test(arguments: [true, false]) func theAverageWarmsUpUnlessTurnedOff(warmup: Bool) throws {
            let space = try Workspace("ema-\(warmup)")
            defer { space.remove() }
            var config = try tinyConfig(photos: space.photos, steps: 1, stage1Steps: 1)
            config.validation.folder = ""
            config.optimizer.emaWarmup = warmup
            let trainer = try Trainer(config: config, runDirectory: space.run("run"), reporter: Messages().reporter)
            let initial = trainer.model.sr.stateDict().mapValues(\.values)
            try trainer.train(onStep: { _ in })
            let trained = trainer.model.sr.stateDict().mapValues(\.values)
            let average = trainer.state.inferenceWeights()
            let keep: Float = warmup ? 0.1 : 0.9
            for (name, start) in initial {
                let expected = zip(start, trained[name]!).map { keep * $0 + (1 - keep) * $1 }
                let got = average["sr.\(name)"]!.values
                #expect(zip(got, expected).allSatisfy { Swift.abs($0 - $1) < 1e-6 }, "\(name)")
            }
        }

        @Test func learningRateWarmsUpAndDecaysInEachStage() throws {
            var config = TrainingConfig()
            config.steps = 30
            config.stage1Steps = 10
            config.optimizer.learningRate = 1e-3
            config.optimizer.minimumLearningRate = 0
            config.optimizer.warmupSteps = 2
            let rates = (0..<30).map { config.learningRate(atStep: $0) }
            #expect(rates[0] == 5e-4 && rates[1] == 1e-3 && rates[2] == 1e-3)
            #expect(rates[10] == 5e-4 && rates[11] == 1e-3 && rates[12] == 1e-3, "stage 2 warms up again")
            #expect(zip(rates[2..<10], rates[3..<10]).allSatisfy { $0 > $1 })
            #expect(zip(rates[12..<30], rates[13..<30]).allSatisfy { $0 > $1 })
            #expect(rates[29] < 1e-5)
        }

        @Test func aNewRunRefusesAFolderThatHoldsOne() throws {
            let space = try Workspace("refuse", count: 2)
            defer { space.remove() }
            var config = try tinyConfig(photos: space.photos, steps: 2, stage1Steps: 1)
            config.validation.folder = ""
            let folder = space.run("run")
            try Trainer(config: config, runDirectory: folder, reporter: Messages().reporter).train()
            let error = try #require(throws: TrainingError.self) {
                try Trainer(config: config, runDirectory: folder, reporter: Messages().reporter)
            }
            #expect(error.message.contains("already holds a run; continue it with --resume"))
            let missing = try #require(throws: TrainingError.self) {
                try Trainer.resume(runDirectory: space.run("nothing"), reporter: Messages().reporter)
            }
            #expect(missing.message.hasSuffix("nothing: no such run folder"))
        }

        @Test func aDivergingLossStopsTrainingWithAnExplanation() throws {
            let space = try Workspace("diverge", count: 2)
            defer { space.remove() }
            var config = try tinyConfig(photos: space.photos, steps: 6, stage1Steps: 6)
            config.validation.folder = ""
            config.optimizer.learningRate = 1e30
            config.optimizer.warmupSteps = 0
            config.optimizer.gradientClipNorm = 0
            let trainer = try Trainer(config: config, runDirectory: space.run("run"), reporter: Messages().reporter)
            let error = try #require(throws: TrainingError.self) { try trainer.train() }
            #expect(error.message.contains("the loss is") && error.message.contains("lower optimizer.learningRate"), "\(error.message)")
        }
    }
}
