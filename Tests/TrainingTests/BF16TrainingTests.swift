import Foundation
import Tensors
import Testing
import Training

/// A `tiny` training run in bf16 against the same run in f32 (public API only).
extension TrainingRuns {
    @Suite(.enabled(if: Engine.supportsBF16, "needs AMX / avx512_core_bf16 (oneDNN bf16 convolutions); this CPU: \(Engine.cpuISA)"))
    struct BF16TrainingTests {
        /// The per-step losses of 100 steps (60 in stage 1, 40 in stage 2) at `precision`; batches depend
        /// only on (seed, step), so both runs see the same data.
        func losses(_ precision: Precision, in space: Workspace) throws -> [Float] {
            var config = try tinyConfig(photos: space.photos, steps: 100, stage1Steps: 60)
            config.validation.folder = ""
            config.logging.every = 10
            config.checkpoints.every = 100
            return try Engine.with(precision: precision) {
                let trainer = try Trainer(config: config, runDirectory: space.run(precision.rawValue), reporter: ProgressReporter(mode: .quiet) { _ in })
                var losses: [Float] = []
                #expect(try trainer.train(onStep: { losses.append($0.loss) }) == .finished(step: 100))
                return losses
            }
        }

        /// The band: the mean loss of every 10-step window of the bf16 run is within 10 % of the f32 run's,
        /// and within 5 % over the last 20 steps. Rounding inputs to bf16 moves each convolution by about
        /// 2^-8 relative (see BF16PrimitiveTests), far less than one step's change of the weights, so the
        /// runs' losses differ by much less than the steps move them, while single steps may differ more
        /// once the trajectories separate: hence window means, not steps.
        @Test func bf16TracksTheF32LossOver100Steps() throws {
            let space = try Workspace("bf16")
            defer { space.remove() }
            let f32 = try losses(.f32, in: space), bf16 = try losses(.bf16, in: space)
            try #require(f32.count == 100 && bf16.count == 100)
            func mean(_ v: ArraySlice<Float>) -> Float { v.reduce(0, +) / Float(v.count) }
            for start in stride(from: 0, to: 100, by: 10) {
                let a = mean(f32[start..<start + 10]), b = mean(bf16[start..<start + 10])
                #expect(Swift.abs(b - a) <= 0.1 * a, "steps \(start + 1)-\(start + 10): f32 \(a), bf16 \(b)")
            }
            let a = mean(f32[80...]), b = mean(bf16[80...])
            #expect(Swift.abs(b - a) <= 0.05 * a, "last 20 steps: f32 \(a), bf16 \(b)")
            #expect(f32 != bf16, "the bf16 run computed the f32 losses: bf16 kernels did not run")
        }
    }
}
