import CDNNL
import Foundation

/// Reorders of small tensors (convolution weights) between the plain layout and a oneDNN blocked
/// layout, on the calling thread. A oneDNN reorder runs an OpenMP parallel region, which costs
/// milliseconds when the other core is busy; for a few thousand values a loop is cheaper.
enum SmallReorder {
    /// Tensors up to this many values are reordered here.
    static let maximumCount = 1 << 18

    /// Offsets into `md`'s buffer of each element of a plain tensor with `md`'s dims, in row-major order.
    static func offsets(_ md: dnnl_memory_desc_t) -> [Int]? {
        guard md.format_kind == dnnl_blocked else { return nil }
        let rank = Int(md.ndims)
        let dims = withUnsafeBytes(of: md.dims) { Array($0.bindMemory(to: Int64.self).prefix(rank)).map(Int.init) }
        let blocking = md.format_desc.blocking
        let strides = withUnsafeBytes(of: blocking.strides) { Array($0.bindMemory(to: Int64.self).prefix(rank)).map(Int.init) }
        let nblks = Int(blocking.inner_nblks)
        let blks = withUnsafeBytes(of: blocking.inner_blks) { Array($0.bindMemory(to: Int64.self).prefix(nblks)).map(Int.init) }
        let idxs = withUnsafeBytes(of: blocking.inner_idxs) { Array($0.bindMemory(to: Int64.self).prefix(nblks)).map(Int.init) }
        // Per dimension: the product of its inner blocks (the outer index is i / that).
        var blockProduct = [Int](repeating: 1, count: rank)
        for k in 0..<nblks { blockProduct[idxs[k]] *= blks[k] }
        // Per inner block k: the stride inside the innermost area and the divisor of the element index.
        var innerStride = [Int](repeating: 1, count: nblks), divisor = [Int](repeating: 1, count: nblks)
        var area = 1
        var later = [Int](repeating: 1, count: rank)
        for k in stride(from: nblks - 1, through: 0, by: -1) {
            innerStride[k] = area
            area *= blks[k]
            divisor[k] = later[idxs[k]]
            later[idxs[k]] *= blks[k]
        }
        let count = dims.reduce(1, *)
        var out = [Int](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: rank)
        let base = Int(md.offset0)
        for e in 0..<count {
            var offset = base
            for d in 0..<rank { offset += (index[d] / blockProduct[d]) * strides[d] }
            for k in 0..<nblks { offset += ((index[idxs[k]] / divisor[k]) % blks[k]) * innerStride[k] }
            out[e] = offset
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < dims[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return out
    }

    nonisolated(unsafe) private static var cache: [String: [Int]] = [:]
    private static let lock = NSLock()

    /// The cached offsets of a descriptor, keyed by the caller.
    static func cachedOffsets(_ key: String, _ md: dnnl_memory_desc_t) -> [Int]? {
        lock.lock(); defer { lock.unlock() }
        if let o = cache[key] { return o }
        guard let o = offsets(md) else { return nil }
        cache[key] = o
        return o
    }

    /// Plain values into a blocked buffer of `bytes` bytes (padding zeroed).
    static func scatter(_ plain: UnsafePointer<Float>, _ offsets: [Int], into dst: UnsafeMutablePointer<Float>, bytes: Int) {
        dst.initialize(repeating: 0, count: bytes / 4)
        for (i, o) in offsets.enumerated() { dst[o] = plain[i] }
    }

    /// A blocked buffer back to plain values.
    static func gather(_ src: UnsafePointer<Float>, _ offsets: [Int], into plain: UnsafeMutablePointer<Float>) {
        for (i, o) in offsets.enumerated() { plain[i] = src[o] }
    }
}
