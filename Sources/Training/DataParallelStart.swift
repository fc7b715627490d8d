import Collectives
import Foundation
import SeededRandom
import Tensors

extension Trainer {
    /// This rank's trainer in a data-parallel job. Rank 0 makes its trainer with `makeRoot` (a new run
    /// or a resumed one, exactly as one process would) and sends its whole state (configuration, weights,
    /// EMA, Adam's moments, generator, step) to the others; they build the same model from that
    /// configuration, load the data folders themselves, and take the state. So every rank starts from
    /// rank 0's weights, and only rank 0 reads or writes the run folder: a run started on N ranks
    /// resumes on any number.
    ///
    /// When `makeRoot` fails on rank 0, every rank throws (rank 0 its own error), none waits forever.
    public static func joining(_ parallel: DataParallel, reporter: ProgressReporter, makeRoot: () throws -> Trainer) throws -> Trainer {
        let world = parallel.communicator
        // `--precision auto` resolves on each rank's CPU; ranks in different precisions would step apart.
        guard try world.agree(on: Engine.precision == .bf16 ? 1 : 0) else {
            throw TrainingError("rank \(world.rank): the ranks train in different precisions (\(Engine.precision) here; "
                                + "auto picks bf16 only where the CPU has AMX): pass --precision f32 or --precision bf16")
        }
        if world.isRoot {
            let trainer: Trainer
            do {
                trainer = try makeRoot()
                try DataParallel.checkBatch(trainer.config.batchSize, ranks: parallel.size)
            } catch {
                _ = try world.broadcast(Data(), root: 0)   // tells the others to stop
                throw error
            }
            trainer.parallel = parallel
            _ = try world.broadcast(try StateTransfer.encode(trainer.state.checkpoint(best: trainer.best)), root: 0)
            return trainer
        }
        let data = try world.broadcast(Data(), root: 0)
        guard !data.isEmpty else { throw TrainingError("rank \(world.rank): rank 0 could not start the run (its error says why)") }
        let checkpoint = try StateTransfer.decode(data)
        let config = checkpoint.state.config
        try DataParallel.checkBatch(config.batchSize, ranks: parallel.size)
        // Never written: only rank 0 writes the run folder.
        let run = TrainingRun(folder: URL(fileURLWithPath: "/nonexistent/rank-\(world.rank)"), keepLast: 1)
        let trainer = try Trainer(config: config, run: run, reporter: reporter, parallel: parallel)
        try trainer.state.restore(checkpoint, from: URL(fileURLWithPath: "(state of rank 0)"))
        trainer.best = checkpoint.state.best
        trainer.savedStep = checkpoint.state.step
        return trainer
    }
}

/// A checkpoint as one byte buffer, to send it from rank 0 to the others: an 8-byte length, a JSON
/// header (the `CheckpointState` and each tensor's group, name and shape), then the tensors' values
/// as little-endian Float32, in the header's order.
enum StateTransfer {
    private struct Header: Codable {
        struct Entry: Codable { var group: String, name: String, shape: [Int] }
        var state: CheckpointState
        var tensors: [Entry]
    }

    static func encode(_ checkpoint: Checkpoint) throws -> Data {
        var entries: [Header.Entry] = []
        var values: [Float] = []
        for (group, tensors) in [("model", checkpoint.model), ("ema", checkpoint.ema), ("optimizer", checkpoint.optimizer)] {
            for name in tensors.keys.sorted() {
                let tensor = tensors[name]!
                entries.append(.init(group: group, name: name, shape: tensor.shape))
                values += tensor.values
            }
        }
        let header = try JSONEncoder().encode(Header(state: checkpoint.state, tensors: entries))
        var data = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(header)
        values.withUnsafeBytes { data.append(contentsOf: $0) }
        return data
    }

    static func decode(_ data: Data) throws -> Checkpoint {
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw TrainingError("the state sent by rank 0 is truncated (\(bytes.count) bytes)") }
        let headerCount = Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        guard 8 + headerCount <= bytes.count else { throw TrainingError("the state sent by rank 0 is truncated") }
        let header = try JSONDecoder().decode(Header.self, from: Data(bytes[8..<(8 + headerCount)]))
        var groups: [String: [String: Tensor]] = ["model": [:], "ema": [:], "optimizer": [:]]
        var offset = 8 + headerCount
        for entry in header.tensors {
            let count = entry.shape.reduce(1, *), byteCount = count * MemoryLayout<Float>.size
            guard offset + byteCount <= bytes.count else { throw TrainingError("the state sent by rank 0 is truncated at \(entry.name)") }
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBytes { target in
                bytes.withUnsafeBytes { target.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + byteCount)])) }
            }
            groups[entry.group, default: [:]][entry.name] = Tensor(shape: entry.shape, values: values)
            offset += byteCount
        }
        return Checkpoint(state: header.state, model: groups["model"]!, ema: groups["ema"]!, optimizer: groups["optimizer"]!)
    }
}
