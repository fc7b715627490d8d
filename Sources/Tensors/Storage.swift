import Foundation

/// A 64-byte aligned buffer of Float32 values owned by one or more tensors.
///
/// Buffers are recycled through a small size-keyed pool: training allocates the same
/// activation sizes every step, and fresh pages would cost page faults each time.
final class Storage: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    /// A buffer of `count` values, contents undefined.
    init(count: Int) {
        self.count = count
        pointer = BufferPool.shared.take(count)
    }

    /// A buffer of `count` zeros.
    convenience init(zeros count: Int) {
        self.init(count: count)
        pointer.initialize(repeating: 0, count: count)
    }

    deinit { BufferPool.shared.give(pointer, count: count) }

    var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
}

/// Size-keyed free lists of aligned buffers, bounded in total bytes.
final class BufferPool: @unchecked Sendable {
    static let shared = BufferPool()
    private var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    private var pooledValues = 0
    private let lock = NSLock()
    /// Beyond this many pooled Float values (1 GiB), buffers go back to the system.
    private let limit = 256 << 20

    func take(_ count: Int) -> UnsafeMutablePointer<Float> {
        let n = max(count, 1)
        lock.lock()
        if var list = free[n], let p = list.popLast() {
            free[n] = list
            pooledValues -= n
            lock.unlock()
            return p
        }
        lock.unlock()
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, n * MemoryLayout<Float>.stride) == 0, let raw else {
            fatalError("out of memory allocating \(n * 4) bytes")
        }
        return raw.bindMemory(to: Float.self, capacity: n)
    }

    func give(_ p: UnsafeMutablePointer<Float>, count: Int) {
        let n = max(count, 1)
        lock.lock()
        if pooledValues + n <= limit {
            free[n, default: []].append(p)
            pooledValues += n
            lock.unlock()
        } else {
            lock.unlock()
            Foundation.free(p)
        }
    }

    /// Returns every pooled buffer to the system.
    func drain() {
        lock.lock()
        for (_, list) in free { list.forEach { Foundation.free($0) } }
        free = [:]
        pooledValues = 0
        lock.unlock()
    }
}
