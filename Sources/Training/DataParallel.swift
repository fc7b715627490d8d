import Collectives
import Foundation
import Layers
import SAVL
import SeededRandom
import Tensors

/// Data-parallel SGD over the ranks of a communicator, as Horovod does it: every rank holds the whole
/// model, computes the gradient of its shard of the global batch, and one allreduce per step averages
/// the gradients, so every rank takes the same optimizer step and keeps the same weights.
///
/// - Batches: `config.optimizer.batchSize` stays the global batch; rank r draws pairs
///   `r B/N ..< (r+1) B/N` of it, each from the same (seed, step, pair) generator a single process uses,
///   so the union of the shards is exactly the single-process batch.
/// - The posterior's noise is drawn for the whole batch on every rank and each takes its rows, so the
///   generator advances as in one process and checkpoints do not depend on the number of ranks.
/// - One allreduce per step carries every trainable parameter's gradient, packed into one buffer, and
///   after them the loss terms and a stop flag (SIGINT/SIGTERM on any rank stops all after that step).
/// - Every `checkEvery` steps (and at the end) the ranks compare a checksum of their weights.
public final class DataParallel {
    public let communicator: Communicator
    /// Steps between checks that every rank holds the same weights (0: only at the end).
    public let checkEvery: Int
    /// Whether some rank asked to stop in the last step's allreduce.
    public private(set) var stopRequested = false
    /// Seconds spent in the gradient allreduce, and the steps that took it.
    public private(set) var allreduceSeconds = 0.0, allreduceSteps = 0
    /// Bytes of the last gradient allreduce's buffer.
    public private(set) var payloadBytes = 0
    private var buffer: [Float] = []

    public init(communicator: Communicator, checkEvery: Int = 100) {
        self.communicator = communicator
        self.checkEvery = checkEvery
    }

    public var rank: Int { communicator.rank }
    public var size: Int { communicator.size }
    /// Whether this rank writes the run folder (logs, checkpoints, plots) and validates: rank 0.
    public var writes: Bool { communicator.isRoot }

    /// Throws unless `batchSize` divides into `size` equal shards.
    public static func checkBatch(_ batchSize: Int, ranks: Int) throws {
        guard batchSize % ranks == 0 else {
            let lower = batchSize / ranks * ranks, upper = lower + ranks
            throw TrainingError("optimizer.batchSize \(batchSize) (the global batch) does not divide into \(ranks) ranks; "
                                + "use a multiple of \(ranks), such as \(lower > 0 ? "\(lower) or " : "")\(upper), or a number of ranks that divides \(batchSize)")
        }
    }

    /// The pairs of the global batch of `batchSize` that this rank draws.
    public func shard(batchSize: Int) -> Range<Int> {
        let n = batchSize / size
        return (rank * n)..<((rank + 1) * n)
    }

    /// The reparameterised sample's noise of this rank's shard, or nil when the step draws none or the
    /// job is one process (the objective then draws it itself). It must match `Posterior.sample`: noise
    /// is drawn in stage 1 for a variational code, (N, d, h, w), or a global one, (N, d, 1, 1).
    func posteriorNoise(config: TrainingConfig, stage: Int, lr: Tensor, rng: inout SeededGenerator) throws -> Tensor? {
        guard size > 1, stage == 1 else { return nil }
        let d = config.model.latentDim, n = config.batchSize
        let shape: [Int]
        switch config.model.code {
        case .variational: shape = [n, d, lr.shape[2], lr.shape[3]]
        case .global: shape = [n, d, 1, 1]
        case .deterministic, .none, .oracle: return nil
        }
        return try Tensor.normal(shape, using: &rng).sliced(axis: 0, shard(batchSize: n))
    }

    /// Replaces each parameter's gradient by its mean over ranks and returns the loss terms averaged
    /// the same way; records whether any rank passed `stop`. One allreduce.
    func average(gradientsOf parameters: [Parameter], terms: [Float], stop: Bool) throws -> [Float] {
        let grads = parameters.compactMap { $0.value.grad }
        // Storage order (possibly a blocked layout): the same on every rank, and summed element by element.
        let sizes = try grads.map { try $0.updateInPlace("gradient allreduce", with: []) { values, _ in values.count } }
        let count = sizes.reduce(0, +)
        if buffer.count != count + terms.count + 1 { buffer = [Float](repeating: 0, count: count + terms.count + 1) }
        var offset = 0
        for g in grads {
            try g.updateInPlace("gradient allreduce", with: []) { values, _ in
                for i in 0..<values.count { buffer[offset + i] = values[i] }
                offset += values.count
            }
        }
        for (i, t) in terms.enumerated() { buffer[count + i] = t }
        buffer[count + terms.count] = stop ? 1 : 0
        let start = Date()
        try communicator.allreduceAverage(&buffer)
        allreduceSeconds += Date().timeIntervalSince(start)
        allreduceSteps += 1
        payloadBytes = buffer.count * MemoryLayout<Float>.size
        offset = 0
        for g in grads {
            try g.updateInPlace("gradient allreduce", with: []) { values, _ in
                for i in 0..<values.count { values[i] = buffer[offset + i] }
                offset += values.count
            }
        }
        stopRequested = buffer[count + terms.count] > 0
        return Array(buffer[count..<(count + terms.count)])
    }

    /// Throws on every rank when the ranks' weights (model and EMA) are not bit for bit the same.
    func checkWeights(_ state: TrainingState) throws {
        guard size > 1 else { return }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        let weights = state.model.stateDict().merging(state.ema.shadow.map { ("ema.\($0.key)", $0.value) }) { a, _ in a }
        for name in weights.keys.sorted() {
            for value in weights[name]!.values {
                var bits = value.bitPattern
                for _ in 0..<4 {
                    hash = (hash ^ UInt64(bits & 0xFF)) &* 0x100_0000_01b3
                    bits >>= 8
                }
            }
        }
        guard try communicator.agree(on: hash) else {
            throw TrainingError("the weights of the \(size) ranks differ after step \(state.step) (checksum of rank \(rank): "
                                + "\(String(hash, radix: 16))): the gradient allreduce did not give every rank the same values; resume from the last checkpoint")
        }
    }
}
