/// Conversions from the 16-bit float formats found in weight files to `Float`.
///
/// Written out by hand rather than through Swift's `Float16`, which is unavailable on some platforms;
/// every 16-bit pattern maps to exactly one `Float` (both formats are subsets of Float32).
enum HalfPrecision {
    /// The Float value of IEEE 754 binary16 bits (sign, 5-bit exponent, 10-bit mantissa),
    /// including subnormals, infinities and NaN payloads.
    @inline(__always)
    static func float(fromHalf bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x3FF)
        switch exponent {
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        case 0:
            // Zero or subnormal: mantissa * 2^-24, exact in Float.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        default:
            // Rebias the exponent from 15 to 127.
            return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
        }
    }

    /// The Float value of bfloat16 bits: the upper half of a Float32.
    @inline(__always)
    static func float(fromBFloat16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }
}
