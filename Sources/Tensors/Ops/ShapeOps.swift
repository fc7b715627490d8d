extension Tensor {
    /// The same values under a new shape with the same count; one dimension may be -1.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        var target = newShape
        if let i = target.firstIndex(of: -1) {
            let known = target.filter { $0 != -1 }.reduce(1, *)
            guard known > 0, count % known == 0 else { throw TensorError("reshape: cannot reshape \(shape) to \(newShape)") }
            target[i] = count / known
        }
        guard target.reduce(1, *) == count, target.allSatisfy({ $0 >= 0 }) else {
            throw TensorError("reshape: cannot reshape \(shape) (\(count) values) to \(newShape)")
        }
        let out = reshapedView(target)
        let inShape = shape
        return Tensor.recorded(out, "reshape", [self]) { g in [g.reshapedView(inShape)] }
    }

    /// The axes reordered: output axis i is input axis `order[i]`.
    public func permuted(_ order: [Int]) throws -> Tensor {
        guard order.sorted() == Array(0..<rank) else { throw TensorError("permute: \(order) is not a permutation of the axes of \(shape)") }
        let out = Kernels.permute(self, order)
        var inverse = order
        for (i, o) in order.enumerated() { inverse[o] = i }
        return Tensor.recorded(out, "permute", [self]) { [inverse] g in [Kernels.permute(g, inverse)] }
    }

    /// Swaps two axes.
    public func transposed(_ a: Int = -2, _ b: Int = -1) throws -> Tensor {
        var order = Array(0..<rank)
        let a = a < 0 ? a + rank : a, b = b < 0 ? b + rank : b
        guard a >= 0, b >= 0, a < rank, b < rank else { throw TensorError("transpose: axes \(a), \(b) out of range for \(shape)") }
        order.swapAt(a, b)
        return try permuted(order)
    }

    /// The elements `range` along `axis`.
    public func sliced(axis: Int, _ range: Range<Int>) throws -> Tensor {
        let axis = axis < 0 ? axis + rank : axis
        guard axis >= 0, axis < rank, range.lowerBound >= 0, range.upperBound <= shape[axis] else {
            throw TensorError("slice: range \(range) on axis \(axis) is out of bounds for shape \(shape)")
        }
        let x = plain
        var outShape = shape
        outShape[axis] = range.count
        let out = Tensor(shape: outShape, storage: Storage(count: outShape.reduce(1, *)))
        var origin = [Int](repeating: 0, count: rank)
        origin[axis] = range.lowerBound
        Kernels.copyBox(x, origin, out, [Int](repeating: 0, count: rank), outShape)
        let inShape = shape
        return Tensor.recorded(out, "slice", [self]) { g in
            let gi = Tensor(shape: inShape, storage: Storage(zeros: inShape.reduce(1, *)))
            Kernels.copyBox(g.plain, [Int](repeating: 0, count: inShape.count), gi, origin, outShape)
            return [gi]
        }
    }

    /// Zero padding: `padding[i]` = (before, after) for axis i; missing leading axes are not padded.
    public func padded(_ padding: [(Int, Int)]) throws -> Tensor {
        guard padding.count <= rank, padding.allSatisfy({ $0.0 >= 0 && $0.1 >= 0 }) else {
            throw TensorError("pad: \(padding.count) non-negative (before, after) pairs needed for at most \(rank) axes of \(shape)")
        }
        let full = [(Int, Int)](repeating: (0, 0), count: rank - padding.count) + padding
        let x = plain
        let outShape = zip(shape, full).map { $0 + $1.0 + $1.1 }
        let out = Tensor(shape: outShape, storage: Storage(zeros: outShape.reduce(1, *)))
        let origin = full.map(\.0)
        Kernels.copyBox(x, [Int](repeating: 0, count: rank), out, origin, shape)
        let inShape = shape
        return Tensor.recorded(out, "pad", [self]) { g in
            let gi = Tensor(shape: inShape, storage: Storage(count: inShape.reduce(1, *)))
            Kernels.copyBox(g.plain, origin, gi, [Int](repeating: 0, count: inShape.count), inShape)
            return [gi]
        }
    }

    /// Pads the last two axes (height, width) with zeros.
    public func padded2d(top: Int, bottom: Int, left: Int, right: Int) throws -> Tensor {
        try padded([(top, bottom), (left, right)])
    }

    /// The same tensor in another memory layout; gradients come back in this tensor's layout.
    public func inLayout(_ target: Layout) throws -> Tensor {
        if layout == target { return self }
        guard target.admits(shape) else { throw TensorError("inLayout: no \(target) layout for \(shape) (blocked needs 4-D with channels a multiple of \(Layout.blockSize), channels-last 4-D)") }
        let out = Kernels.reorder(self, to: target)
        let source = layout
        return Tensor.recorded(out, "reorder", [self]) { g in [Kernels.reorder(g, to: source)] }
    }
}

/// Tensors joined along `axis`; all other dimensions must agree.
public func concat(_ tensors: [Tensor], axis: Int) throws -> Tensor {
    guard let first = tensors.first else { throw TensorError("concat: no tensors") }
    let rank = first.rank
    let axis = axis < 0 ? axis + rank : axis
    guard axis >= 0, axis < rank else { throw TensorError("concat: axis \(axis) out of range for \(first.shape)") }
    for t in tensors where t.rank != rank || (0..<rank).contains(where: { $0 != axis && t.shape[$0] != first.shape[$0] }) {
        throw TensorError.shapes("concat", tensors, "shapes differ outside axis \(axis)")
    }
    var outShape = first.shape
    outShape[axis] = tensors.map { $0.shape[axis] }.reduce(0, +)
    let out = Tensor(shape: outShape, storage: Storage(count: outShape.reduce(1, *)))
    var offsets: [Int] = []
    var offset = 0
    for t in tensors {
        var origin = [Int](repeating: 0, count: rank)
        origin[axis] = offset
        offsets.append(offset)
        Kernels.copyBox(t.plain, [Int](repeating: 0, count: rank), out, origin, t.shape)
        offset += t.shape[axis]
    }
    return Tensor.recorded(out, "concat", tensors) { g in
        let g = g.plain
        return zip(tensors, offsets).map { t, off in
            guard t.requiresGrad else { return nil }
            let gi = Tensor(shape: t.shape, storage: Storage(count: t.count))
            var origin = [Int](repeating: 0, count: rank)
            origin[axis] = off
            Kernels.copyBox(g, origin, gi, [Int](repeating: 0, count: rank), t.shape)
            return gi
        }
    }
}

/// Pixel shuffle: (N, C r^2, H, W) to (N, C, H r, W r), as PyTorch's `pixel_shuffle`.
public func pixelShuffle(_ x: Tensor, _ r: Int) throws -> Tensor {
    guard x.rank == 4, x.shape[1] % (r * r) == 0 else { throw TensorError("pixelShuffle: shape \(x.shape) needs 4-D with channels divisible by \(r * r)") }
    let (n, c, h, w) = (x.shape[0], x.shape[1] / (r * r), x.shape[2], x.shape[3])
    return try x.reshaped([n, c, r, r, h, w]).permuted([0, 1, 4, 2, 5, 3]).reshaped([n, c, h * r, w * r])
}

/// Pixel unshuffle: (N, C, H r, W r) to (N, C r^2, H, W), the inverse of `pixelShuffle`.
public func pixelUnshuffle(_ x: Tensor, _ r: Int) throws -> Tensor {
    guard x.rank == 4, x.shape[2] % r == 0, x.shape[3] % r == 0 else { throw TensorError("pixelUnshuffle: shape \(x.shape) needs 4-D with height and width divisible by \(r)") }
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2] / r, x.shape[3] / r)
    return try x.reshaped([n, c, h, r, w, r]).permuted([0, 1, 3, 5, 2, 4]).reshaped([n, c * r * r, h, w])
}

extension Tensor {
    /// Rows of this tensor picked along axis 0 by `indices` (repeats allowed), as PyTorch's `index_select(0, ...)`.
    /// The gradient scatters back, adding where an index repeats.
    public func gathered(rows indices: [Int]) throws -> Tensor {
        guard rank >= 1 else { throw TensorError("gathered: needs at least one axis, got a scalar") }
        if let bad = indices.first(where: { $0 < 0 || $0 >= shape[0] }) {
            throw TensorError("gathered: index \(bad) out of range for shape \(shape)")
        }
        let x = plain
        let row = count / Swift.max(shape[0], 1)
        let outShape = [indices.count] + shape.dropFirst()
        let out = Tensor(shape: outShape, storage: Storage(count: indices.count * row))
        for (o, i) in indices.enumerated() { (out.storage.pointer + o * row).update(from: x.storage.pointer + i * row, count: row) }
        let inShape = shape
        return Tensor.recorded(out, "gathered", [self]) { g in
            let g = g.plain
            let gi = Tensor(shape: inShape, storage: Storage(zeros: inShape.reduce(1, *)))
            for (o, i) in indices.enumerated() {
                let src = g.storage.pointer + o * row, dst = gi.storage.pointer + i * row
                for j in 0..<row { dst[j] += src[j] }
            }
            return [gi]
        }
    }
}
