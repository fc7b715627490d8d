import Foundation

/// How `savl train` trains: a new run or a resumed one, in one process or as one rank of a
/// data-parallel job, up to the outcome.
public enum TrainingLaunch {
    /// Where the run comes from.
    public enum Start {
        /// A new run of `config` in `runDirectory` (which must not hold a run).
        case new(TrainingConfig, runDirectory: URL)
        /// The run in `runDirectory`, continued from its newest usable checkpoint, optionally to `steps` in all.
        case resume(runDirectory: URL, steps: Int?)
        /// Rank 0's run, for the other ranks of a data-parallel job: they read neither a configuration nor the run folder.
        case fromRankZero
    }

    /// Trains until the run ends or `shouldStop` says so, and returns the trainer (its run folder and best
    /// validation) with the outcome. Under `parallel`, rank 0 starts from `start` and the other ranks
    /// (`.fromRankZero`) take rank 0's state (`Trainer.joining`).
    public static func train(_ start: Start, parallel: DataParallel?, reporter: ProgressReporter,
                             shouldStop: () -> Bool) throws -> (trainer: Trainer, outcome: TrainingOutcome) {
        func makeRoot() throws -> Trainer {
            switch start {
            case let .new(config, runDirectory):
                // Checked before the run folder is made.
                if let parallel { try DataParallel.checkBatch(config.batchSize, ranks: parallel.size) }
                return try Trainer(config: config, runDirectory: runDirectory, reporter: reporter)
            case let .resume(runDirectory, steps):
                return try Trainer.resume(runDirectory: runDirectory, steps: steps, reporter: reporter)
            case .fromRankZero:
                throw TrainingError("only rank 0 starts the run")
            }
        }
        let trainer: Trainer
        if let parallel {
            trainer = try Trainer.joining(parallel, reporter: reporter, makeRoot: makeRoot)
            reporter.message("data parallel: \(parallel.size) ranks (\(parallel.communicator.description)), "
                             + "\(trainer.config.batchSize / parallel.size) pairs each of the global batch of \(trainer.config.batchSize)")
        } else {
            trainer = try makeRoot()
        }
        let outcome = try trainer.train(shouldStop: shouldStop)
        if let parallel, parallel.allreduceSteps > 0 {
            reporter.message(String(format: "gradient allreduce: %.1f ms per step on average over %d steps, %d bytes per step; the %d ranks hold the same weights",
                                    1000 * parallel.allreduceSeconds / Double(parallel.allreduceSteps), parallel.allreduceSteps,
                                    parallel.payloadBytes, parallel.size))
        }
        return (trainer, outcome)
    }
}
