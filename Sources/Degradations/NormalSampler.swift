import Foundation
import SeededRandom

/// Fast standard-normal draws from a `SeededGenerator` (Marsaglia and Tsang's ziggurat, 128 layers).
///
/// Box-Muller costs a logarithm and a cosine per pair; noise for one training pair needs a few hundred
/// thousand draws, so the ziggurat (a table look-up and a compare for 99% of draws) is used instead.
/// Each 64-bit word gives two draws: 7 bits pick the layer, 25 signed bits the position in it.
/// The sequence depends only on the generator's state.
struct NormalSampler {
    private static let tables = ZigguratTables()
    private var pending: UInt32 = 0
    private var hasPending = false

    /// One N(0, 1) draw.
    @inline(__always)
    mutating func next(_ rng: inout SeededGenerator) -> Float {
        let bits = word(&rng)
        let layer = Int(bits & 127)
        let value = Int32(bitPattern: bits) >> 7
        let t = Self.tables
        if UInt32(value.magnitude) < t.k[layer] { return Float(value) * t.w[layer] }
        return slow(value: value, layer: layer, &rng)
    }

    /// Fills `buffer` with N(0, 1) draws.
    mutating func fill(_ buffer: UnsafeMutableBufferPointer<Float>, _ rng: inout SeededGenerator) {
        for i in buffer.indices { buffer[i] = next(&rng) }
    }

    @inline(__always)
    private mutating func word(_ rng: inout SeededGenerator) -> UInt32 {
        if hasPending {
            hasPending = false
            return pending
        }
        let r = rng.next()
        pending = UInt32(truncatingIfNeeded: r >> 32)
        hasPending = true
        return UInt32(truncatingIfNeeded: r)
    }

    private mutating func slow(value first: Int32, layer first_: Int, _ rng: inout SeededGenerator) -> Float {
        let t = Self.tables
        var value = first, layer = first_
        while true {
            let x = Double(value) * Double(t.w[layer])
            if layer == 0 {
                // Tail beyond r: Marsaglia's exponential rejection.
                var tx: Double, ty: Double
                repeat {
                    tx = -log(1 - rng.uniformDouble()) / ZigguratTables.r
                    ty = -log(1 - rng.uniformDouble())
                } while ty + ty < tx * tx
                return Float(value > 0 ? ZigguratTables.r + tx : -ZigguratTables.r - tx)
            }
            if t.f[layer] + rng.uniformDouble() * (t.f[layer - 1] - t.f[layer]) < exp(-0.5 * x * x) { return Float(x) }
            let bits = word(&rng)
            layer = Int(bits & 127)
            value = Int32(bitPattern: bits) >> 7
            if UInt32(value.magnitude) < t.k[layer] { return Float(value) * t.w[layer] }
        }
    }
}

/// The ziggurat's layer tables for 25-bit signed positions (Marsaglia and Tsang 2000, 128 layers).
private struct ZigguratTables {
    static let r = 3.442619855899
    var k = [UInt32](repeating: 0, count: 128)
    var w = [Float](repeating: 0, count: 128)
    var f = [Double](repeating: 0, count: 128)

    init() {
        let m = 16_777_216.0  // 2^24, the largest position magnitude
        let v = 9.91256303526217e-3
        var dn = Self.r, tn = dn
        let q = v / exp(-0.5 * dn * dn)
        k[0] = UInt32((dn / q) * m)
        k[1] = 0
        w[0] = Float(q / m)
        w[127] = Float(dn / m)
        f[0] = 1
        f[127] = exp(-0.5 * dn * dn)
        for i in stride(from: 126, through: 1, by: -1) {
            dn = (-2 * log(v / dn + exp(-0.5 * dn * dn))).squareRoot()
            k[i + 1] = UInt32((dn / tn) * m)
            tn = dn
            f[i] = exp(-0.5 * dn * dn)
            w[i] = Float(dn / m)
        }
    }
}
