import Foundation

/// A seeded pseudo-random generator (xoshiro256**) that gives the same numbers on every run and machine.
///
/// Its state is `Codable`, so a training checkpoint can store it and resume the exact sequence.
/// Floating-point draws use only integer arithmetic and `log`/`cos`/`sqrt` of IEEE doubles.
///
/// ```swift
/// var rng = SeededGenerator(seed: 42)
/// let u = rng.uniform()        // in [0, 1)
/// let z = rng.normal()         // N(0, 1)
/// var child = rng.fork(7)      // an independent stream, for a worker or an image
/// ```
public struct SeededGenerator: RandomNumberGenerator, Codable, Sendable, Equatable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64
    /// A second normal from the last Box-Muller pair, used by the next `normal()`.
    private var spareNormal: Double?

    /// Creates a generator; equal seeds give equal sequences.
    public init(seed: UInt64) {
        var sm = seed
        func splitMix() -> UInt64 {
            sm &+= 0x9E37_79B9_7F4A_7C15
            var z = sm
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
        spareNormal = nil
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    /// A new generator whose stream is independent of this one and determined by `key` and this generator's state.
    /// Does not advance this generator.
    public func fork(_ key: UInt64) -> SeededGenerator {
        SeededGenerator(seed: (s0 ^ rotl(s2, 13)) &+ key &* 0xD605_0BC6_3F1A_3C5B)
    }

    /// A double uniform in [0, 1) with 53 random bits.
    public mutating func uniformDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A float uniform in [0, 1).
    public mutating func uniform() -> Float {
        Float(next() >> 40) * 0x1.0p-24
    }

    /// A double uniform in `range`.
    public mutating func uniform(in range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * uniformDouble()
    }

    /// An integer uniform in `range`.
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        Int.random(in: range, using: &self)
    }

    /// True with probability `p`.
    public mutating func bernoulli(_ p: Double) -> Bool {
        uniformDouble() < p
    }

    /// A standard normal draw (Box-Muller).
    public mutating func normalDouble() -> Double {
        if let spare = spareNormal {
            spareNormal = nil
            return spare
        }
        let u1 = 1 - uniformDouble()  // in (0, 1]
        let u2 = uniformDouble()
        let radius = (-2 * Foundation.log(u1)).squareRoot()
        let angle = 2 * Double.pi * u2
        spareNormal = radius * Foundation.sin(angle)
        return radius * Foundation.cos(angle)
    }

    /// A standard normal draw as Float.
    public mutating func normal() -> Float {
        Float(normalDouble())
    }

    /// Fills `buffer` with N(mean, std^2) draws.
    public mutating func fillNormal(_ buffer: UnsafeMutableBufferPointer<Float>, mean: Float = 0, std: Float = 1) {
        for i in buffer.indices { buffer[i] = mean + std * normal() }
    }

    /// Fills `buffer` with draws uniform in [low, high).
    public mutating func fillUniform(_ buffer: UnsafeMutableBufferPointer<Float>, low: Float = 0, high: Float = 1) {
        for i in buffer.indices { buffer[i] = low + (high - low) * uniform() }
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
