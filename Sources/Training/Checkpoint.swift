import FileSupport
import Foundation
import Layers
import SeededRandom
import Tensors

/// A checkpoint that cannot be used, naming the file and what is wrong with it.
public struct CheckpointError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The best validation score so far and the step that reached it.
public struct BestScore: Codable, Equatable, Sendable {
    public var step: Int
    public var score: ValidationScore
}

/// Everything of a run besides its tensors, stored as a checkpoint's `state.json`.
public struct CheckpointState: Codable, Equatable, Sendable {
    /// Size and checksum of a file of the checkpoint.
    public struct FileDigest: Codable, Equatable, Sendable {
        public var bytes: Int
        /// FNV-1a 64 of the bytes, in hex: a guard against truncation and corruption, not tampering.
        public var fnv1a64: String
    }

    /// The version of this layout.
    public var format = 1
    /// Steps completed; training goes on with step `step` (0-based). With the seed it fixes the data position.
    public var step: Int
    /// The generator of the posterior's reparameterised samples, as the next step will use it.
    public var posteriorGenerator: SeededGenerator
    /// The best validation score so far.
    public var best: BestScore?
    /// The resolved configuration of the run.
    public var config: TrainingConfig
    /// The tensor files of the checkpoint.
    public var files: [String: FileDigest] = [:]
}

/// A checkpoint: weights, EMA of the SR weights, optimizer state and `state.json`, in one folder.
///
/// `write(to:)` fills a hidden temporary folder and renames it into place, so a crash never leaves
/// a half-written checkpoint under the final name; `read(from:)` checks every file's size and
/// checksum before parsing it, so a truncated or corrupted checkpoint is refused, naming the file.
public struct Checkpoint {
    public static let modelFile = "model.safetensors"
    public static let emaFile = "ema.safetensors"
    public static let optimizerFile = "optimizer.safetensors"
    public static let stateFile = "state.json"

    public var state: CheckpointState
    /// Every parameter of the model by dotted name.
    public var model: [String: Tensor]
    /// The EMA of the SR network's parameters, named `sr.*` like the model's.
    public var ema: [String: Tensor]
    /// Adam's state (`step`, `exp_avg.*`, `exp_avg_sq.*`).
    public var optimizer: [String: Tensor]

    public init(state: CheckpointState, model: [String: Tensor], ema: [String: Tensor], optimizer: [String: Tensor]) {
        self.state = state
        self.model = model
        self.ema = ema
        self.optimizer = optimizer
    }

    /// Whether `name` is the temporary folder of a checkpoint being written: `.NAME.UUID.tmp`.
    public static func isTemporaryName(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return name.hasPrefix(".") && parts.count >= 4 && parts.last == "tmp" && !parts[1].isEmpty
            && UUID(uuidString: String(parts[parts.count - 2])) != nil
    }

    /// Writes the checkpoint as the folder `url`, replacing one there.
    public func write(to url: URL) throws {
        let fm = FileManager.default
        let parent = url.deletingLastPathComponent()
        let temporary = parent.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        var lock: Int32 = -1
        defer { if lock >= 0 { close(lock) } }
        do {
            try fm.createDirectory(at: temporary, withIntermediateDirectories: true)
            // Held until the rename: a temporary folder whose lock is free was left by a dead writer.
            lock = open(temporary.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if lock >= 0 { flock(lock, LOCK_EX) }
            var state = self.state
            let metadata = ["format": "savl-checkpoint", "step": "\(state.step)"]
            for (name, tensors) in [(Self.modelFile, model), (Self.emaFile, ema), (Self.optimizerFile, optimizer)] {
                let data = try SafeTensors.encode(tensors, metadata: metadata)
                try Self.writeSynchronously(data, to: temporary.appendingPathComponent(name))
                state.files[name] = CheckpointState.FileDigest(bytes: data.count, fnv1a64: Self.checksum(data))
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try Self.writeSynchronously(encoder.encode(state), to: temporary.appendingPathComponent(Self.stateFile))
            if fm.fileExists(atPath: url.path) { try fm.removeItem(at: url) }
            guard rename(temporary.path, url.path) == 0 else {
                throw CheckpointError("\(url.path): cannot move the checkpoint into place: \(String(cString: strerror(errno)))")
            }
        } catch {
            try? fm.removeItem(at: temporary)
            if let error = error as? CheckpointError { throw error }
            throw CheckpointError("\(url.path): cannot write the checkpoint: \(FileErrors.reason(error, path: url.path))")
        }
    }

    /// Reads and verifies the checkpoint folder `url`; nothing is returned unless every file is whole.
    public static func read(from url: URL) throws -> Checkpoint {
        let statePath = url.appendingPathComponent(stateFile)
        guard let stateData = FileManager.default.contents(atPath: statePath.path) else {
            throw CheckpointError("\(statePath.path): missing or unreadable")
        }
        let state: CheckpointState
        do {
            state = try JSONDecoder().decode(CheckpointState.self, from: stateData)
        } catch {
            throw CheckpointError("\(statePath.path): not a valid checkpoint state (truncated or corrupted?): \(error)")
        }
        guard state.format == 1 else { throw CheckpointError("\(statePath.path): unknown checkpoint format \(state.format)") }
        func tensors(_ name: String) throws -> [String: Tensor] {
            let path = url.appendingPathComponent(name)
            guard let digest = state.files[name] else { throw CheckpointError("\(statePath.path): lists no '\(name)'") }
            guard let data = FileManager.default.contents(atPath: path.path) else { throw CheckpointError("\(path.path): missing or unreadable") }
            guard data.count == digest.bytes else {
                throw CheckpointError("\(path.path): \(data.count) bytes, expected \(digest.bytes): the file is truncated or damaged")
            }
            guard checksum(data) == digest.fnv1a64 else {
                throw CheckpointError("\(path.path): checksum mismatch (\(checksum(data)), expected \(digest.fnv1a64)): the file is corrupted")
            }
            do {
                return try SafeTensorsFile(data: data, source: path.path).tensors
            } catch {
                throw CheckpointError("\(error)")
            }
        }
        return Checkpoint(state: state, model: try tensors(modelFile), ema: try tensors(emaFile), optimizer: try tensors(optimizerFile))
    }

    /// FNV-1a 64 of `data`, 16 hex digits.
    static func checksum(_ data: Data) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        data.withUnsafeBytes { bytes in
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        }
        return String(format: "%016llx", hash)
    }

    private static func writeSynchronously(_ data: Data, to url: URL) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw CheckpointError("\(url.path): cannot create the file")
        }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.write(contentsOf: data)
        try handle.synchronize()
    }
}

/// The `checkpoints` folder of a run: `step-00000200` folders (the newest `keepLast` stay) and one
/// `best-step-00000150` folder, the checkpoint of the best validation score.
public struct CheckpointStore {
    public let folder: URL
    public let keepLast: Int

    public init(folder: URL, keepLast: Int) {
        self.folder = folder
        self.keepLast = keepLast
    }

    /// One checkpoint folder found in the store.
    public struct Entry: Equatable {
        public var step: Int
        public var url: URL
        public var isBest: Bool
    }

    /// Checkpoint folders, oldest first (at equal steps the best checkpoint before the step one, which
    /// is the one resumed from).
    public func entries() -> [Entry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.compactMap { name -> Entry? in
            let isBest = name.hasPrefix("best-step-")
            guard isBest || name.hasPrefix("step-"), let step = Int(name.split(separator: "-").last ?? "") else { return nil }
            return Entry(step: step, url: folder.appendingPathComponent(name), isBest: isBest)
        }.sorted { ($0.step, $0.isBest ? 0 : 1) < ($1.step, $1.isBest ? 0 : 1) }
    }

    /// Removes the temporary folders (`.step-00000200.UUID.tmp`) that a crash or kill during
    /// `Checkpoint.write` left in the store; a folder still being written (its lock held) is kept.
    /// Nothing but such folders is touched. Returns the names removed.
    @discardableResult
    public func removeStaleTemporaries() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        var removed: [String] = []
        for name in names.sorted() where Checkpoint.isTemporaryName(name) {
            let url = folder.appendingPathComponent(name)
            var info = stat()
            guard lstat(url.path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { continue }
            let fd = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { continue }
            if flock(fd, LOCK_EX | LOCK_NB) == 0, (try? FileManager.default.removeItem(at: url)) != nil { removed.append(name) }
            close(fd)
        }
        return removed
    }

    /// Writes the step checkpoint and removes step checkpoints beyond the newest `keepLast`.
    @discardableResult
    public func save(_ checkpoint: Checkpoint) throws -> URL {
        let url = folder.appendingPathComponent(String(format: "step-%08d", checkpoint.state.step))
        try checkpoint.write(to: url)
        for old in entries().filter({ !$0.isBest }).dropLast(keepLast) { try? FileManager.default.removeItem(at: old.url) }
        return url
    }

    /// Writes the best checkpoint, then removes the previous best.
    @discardableResult
    public func saveBest(_ checkpoint: Checkpoint) throws -> URL {
        let url = folder.appendingPathComponent(String(format: "best-step-%08d", checkpoint.state.step))
        try checkpoint.write(to: url)
        for old in entries() where old.isBest && old.url.lastPathComponent != url.lastPathComponent {
            try? FileManager.default.removeItem(at: old.url)
        }
        return url
    }

    /// The newest checkpoint that reads and verifies; each refused newer one is reported to `refused`
    /// (with the reason) and the next older is tried. Throws when none is usable.
    public func newestUsable(refused: (URL, CheckpointError) -> Void) throws -> (checkpoint: Checkpoint, url: URL) {
        let all = entries()
        guard !all.isEmpty else { throw CheckpointError("\(folder.path): no checkpoint to resume from") }
        var reasons: [String] = []
        for entry in all.reversed() {
            do {
                return (try Checkpoint.read(from: entry.url), entry.url)
            } catch let error as CheckpointError {
                refused(entry.url, error)
                reasons.append(error.message)
            }
        }
        throw CheckpointError("no usable checkpoint in \(folder.path):\n  " + reasons.joined(separator: "\n  "))
    }
}
