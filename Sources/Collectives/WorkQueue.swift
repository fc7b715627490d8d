import Foundation

/// Items of work (indices) handed out one at a time to whichever rank of a job asks first, so that a
/// rank that finishes early takes the next item instead of waiting for a slow one.
///
/// Rank 0 keeps the queue, in the order given (e.g. largest first), and answers the other ranks from a
/// thread of its own while its main thread works too: the thread checks for requests every millisecond
/// (`MPI_Iprobe`), so it costs rank 0 next to nothing, where a blocking receive would spin a core. The
/// other ranks send a request and wait for the answer: an index, or "no more". Every rank calls
/// `next()` until it returns nil, then `finish()`; no other collective may run in between.
///
/// Needs an MPI library that allows calls from several threads (`MPI_THREAD_MULTIPLE`; Open MPI does):
/// `make` returns nil without it, and the caller deals the work statically instead.
public final class WorkQueue: @unchecked Sendable {
    /// The tags of the queue's messages (any two distinct values no other part of savl sends with).
    static let requestTag = 7101, replyTag = 7102

    private let world: Communicator
    private let lock = NSLock()
    private var order: [Int]
    private var position = 0
    private var server: Thread?
    private let served = DispatchSemaphore(value: 0)
    private var serverError: Error?

    /// A queue of `order` over the ranks of `world`; nil when its MPI library does not allow
    /// calls from several threads. With one rank, `next()` just walks `order`.
    public static func make(_ world: Communicator, order: [Int]) -> WorkQueue? {
        if world.size > 1, !((world as? MPICommunicator)?.threadMultiple ?? false) { return nil }
        return WorkQueue(world, order: order)
    }

    private init(_ world: Communicator, order: [Int]) {
        self.world = world
        self.order = world.rank == 0 ? order : []
    }

    /// The next item for this rank, or nil when every item has been handed out.
    public func next() throws -> Int? {
        if world.rank != 0 {
            try world.send([Int32(world.rank)], to: 0, tag: Self.requestTag)
            let answer = try world.receive(count: 1, from: 0, tag: Self.replyTag).values[0]
            return answer >= 0 ? Int(answer) : nil
        }
        if world.size > 1 && server == nil { startServer() }
        return take()
    }

    /// Waits (on rank 0) until every other rank has been told there is no more work; rethrows what went
    /// wrong in answering them.
    public func finish() throws {
        guard server != nil else { return }
        served.wait()
        server = nil
        if let serverError { throw serverError }
    }

    private func take() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard position < order.count else { return nil }
        position += 1
        return order[position - 1]
    }

    private func startServer() {
        let thread = Thread { [self] in
            do {
                var waiting = world.size - 1
                while waiting > 0 {
                    guard try world.hasMessage(tag: Self.requestTag) else { usleep(1000); continue }
                    let asker = try world.receive(count: 1, from: nil, tag: Self.requestTag).source
                    let item = take()
                    try world.send([Int32(item ?? -1)], to: asker, tag: Self.replyTag)
                    if item == nil { waiting -= 1 }
                }
            } catch {
                serverError = error
            }
            served.signal()
        }
        thread.name = "savl work queue"
        server = thread
        thread.start()
    }
}
