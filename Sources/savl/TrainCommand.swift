import ArgumentParser
import Collectives
import Foundation
import Synchronization
import Tensors
import Training

/// Set by SIGINT or SIGTERM; the training loop checks it between steps.
private let stopRequested = Atomic<Bool>(false)

/// `savl train`: trains a SAVL model from a YAML configuration, or resumes a run.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a SAVL model on folders of photos, or resume a run.",
        discussion: """
            savl train --config FILE.yml [--run-dir DIR] [--steps N] [--set key=value ...]
            savl train --resume RUN_DIR [--steps N]
            savl train --plot RUN_DIR
            savl train --export RUN_DIR -o MODEL.safetensors [--latest | --checkpoint DIR]

            The configuration is YAML (see configs/*.yml); keys left out keep their defaults, an unknown \
            key is an error naming it, and every value is checked before any work starts. --set overrides \
            one key, in YAML syntax: --set optimizer.learningRate=1e-4 --set data.folders=[a,b]. Relative \
            folders start at the current directory. --steps is the total step count to reach.

            The run folder (default runs/<config name>-<date>) receives config.yml (resolved), log.jsonl \
            (one JSON object per logged step), checkpoints/ (the newest few and the best), \
            weights.safetensors and best-weights.safetensors (inference weights, EMA), and training.png.
            Ctrl-C (or SIGTERM) saves a checkpoint after the current step and exits with status 130; \
            --resume continues exactly where the run stopped. A truncated or corrupted checkpoint is \
            refused with a warning and the previous one is used.
            Under an MPI launcher (mpirun -np N savl train ...) the N processes train one model, data \
            parallel: optimizer.batchSize is the global batch (it must divide by N), rank 0 writes the \
            run folder, and the ranks compare their weights every --check-weights-every steps.
            --export writes a model file to ship (e.g. for `savl upscale --model`): the run's best \
            (or, with --latest, newest, or a checkpoint folder's) EMA weights, the code of a clean \
            image measured on the bicubic downscales of the validation photos (the reference of \
            `--strength`), and the training steps and data.
            """)

    @Option(help: "A YAML training configuration (start a new run).")
    var config: String?

    @Option(help: "Continue the run in this folder from its newest usable checkpoint.")
    var resume: String?

    @Option(help: "Redraw training.png of this run folder from its log, and exit.")
    var plot: String?

    @Option(help: "Write a model file from this run folder (with -o), and exit.")
    var export: String?

    @Option(name: .shortAndLong, help: "The model file --export writes.")
    var output: String?

    @Flag(help: "With --export: the newest weights instead of the best-validation ones.")
    var latest = false

    @Option(help: "With --export: the EMA weights of this checkpoint folder instead.")
    var checkpoint: String?

    @Option(help: "The run folder of a new run (default runs/<config name>-<date>).")
    var runDir: String?

    @Option(parsing: .unconditional, help: "Total steps to reach (overrides the configuration's steps).")
    var steps: Int?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override one configuration key (repeatable).", valueName: "key=value"))
    var overrides: [String] = []

    @Flag(help: "Print the resolved configuration as YAML and exit, without training.")
    var printConfig = false

    @Option(parsing: .unconditional, help: ArgumentHelp("Time N training steps of each stage on random batches of the configuration's shapes, print the medians and peak memory, and exit.", valueName: "N"))
    var benchmark: Int?

    @Flag(help: "No progress line on stderr (messages and errors still appear).")
    var quiet = false

    @Option(parsing: .unconditional, help: "Compute threads (default: all cores).")
    var threads: Int?

    @Option(help: Precision.help)
    var precision: Precision = .auto

    @Option(parsing: .unconditional, help: ArgumentHelp("Under MPI: check every N steps that all ranks hold the same weights (0: at the end only).", valueName: "N"))
    var checkWeightsEvery = 100

    func validate() throws {
        let modes = [config, resume, plot, export].compactMap { $0 }.count
        guard modes == 1 else {
            throw ValidationError("give exactly one of --config FILE.yml, --resume RUN_DIR, --plot RUN_DIR or --export RUN_DIR")
        }
        if export != nil && output == nil { throw ValidationError("--export needs -o MODEL.safetensors, the file to write") }
        if export == nil && (output != nil || latest || checkpoint != nil) {
            throw ValidationError("-o, --latest and --checkpoint only apply with --export")
        }
        if latest && checkpoint != nil { throw ValidationError("give --latest or --checkpoint, not both") }
        if config == nil {
            if runDir != nil { throw ValidationError("--run-dir only applies with --config (a resumed run stays in its folder)") }
            if !overrides.isEmpty { throw ValidationError("--set only applies with --config (a resumed run keeps its configuration)") }
            if printConfig { throw ValidationError("--print-config only applies with --config") }
            if benchmark != nil { throw ValidationError("--benchmark only applies with --config") }
        }
        if (plot != nil || export != nil) && steps != nil { throw ValidationError("--steps does not apply with --plot or --export") }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
        if let benchmark, benchmark < 1 { throw ValidationError("--benchmark must be at least 1, got \(benchmark)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if checkWeightsEvery < 0 { throw ValidationError("--check-weights-every must be 0 or more, got \(checkWeightsEvery)") }
    }

    func run() throws {
        if let plot {
            let run = TrainingRun(folder: URL(fileURLWithPath: plot), keepLast: 1)
            let entries = run.log.entries()
            guard !entries.isEmpty else { throw TrainingError("\(run.log.url.path): no log entries to plot") }
            try TrainingPlot.write(entries: entries, title: run.folder.lastPathComponent, to: run.plotURL)
            print(run.plotURL.path)
            return
        }
        if let threads { Engine.setThreads(threads) }
        try Engine.setPrecision(precision)
        if let export, let output {
            let summary = try ModelExport.export(runDirectory: URL(fileURLWithPath: export), to: URL(fileURLWithPath: output),
                                                 latest: latest, checkpoint: checkpoint.map { URL(fileURLWithPath: $0) })
            let code = summary.cleanCode.map { "clean code of \($0.count) values" } ?? "no degradation code"
            print("\(output): weights of step \(summary.step), \(summary.parameterCount) parameters, \(code)")
            return
        }
        if config != nil && (printConfig || benchmark != nil) {
            try start(reporter: ProgressReporter(quiet: quiet))
            return
        }
        let world = try Communicators.start()
        guard world.size > 1 else {
            try start(reporter: ProgressReporter(quiet: quiet))
            world.finalize()
            return
        }
        let parallel = DataParallel(communicator: world, checkEvery: checkWeightsEvery)
        do {
            try start(reporter: world.isRoot ? ProgressReporter(quiet: quiet) : ProgressReporter(mode: .quiet, sink: { _ in }), parallel: parallel)
        } catch let exit as ExitCode {
            world.finalize()   // an interruption: every rank stopped at the same step
            throw exit
        } catch {
            // This rank may be alone with its error while the others wait in a collective: end them all.
            FileHandle.standardError.write(Data("error (rank \(world.rank) of \(world.size)): \(error)\n".utf8))
            world.abort(status: 1)
        }
        world.finalize()
    }

    /// Trains: one process, or this rank of a data-parallel job (`parallel`).
    private func start(reporter: ProgressReporter, parallel: DataParallel? = nil) throws {
        let root = parallel?.writes ?? true
        let start: TrainingLaunch.Start
        if !root {
            start = .fromRankZero   // the configuration and state come from rank 0: this rank needs only the data folders
        } else if let config {
            var resolved = try TrainingConfig.load(contentsOf: URL(fileURLWithPath: config),
                                                   overrides: overrides + (steps.map { ["steps=\($0)"] } ?? []))
            resolved = resolved.resolvingPaths(against: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
            if printConfig {
                print(try resolved.yaml(), terminator: "")
                return
            }
            if let benchmark {
                try runBenchmark(resolved, steps: benchmark)
                return
            }
            start = .new(resolved, runDirectory: URL(fileURLWithPath: runDir ?? defaultRunFolder(config: config)))
        } else {
            start = .resume(runDirectory: URL(fileURLWithPath: resume!), steps: steps)
        }
        installStopHandlers()
        if root { reporter.message("backend: \(Engine.backendDescription)") }
        let (trainer, outcome) = try TrainingLaunch.train(start, parallel: parallel, reporter: reporter,
                                                          shouldStop: { stopRequested.load(ordering: .relaxed) })
        guard root else {
            if case .interrupted = outcome { throw ExitCode(130) }
            return
        }
        let folder = trainer.run.folder.path
        var summary = ["run folder: \(folder)"]
        if let best = trainer.best {
            summary.append(String(format: "best validation: PSNR %.3f dB, SSIM %.4f at step %d", best.score.psnr, best.score.ssim, best.step))
        }
        switch outcome {
        case let .finished(step), let .stopped(step):
            print((["finished at step \(step)"] + summary).joined(separator: "\n"))
        case let .interrupted(step):
            print((["interrupted at step \(step); continue with: savl train --resume \(folder)"] + summary).joined(separator: "\n"))
            throw ExitCode(130)
        }
    }

    /// Prints the median step time of each stage and the peak resident memory.
    private func runBenchmark(_ config: TrainingConfig, steps: Int) throws {
        let result = try StepBenchmark.run(config: config, steps: steps, warmup: 1)
        let shape = "batch \(config.batchSize), \(config.lrCropSize)x\(config.lrCropSize) LR, x\(config.model.scale)"
        print("model \(config.model.preset) (\(result.parameterCount) parameters), \(shape), \(steps) timed steps per stage after 1 warm-up step")
        print("backend: \(Engine.backendDescription)")
        for (label, times, macs) in [("stage 1 (joint):         ", result.stage1, result.stage1MACs),
                                     ("stage 2 (encoder frozen):", result.stage2, result.stage2MACs)] {
            let ms = times.median
            print(String(format: "%@ median %.0f ms/step (min %.0f, max %.0f), %.1f GFLOP of convolutions, %.1f GFLOP/s effective",
                         label, ms, times.min()!, times.max()!, 2 * Double(macs) / 1e9, 2 * Double(macs) / (ms / 1000) / 1e9))
        }
        print(String(format: "peak resident memory: %.0f MB", ProcessMemory.peakResidentMegabytes()))
    }

    /// `runs/<config file name>-<date and time>`.
    private func defaultRunFolder(config: String) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        formatter.locale = Locale(identifier: "en_US_POSIX")
        let name = URL(fileURLWithPath: config).deletingPathExtension().lastPathComponent
        return "runs/\(name)-\(formatter.string(from: Date()))"
    }

    /// The first SIGINT or SIGTERM asks the loop to save and stop; a second one ends the process at once.
    /// The signals are unblocked too: a parent may have blocked them, and exec keeps the mask.
    private func installStopHandlers() {
        var signals = sigset_t()
        sigemptyset(&signals)
        for signalNumber in [SIGINT, SIGTERM] {
            sigaddset(&signals, signalNumber)
            signal(signalNumber) { received in
                stopRequested.store(true, ordering: .relaxed)
                signal(received, SIG_DFL)
            }
        }
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
    }
}
