/// Linear interpolation taps along one axis: for each output index, (input index, weight) pairs.
struct Taps {
    var input: Int
    var entries: [[(Int, Float)]]

    /// PyTorch `nearest`: source index floor(out * (in / out_size)), computed in Float32 as PyTorch does
    /// (in Double, 11 * (26 / 22) lands on row 13 instead of PyTorch's 12).
    static func nearest(_ n: Int, _ m: Int) -> Taps {
        let scale = Float(n) / Float(m)
        return Taps(input: n, entries: (0..<m).map { o in [(min(Int((Float(o) * scale).rounded(.down)), n - 1), 1)] })
    }

    /// PyTorch `bilinear`, align_corners = false: source (out + 0.5) * in / out_size - 0.5, clamped at 0.
    static func linear(_ n: Int, _ m: Int) -> Taps {
        let scale = Double(n) / Double(m)
        return Taps(input: n, entries: (0..<m).map { o in
            let src = max((Double(o) + 0.5) * scale - 0.5, 0)
            let i0 = min(Int(src), n - 1), i1 = min(i0 + 1, n - 1)
            let f = Float(src - Double(i0))
            return i0 == i1 ? [(i0, Float(1))] : [(i0, 1 - f), (i1, f)]
        })
    }

    /// MATLAB `imresize` bicubic for enlarging (m >= n): Keys' kernel with a = -0.5 over the four
    /// nearest inputs of source (out + 0.5) * in / out_size - 0.5, edges mirrored (-1 reads 0, n reads
    /// n - 1), weights normalised to sum 1. Shrinking would need MATLAB's widened kernel: not supported.
    static func cubic(_ n: Int, _ m: Int) -> Taps {
        func keys(_ x: Double) -> Double {
            let ax = abs(x), ax2 = ax * ax, ax3 = ax2 * ax
            if ax <= 1 { return 1.5 * ax3 - 2.5 * ax2 + 1 }
            if ax <= 2 { return -0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2 }
            return 0
        }
        func mirrored(_ i: Int) -> Int {
            let period = 2 * n
            var k = i % period
            if k < 0 { k += period }
            return k < n ? k : period - 1 - k
        }
        let scale = Double(n) / Double(m)
        return Taps(input: n, entries: (0..<m).map { o in
            let src = (Double(o) + 0.5) * scale - 0.5
            let first = Int(src.rounded(.down)) - 1
            let raw = (first..<(first + 4)).map { j in (mirrored(j), keys(src - Double(j))) }
            let sum = raw.reduce(0) { $0 + $1.1 }
            var merged: [(Int, Float)] = []
            for (i, w) in raw where w != 0 {
                if let k = merged.firstIndex(where: { $0.0 == i }) { merged[k].1 += Float(w / sum) } else { merged.append((i, Float(w / sum))) }
            }
            return merged
        })
    }
}

extension Kernels {
    /// Applies row taps along H and column taps along W of a plain NCHW tensor (or their transpose, for gradients).
    static func resample(_ x: Tensor, _ rows: Taps, _ cols: Taps, transposed: Bool) -> Tensor {
        let x = x.plain
        let planes = x.shape[0] * x.shape[1]
        let (inH, inW) = (x.shape[2], x.shape[3])
        let (outH, outW) = transposed ? (rows.input, cols.input) : (rows.entries.count, cols.entries.count)
        let out = Tensor(shape: [x.shape[0], x.shape[1], outH, outW], storage: Storage(zeros: planes * outH * outW))
        let src = x.storage.pointer, dst = out.storage.pointer
        for p in 0..<planes {
            let s = src + p * inH * inW, d = dst + p * outH * outW
            if !transposed {
                for (oy, rowTaps) in rows.entries.enumerated() {
                    for (iy, wy) in rowTaps {
                        for (ox, colTaps) in cols.entries.enumerated() {
                            var v: Float = 0
                            for (ix, wx) in colTaps { v += s[iy * inW + ix] * wx }
                            d[oy * outW + ox] += wy * v
                        }
                    }
                }
            } else {
                for (gy, rowTaps) in rows.entries.enumerated() {
                    for (iy, wy) in rowTaps {
                        for (gx, colTaps) in cols.entries.enumerated() {
                            let g = s[gy * inW + gx] * wy
                            for (ix, wx) in colTaps { d[iy * outW + ix] += g * wx }
                        }
                    }
                }
            }
        }
        return out
    }
}
