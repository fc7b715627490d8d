import CDNNL
import Foundation

extension Kernels {
    /// The same logical tensor in another memory layout.
    static func reorder(_ x: Tensor, to layout: Layout) -> Tensor {
        if x.layout == layout { return x }
        precondition(x.rank == 4 && x.shape[1] % Layout.blockSize == 0, "blocked layout needs a 4-D tensor with channels a multiple of \(Layout.blockSize), got \(x.shape)")
        let out = Tensor(shape: x.shape, layout: layout, storage: Storage(count: x.storage.count))
        if Kernel.path == .fast {
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

    /// Sum over `axes` (plain layout), keeping reduced axes as size 1; accumulates in Double.
    static func sum(_ x: Tensor, axes: [Int]) throws -> Tensor {
        let x = x.layout == .plain ? x : reorder(x, to: .plain)
        var outShape = x.shape
        for a in axes { outShape[a] = 1 }
        let outCount = outShape.reduce(1, *)
        var acc = [Double](repeating: 0, count: outCount)
        let stridesOut = broadcastStrides(outShape, to: x.shape)
        let zero = [Int](repeating: 0, count: x.rank)
        let src = x.storage.pointer
        acc.withUnsafeMutableBufferPointer { accp in
            if outCount == 1 {
                var s = 0.0
                for i in 0..<x.count { s += Double(src[i]) }
                accp[0] = s
            } else {
                forEachIndex(x.shape, { i, o, _ in accp[o] += Double(src[i]) }, offsets: (stridesOut, zero))
            }
        }
        let out = Tensor(shape: outShape, storage: Storage(count: outCount))
        for i in 0..<outCount { out.storage.pointer[i] = Float(acc[i]) }
        return out
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
