import Foundation
import Synchronization

/// Counts the bytes of tensor storage allocated on one thread while it is installed: how many are
/// still alive and the most that were alive at once. Buffers are counted when they are made and
/// uncounted when their last tensor goes away, on whatever thread that happens.
///
/// ```swift
/// let meter = try StorageMeter.measure { _ in try (x * x).sum().backward() }
/// meter.liveBytes  // bytes made inside and still held: 0 unless something kept a tensor
/// meter.peakBytes  // the most held at once
/// ```
public final class StorageMeter: @unchecked Sendable {
    private static let key = "savl.Tensors.StorageMeter"
    /// Meters installed on any thread: while none is, allocations skip the thread-dictionary lookup.
    private static let installed = Atomic<Int>(0)
    private let lock = NSLock()
    private var live = 0, peak = 0

    private init() {}

    /// Bytes counted by this meter that are still allocated.
    public var liveBytes: Int { lock.withLock { live } }
    /// The largest `liveBytes` has been.
    public var peakBytes: Int { lock.withLock { peak } }

    /// Runs `body` with a new meter counting this thread's allocations, then returns the meter
    /// (which goes on counting frees of what it saw). Meters nest: the inner one counts alone.
    public static func measure(_ body: (StorageMeter) throws -> Void) rethrows -> StorageMeter {
        let meter = StorageMeter()
        let dict = Thread.current.threadDictionary
        let previous = dict[key]
        dict[key] = meter
        installed.add(1, ordering: .sequentiallyConsistent)
        defer {
            dict[key] = previous
            installed.subtract(1, ordering: .sequentiallyConsistent)
        }
        try body(meter)
        return meter
    }

    /// The meter installed on this thread, if any.
    static var current: StorageMeter? {
        guard installed.load(ordering: .relaxed) > 0 else { return nil }
        return Thread.current.threadDictionary[key] as? StorageMeter
    }

    func allocated(_ bytes: Int) {
        lock.withLock {
            live += bytes
            peak = max(peak, live)
        }
    }

    func freed(_ bytes: Int) {
        lock.withLock { live -= bytes }
    }
}
