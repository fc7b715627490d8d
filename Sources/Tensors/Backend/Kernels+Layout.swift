import CDNNL
import Foundation

extension Kernels {
    /// The same logical tensor in another memory layout.
    static func reorder(_ x: Tensor, to layout: Layout) -> Tensor {
        if x.layout == layout { return x }
        precondition(x.rank == 4 && x.shape[1] % Layout.blockSize == 0, "blocked layout needs a 4-D tensor with channels a multiple of \(Layout.blockSize), got \(x.shape)")
        let out = Tensor(shape: x.shape, layout: layout, storage: Storage(count: x.storage.count))
        if useDNNL(x.count) {
            let src = DNNL.desc(of: x), dst = DNNL.desc(of: out)
            do {
                let p = try PrimitiveCache.get("reorder \(x.shape) \(x.layout) \(layout)") { try Primitive(reorderFrom: src, to: dst) }
                try p.execute([(Arg.src, src, UnsafeMutableRawPointer(x.storage.pointer)), (Arg.dst, dst, UnsafeMutableRawPointer(out.storage.pointer))])
                return out
            } catch {
                // Fall through to the reference loop; a reorder of valid shapes has no reason to fail.
            }
        }
        let n = x.shape[0], c = x.shape[1], hw = x.shape[2] * x.shape[3], bs = Layout.blockSize
        let src = x.storage.pointer, dst = out.storage.pointer
        for b in 0..<n {
            for ch in 0..<c {
                let plain = (b * c + ch) * hw
                let blocked = ((b * (c / bs) + ch / bs) * hw) * bs + ch % bs
                for i in 0..<hw {
                    if layout == .plain { dst[plain + i] = src[blocked + i * bs] } else { dst[blocked + i * bs] = src[plain + i] }
                }
            }
        }
        return out
    }

    /// Sum over `axes` (plain layout), keeping reduced axes as size 1.
    ///
    /// Each run of adjacent axes is one pass over (outer, reduced, inner) blocks: whole reductions and
    /// reductions of contiguous rows accumulate in Double; reductions across rows add rows in Float.
    static func sum(_ x: Tensor, axes: [Int]) throws -> Tensor {
        if x.layout == .blocked && Set(axes) == [1] { return blockedChannelSum(x) }
        var t = x.layout == .plain ? x : reorder(x, to: .plain)
        var runs: [[Int]] = []
        for a in Set(axes).sorted() {
            if let last = runs.last?.last, last == a - 1 { runs[runs.count - 1].append(a) } else { runs.append([a]) }
        }
        for run in runs.reversed() {
            let lo = run.first!, hi = run.last!
            let outer = t.shape[..<lo].reduce(1, *), reduced = t.shape[lo...hi].reduce(1, *), inner = t.shape[(hi + 1)...].reduce(1, *)
            var outShape = t.shape
            for a in run { outShape[a] = 1 }
            let out = Tensor(shape: outShape, storage: Storage(count: outer * inner))
            let src = t.storage.pointer, dst = out.storage.pointer
            for o in 0..<outer {
                let block = src + o * reduced * inner
                if reduced == 0 {
                    (dst + o * inner).initialize(repeating: 0, count: inner)
                } else if inner == 1 {
                    dst[o] = Float(sumContiguous(block, reduced))
                } else {
                    let row = dst + o * inner
                    row.update(from: block, count: inner)
                    for r in 1..<reduced {
                        let line = block + r * inner
                        for i in 0..<inner { row[i] += line[i] }
                    }
                }
            }
            t = out
        }
        return t
    }

    /// The sum of `n` contiguous values: Float partial sums over short chunks, added in Double.
    static func sumContiguous(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
        var total = 0.0
        var start = 0
        while start < n {
            let end = min(start + 256, n)
            var lanes = SIMD8<Float>()
            var i = start
            while i + 8 <= end {
                lanes += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
                i += 8
            }
            var chunk = Double(lanes.sum())
            while i < end { chunk += Double(p[i]); i += 1 }
            total += chunk
            start = end
        }
        return total
    }

    /// x broadcast to `shape` (a copy).
    static func expand(_ x: Tensor, to shape: [Int]) -> Tensor {
        let x = x.layout == .plain ? x : reorder(x, to: .plain)
        let out = Tensor(shape: shape, storage: Storage(count: shape.reduce(1, *)))
        let src = x.storage.pointer, dst = out.storage.pointer
        if x.count == 1 {
            dst.initialize(repeating: src[0], count: out.count)
            return out
        }
        let padded = [Int](repeating: 1, count: shape.count - x.rank) + x.shape
        let broadcastAxes = (0..<shape.count).filter { padded[$0] != shape[$0] }
        if let lo = broadcastAxes.first, let hi = broadcastAxes.last, hi - lo + 1 == broadcastAxes.count {
            // One run of broadcast axes: every (outer) block is `repeats` copies of an inner row.
            let outer = shape[..<lo].reduce(1, *), repeats = shape[lo...hi].reduce(1, *), inner = shape[(hi + 1)...].reduce(1, *)
            for o in 0..<outer {
                for r in 0..<repeats { (dst + (o * repeats + r) * inner).update(from: src + o * inner, count: inner) }
            }
            return out
        }
        let s = broadcastStrides(x.shape, to: shape)
        forEachIndex(shape, { o, i, _ in dst[o] = src[i] }, offsets: (s, [Int](repeating: 0, count: shape.count)))
        return out
    }

    /// x with its axes reordered: output axis i is input axis `order[i]`.
    static func permute(_ x: Tensor, _ order: [Int]) -> Tensor {
        let x = x.layout == .plain ? x : reorder(x, to: .plain)
        let shape = order.map { x.shape[$0] }
        let inStrides = x.strides
        let strides = order.map { inStrides[$0] }
        let out = Tensor(shape: shape, storage: Storage(count: x.count))
        let src = x.storage.pointer, dst = out.storage.pointer
        forEachIndex(shape, { o, i, _ in dst[o] = src[i] }, offsets: (strides, [Int](repeating: 0, count: shape.count)))
        return out
    }
}

extension Tensor {
    /// The same storage under another shape of equal count (plain layout only).
    func reshapedView(_ newShape: [Int]) -> Tensor {
        let t = layout == .plain ? self : Kernels.reorder(self, to: .plain)
        return Tensor(shape: newShape, storage: t.storage)
    }
}
