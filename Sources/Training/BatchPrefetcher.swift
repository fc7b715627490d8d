import Foundation

/// Builds the batches of steps `start..<end`, in order, on a background thread, at most `capacity` ahead.
///
/// Batches depend only on (seed, step), so prefetching never changes what training sees.
/// A failure in the worker is thrown by the `next()` that would have returned the failed batch.
///
/// ```swift
/// let prefetcher = BatchPrefetcher(builder: builder, steps: 100..<200, capacity: 3)
/// defer { prefetcher.stop() }
/// let batch = try prefetcher.next()   // step 100
/// ```
public final class BatchPrefetcher: @unchecked Sendable {
    private let queue: Queue

    /// Starts the worker thread. `pairs` limits each batch to those pairs of the global batch (a rank's shard).
    public init(builder: BatchBuilder, steps: Range<Int>, capacity: Int, pairs: Range<Int>? = nil) {
        let queue = Queue(steps: steps, capacity: max(1, capacity))
        self.queue = queue
        // The thread holds the queue, not the prefetcher, so dropping the prefetcher stops it.
        let thread = Thread { queue.work(builder, pairs: pairs) }
        thread.name = "savl.training.batches"
        thread.stackSize = 8 << 20
        thread.start()
    }

    deinit { queue.stop() }

    /// The batch of the next step, waiting for the worker if needed.
    public func next() throws -> TrainingBatch { try queue.next() }

    /// Stops the worker after the batch it is building; further `next()` calls fail.
    public func stop() { queue.stop() }

    /// Seconds `next()` spent waiting for the worker, in all.
    public var waitSeconds: Double { queue.lock { queue.waited } }

    /// The bounded queue between the worker and the training loop.
    private final class Queue: @unchecked Sendable {
        private let condition = NSCondition()
        private var ready: [TrainingBatch] = []
        private var failure: Error?
        private var stopped = false
        private var consumed: Int
        private let steps: Range<Int>
        private let capacity: Int
        var waited: Double = 0

        init(steps: Range<Int>, capacity: Int) {
            self.steps = steps
            self.capacity = capacity
            consumed = steps.lowerBound
        }

        func lock<T>(_ body: () -> T) -> T {
            condition.lock()
            defer { condition.unlock() }
            return body()
        }

        func next() throws -> TrainingBatch {
            let start = Date()
            condition.lock()
            defer { condition.unlock() }
            guard consumed < steps.upperBound else {
                throw DatasetError("no batch for step \(consumed): the prefetcher covers steps \(steps.lowerBound)..<\(steps.upperBound)")
            }
            while ready.isEmpty && failure == nil && !stopped { condition.wait() }
            waited += Date().timeIntervalSince(start)
            if let failure { throw failure }
            guard !ready.isEmpty else { throw DatasetError("the batch prefetcher was stopped") }
            consumed += 1
            condition.broadcast()
            return ready.removeFirst()
        }

        func stop() {
            lock {
                stopped = true
                condition.broadcast()
            }
        }

        func work(_ builder: BatchBuilder, pairs: Range<Int>?) {
            for step in steps {
                let stop: Bool = lock {
                    while ready.count >= capacity && !stopped { condition.wait() }
                    return stopped
                }
                if stop { return }
                let result = Result { try builder.batch(step: step, pairs: pairs) }
                let failed: Bool = lock {
                    switch result {
                    case let .success(batch): ready.append(batch)
                    case let .failure(error): failure = error
                    }
                    condition.broadcast()
                    return failure != nil
                }
                if failed { return }
            }
        }
    }
}
