import Foundation

/// Kernels that both backends share: sums, broadcasts, permutes and their index helpers, on the plain layout.
extension Kernels {
    /// (outer, axis length, inner) of a plain tensor around `axis`.
    static func split(_ shape: [Int], _ axis: Int) -> (Int, Int, Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    /// Sum over `axes` (plain layout), keeping reduced axes as size 1.
    ///
    /// Each run of adjacent axes is one pass over (outer, reduced, inner) blocks: whole reductions and
    /// reductions of contiguous rows accumulate in Double; reductions across rows add rows in Float.
    static func sum(_ x: Tensor, axes: [Int]) throws -> Tensor {
        if x.layout != .plain && Set(axes) == [1] { return blockedChannelSum(x) }
        var t = x.plain
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
        let x = x.plain
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
        let x = x.plain
        let shape = order.map { x.shape[$0] }
        let inStrides = x.strides
        let strides = order.map { inStrides[$0] }
        let out = Tensor(shape: shape, storage: Storage(count: x.count))
        let src = x.storage.pointer, dst = out.storage.pointer
        forEachIndex(shape, { o, i, _ in dst[o] = src[i] }, offsets: (strides, [Int](repeating: 0, count: shape.count)))
        return out
    }

    /// Strides of `shape` read as broadcast into `target` (0 along broadcast axes).
    static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        let padded = [Int](repeating: 1, count: target.count - shape.count) + shape
        let s = Shape.strides(padded)
        return (0..<target.count).map { padded[$0] == 1 && target[$0] != 1 ? 0 : s[$0] }
    }

    /// Calls `body(outIndex, offsetA, offsetB)` for every index of `shape` in row-major order.
    static func forEachIndex(_ shape: [Int], _ body: (Int, Int, Int) -> Void, offsets: ([Int], [Int])) {
        let n = shape.reduce(1, *)
        guard n > 0 else { return }
        let rank = shape.count
        if rank == 0 { body(0, 0, 0); return }
        let (sa, sb) = offsets
        var index = [Int](repeating: 0, count: rank)
        var ia = 0, ib = 0
        let inner = shape[rank - 1], ia1 = sa[rank - 1], ib1 = sb[rank - 1]
        var o = 0
        while o < n {
            var a = ia, b = ib
            for _ in 0..<inner {
                body(o, a, b)
                o += 1; a += ia1; b += ib1
            }
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                ia += sa[d]; ib += sb[d]
                if index[d] < shape[d] { break }
                ia -= sa[d] * shape[d]; ib -= sb[d] * shape[d]
                index[d] = 0
                d -= 1
            }
        }
    }

    /// Sums `g` over the axes along which `shape` was broadcast to g's shape.
    static func reduce(_ g: Tensor, toShape shape: [Int]) throws -> Tensor {
        if g.shape == shape { return g }
        let padded = [Int](repeating: 1, count: g.rank - shape.count) + shape
        let axes = (0..<g.rank).filter { padded[$0] == 1 && g.shape[$0] != 1 }
        return try sum(g, axes: axes).reshapedView(shape)
    }

    /// Copies the box `size` at `srcOrigin` of `src` to `dstOrigin` of `dst` (both plain, same rank).
    static func copyBox(_ src: Tensor, _ srcOrigin: [Int], _ dst: Tensor, _ dstOrigin: [Int], _ size: [Int]) {
        guard size.allSatisfy({ $0 > 0 }) else { return }
        let ss = src.strides, ds = dst.strides
        let sBase = zip(srcOrigin, ss).map(*).reduce(0, +)
        let dBase = zip(dstOrigin, ds).map(*).reduce(0, +)
        let sp = src.storage.pointer + sBase, dp = dst.storage.pointer + dBase
        let rank = size.count
        let inner = size[rank - 1]
        if rank == 1 { dp.update(from: sp, count: inner); return }
        let outer = Array(size[0..<(rank - 1)])
        forEachIndex(outer, { _, so, dofs in (dp + dofs).update(from: sp + so, count: inner) },
                     offsets: (Array(ss[0..<(rank - 1)]), Array(ds[0..<(rank - 1)])))
    }
}

extension Tensor {
    /// The same storage under another shape of equal count (plain layout only).
    func reshapedView(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, storage: plain.storage)
    }
}
