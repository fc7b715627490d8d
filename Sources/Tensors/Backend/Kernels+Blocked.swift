/// Kernels on blocked or channels-last activations that would otherwise need a reorder to the plain
/// layout: a per-pixel (N|1, 1, H, W) operand broadcast over channels, and sums over channels.
/// In both layouts each pixel holds a run of channels contiguously (`blockSize` of them, or all), so
/// both are short loops.
extension Kernels {
    /// a (op) b for blocked or channels-last a (N, C, H, W) and plain b (N or 1, 1, H, W); the result has a's layout.
    static func blockedSpatialBinary(_ op: Binary, _ a: Tensor, _ b: Tensor) -> Tensor {
        let (n, c, hw) = (a.shape[0], a.shape[1], a.shape[2] * a.shape[3])
        let bs = a.layout.pixelBlock(channels: c), blocks = c / bs
        let out = Tensor(shape: a.shape, layout: a.layout, storage: Storage(count: a.storage.count))
        let pa = a.storage.pointer, pb = b.storage.pointer, po = out.storage.pointer
        let bBatch = b.shape[0] == 1 ? 0 : hw
        for i in 0..<n {
            let gate = pb + i * bBatch
            for cb in 0..<blocks {
                let base = (i * blocks + cb) * hw * bs
                for p in 0..<hw {
                    let v = gate[p], row = base + p * bs
                    switch op {
                    case .add: for k in 0..<bs { po[row + k] = pa[row + k] + v }
                    case .sub: for k in 0..<bs { po[row + k] = pa[row + k] - v }
                    case .mul: for k in 0..<bs { po[row + k] = pa[row + k] * v }
                    case .div: for k in 0..<bs { po[row + k] = pa[row + k] / v }
                    }
                }
            }
        }
        return out
    }

    /// The sum over channels of a blocked or channels-last (N, C, H, W) tensor: plain (N, 1, H, W).
    static func blockedChannelSum(_ x: Tensor) -> Tensor {
        let (n, c, hw) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
        let bs = x.layout.pixelBlock(channels: c), blocks = c / bs
        let out = Tensor(shape: [n, 1, x.shape[2], x.shape[3]], storage: Storage(zeros: n * hw))
        let px = x.storage.pointer, po = out.storage.pointer
        for i in 0..<n {
            let row = po + i * hw
            for cb in 0..<blocks {
                let base = px + (i * blocks + cb) * hw * bs
                for p in 0..<hw {
                    var s: Float = 0
                    for k in 0..<bs { s += base[p * bs + k] }
                    row[p] += s
                }
            }
        }
        return out
    }
}
