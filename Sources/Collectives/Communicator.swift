import Foundation

/// A failure of a collective operation or of starting MPI, with what to do about it.
public struct CollectiveError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The processes of one job and the operations between them: who am I (`rank`), how many are we
/// (`size`), wait for all (`barrier`), send rank `root`'s buffer to all (`broadcast`), and sum a buffer
/// over all, leaving the result everywhere (`allreduce`).
///
/// Two implementations: `SingleProcess` (rank 0 of 1; every operation leaves its buffer as it is) and
/// `MPICommunicator` (Open MPI's `MPI_COMM_WORLD`). `Communicators.start()` chooses: MPI when a launcher
/// started the process, else a single process, which needs no MPI library at all.
///
/// Every collective must be called by all ranks, in the same order, with buffers of the same size.
///
/// ```swift
/// let world = try Communicators.start()
/// var gradient: [Float] = ...
/// try world.allreduceAverage(&gradient)   // the mean over ranks, on every rank
/// ```
public protocol Communicator: AnyObject {
    /// This process's index, 0..<size.
    var rank: Int { get }
    /// The number of processes.
    var size: Int { get }
    /// What runs the collectives ("single process", or the MPI library's version).
    var description: String { get }
    /// Returns once every rank has called it.
    func barrier() throws
    /// Replaces `buffer` on every rank by its contents on rank `root`.
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws
    /// Replaces `buffer` on every rank by its element-wise sum over ranks.
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws
    /// Replaces `buffer` on every rank by its element-wise sum over ranks.
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws
    /// Replaces `buffer` on every rank by its element-wise maximum over ranks.
    func allreduceMax(_ buffer: UnsafeMutableBufferPointer<Double>) throws
    /// Sends `values` to rank `destination` (blocking until they may be reused).
    func send(_ values: [Int32], to destination: Int, tag: Int) throws
    /// Receives `count` values sent with `tag` by `source` (any rank when nil); returns them and the sender.
    func receive(count: Int, from source: Int?, tag: Int) throws -> (values: [Int32], source: Int)
    /// Whether a message with `tag` from any rank is waiting (returns at once).
    func hasMessage(tag: Int) throws -> Bool
    /// Ends every rank of the job with `status` (MPI_Abort); a single process just exits.
    func abort(status: Int32) -> Never
    /// Shuts the library down; call once, after the last collective.
    func finalize()
}

extension Communicator {
    /// Whether this is rank 0, the rank that reads and writes shared files.
    public var isRoot: Bool { rank == 0 }

    /// `array` summed over ranks, on every rank.
    public func allreduceSum(_ array: inout [Float]) throws {
        try array.withUnsafeMutableBufferPointer { try allreduceSum($0) }
    }

    /// `array` summed over ranks, on every rank.
    public func allreduceSum(_ array: inout [Double]) throws {
        try array.withUnsafeMutableBufferPointer { try allreduceSum($0) }
    }

    /// `array` averaged over ranks, on every rank: the sum times 1 / size (exact for 2, 4, 8... ranks).
    public func allreduceAverage(_ array: inout [Float]) throws {
        guard size > 1 else { return }
        try allreduceSum(&array)
        let inverse = 1 / Float(size)
        for i in array.indices { array[i] *= inverse }
    }

    /// `array` as it is on rank `root`, on every rank (the sizes must agree).
    public func broadcast(_ array: inout [Float], root: Int = 0) throws {
        try array.withUnsafeMutableBytes { try broadcast($0, root: root) }
    }

    /// `data` of rank `root` on every rank (other ranks pass anything, e.g. empty data); any size.
    public func broadcast(_ data: Data, root: Int = 0) throws -> Data {
        guard size > 1 else { return data }
        var count = [Double(rank == root ? data.count : 0)]
        try count.withUnsafeMutableBytes { try broadcast($0, root: root) }
        var bytes = rank == root ? [UInt8](data) : [UInt8](repeating: 0, count: Int(count[0]))
        try bytes.withUnsafeMutableBytes { try broadcast($0, root: root) }
        return Data(bytes)
    }

    /// Whether `value` is the same on every rank (one allreduce of its maximum and the negated minimum).
    public func agree(on value: UInt64) throws -> Bool {
        guard size > 1 else { return true }
        let high = Double(value >> 32), low = Double(value & 0xFFFF_FFFF)
        var extremes = [high, low, -high, -low]
        try extremes.withUnsafeMutableBufferPointer { try allreduceMax($0) }
        return extremes[0] == -extremes[2] && extremes[1] == -extremes[3]
    }
}

/// The job of one process: rank 0 of 1. Collectives leave their buffers unchanged and need no library.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var description: String { "single process" }
    public func barrier() throws {}
    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws { try check(root) }
    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {}
    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {}
    public func allreduceMax(_ buffer: UnsafeMutableBufferPointer<Double>) throws {}
    public func send(_ values: [Int32], to destination: Int, tag: Int) throws {
        throw CollectiveError("send to rank \(destination): a single process has no other rank")
    }
    public func receive(count: Int, from source: Int?, tag: Int) throws -> (values: [Int32], source: Int) {
        throw CollectiveError("receive: a single process has no other rank to receive from")
    }
    public func hasMessage(tag: Int) throws -> Bool { false }
    public func abort(status: Int32) -> Never { exit(status) }
    public func finalize() {}

    private func check(_ root: Int) throws {
        guard root == 0 else { throw CollectiveError("broadcast from rank \(root): a single process has only rank 0") }
    }
}
