import CDNNL
import Foundation

/// The element type of a buffer.
enum ElementType: String, Sendable {
    /// IEEE 754 binary32: every tensor's values, weights and gradients.
    case f32
    /// bfloat16 (the upper half of an f32: 8 exponent bits, 7 stored mantissa bits): the inputs of
    /// oneDNN primitives under the `bf16` precision.
    case bf16

    /// Bytes per element.
    var size: Int { self == .f32 ? 4 : 2 }
}

/// A 64-byte aligned buffer of `count` elements of one type, owned by one or more tensors.
///
/// Tensors hold f32 storage; bf16 storage is made by the oneDNN backend for the primitives it
/// feeds in bf16. Buffers are recycled through a small size-keyed pool: training allocates the same
/// activation sizes every step, and fresh pages would cost page faults each time.
final class Storage: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
    /// Number of elements.
    let count: Int
    let elementType: ElementType
    private let meter: StorageMeter?
    /// A copy of these values in another layout or element type (under bf16, a convolution's input
    /// converted for oneDNN), kept so that the backward pass reuses the forward pass's conversion.
    /// Guarded by `Storage.copyLock`; dropped by `valuesChanged()`.
    private var copy: (desc: dnnl_memory_desc_t, storage: Storage)?
    private static let copyLock = NSLock()

    /// A buffer of `count` elements, contents undefined.
    init(count: Int, of elementType: ElementType = .f32) {
        self.count = count
        self.elementType = elementType
        raw = BufferPool.shared.take(bytes: count * elementType.size)
        meter = StorageMeter.current
        meter?.allocated(count * elementType.size)
        if elementType == .f32 { raw.bindMemory(to: Float.self, capacity: count) } else { raw.bindMemory(to: UInt16.self, capacity: count) }
    }

    /// A buffer of `count` f32 zeros.
    convenience init(zeros count: Int) {
        self.init(count: count)
        pointer.initialize(repeating: 0, count: count)
    }

    deinit {
        meter?.freed(bytes)
        BufferPool.shared.give(raw, bytes: bytes)
    }

    /// Bytes of the elements.
    var bytes: Int { count * elementType.size }

    /// The f32 elements (f32 storage only).
    var pointer: UnsafeMutablePointer<Float> {
        assert(elementType == .f32, "f32 access to \(elementType) storage")
        return raw.assumingMemoryBound(to: Float.self)
    }

    /// The bf16 elements as their bit patterns (bf16 storage only).
    var bf16Pointer: UnsafeMutablePointer<UInt16> {
        assert(elementType == .bf16, "bf16 access to \(elementType) storage")
        return raw.assumingMemoryBound(to: UInt16.self)
    }

    var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }

    /// These values as oneDNN memory `desc`, made by `make` the first time and kept (one copy).
    /// Storage is written once, when it is made, except by the in-place updates, which call `valuesChanged()`.
    func copy(as desc: dnnl_memory_desc_t, make: () throws -> Storage) rethrows -> Storage {
        if let kept = kept(as: desc) { return kept }
        let made = try make()
        Storage.copyLock.lock()
        copy = (desc, made)
        Storage.copyLock.unlock()
        return made
    }

    /// The kept copy of these values as `desc`, if there is one.
    func kept(as desc: dnnl_memory_desc_t) -> Storage? {
        Storage.copyLock.lock()
        defer { Storage.copyLock.unlock() }
        guard let copy, DNNL.equal(copy.desc, desc) else { return nil }
        return copy.storage
    }

    /// Forgets the kept copy: these values were updated in place.
    func valuesChanged() {
        Storage.copyLock.lock()
        copy = nil
        Storage.copyLock.unlock()
    }
}

/// Conversions between f32 and bf16 by the rule oneDNN's reorders use (round to nearest, ties to even).
enum BFloat16 {
    /// The bf16 nearest to `x` (ties to even); NaN stays NaN.
    static func bits(_ x: Float) -> UInt16 {
        let b = x.bitPattern
        if x.isNaN { return UInt16(b >> 16) | 0x40 }
        let rounding = UInt32(0x7FFF) + ((b >> 16) & 1)
        return UInt16((b &+ rounding) >> 16)
    }

    /// The f32 value of a bf16 bit pattern (exact).
    static func float(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }
}

/// Size-keyed free lists of aligned buffers, bounded in total bytes.
final class BufferPool: @unchecked Sendable {
    static let shared = BufferPool()
    private var free: [Int: [UnsafeMutableRawPointer]] = [:]
    private var pooledBytes = 0
    private let lock = NSLock()
    /// Beyond this many pooled bytes (1 GiB), buffers go back to the system.
    private let limit = 1 << 30

    func take(bytes: Int) -> UnsafeMutableRawPointer {
        let n = max(bytes, 4)
        lock.lock()
        if var list = free[n], let p = list.popLast() {
            free[n] = list
            pooledBytes -= n
            lock.unlock()
            return p
        }
        lock.unlock()
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, n) == 0, let raw else {
            fatalError("out of memory allocating \(n) bytes")
        }
        return raw
    }

    func give(_ p: UnsafeMutableRawPointer, bytes: Int) {
        let n = max(bytes, 4)
        lock.lock()
        if pooledBytes + n <= limit {
            free[n, default: []].append(p)
            pooledBytes += n
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
        pooledBytes = 0
        lock.unlock()
    }
}
