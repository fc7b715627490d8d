import Foundation

/// `k / 255` for every byte value, so 8-bit decoding is a table look-up and exact.
let byteToUnit: [Float] = (0..<256).map { Float($0) / 255 }

/// `k / 65535` for every 16-bit value (256 KB, built on first use), so 16-bit decoding gives the
/// same floats as `Float(k) / 65535` and round trips compare equal.
let wordToUnit: [Float] = (0..<65536).map { Float($0) / 65535 }

/// Rounds a [0, 1] value to 8 bits (half up, clamped; NaN gives 0), as MATLAB's uint8 conversion does.
@inline(__always) func unitToByte(_ v: Float) -> UInt8 {
    let x = v * 255 + 0.5
    return x > 0 ? (x < 255 ? UInt8(x) : 255) : 0
}

/// Rounds a [0, 1] value to 16 bits (half up, clamped; NaN gives 0).
@inline(__always) func unitToWord(_ v: Float) -> UInt16 {
    let x = v * 65535 + 0.5
    return x > 0 ? (x < 65535 ? UInt16(x) : 65535) : 0
}

/// Interleaves the first `channels` planes of `image` as bytes (dropping trailing channels, i.e. alpha).
func packInterleaved8(_ image: Image, channels: Int) -> [UInt8] {
    let n = image.pixelCount
    var out = [UInt8](repeating: 0, count: n * channels)
    image.planes.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            for c in 0..<channels {
                let plane = src.baseAddress! + c * n
                for i in 0..<n { dst[i * channels + c] = unitToByte(plane[i]) }
            }
        }
    }
    return out
}

/// Interleaves the first `channels` planes of `image` as big-endian 16-bit samples (PNG order).
func packInterleaved16BE(_ image: Image, channels: Int) -> [UInt8] {
    let n = image.pixelCount
    var out = [UInt8](repeating: 0, count: n * channels * 2)
    image.planes.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            for c in 0..<channels {
                let plane = src.baseAddress! + c * n
                for i in 0..<n {
                    let w = unitToWord(plane[i])
                    dst[(i * channels + c) * 2] = UInt8(w >> 8)
                    dst[(i * channels + c) * 2 + 1] = UInt8(w & 0xFF)
                }
            }
        }
    }
    return out
}

/// De-interleaves 8-bit samples into planar values k / 255.
func unpackInterleaved8(_ src: UnsafePointer<UInt8>, pixelCount n: Int, channels: Int) -> [Float] {
    var planes = [Float](repeating: 0, count: n * channels)
    byteToUnit.withUnsafeBufferPointer { lut in
        planes.withUnsafeMutableBufferPointer { dst in
            for c in 0..<channels {
                let plane = dst.baseAddress! + c * n
                for i in 0..<n { plane[i] = lut[Int(src[i * channels + c])] }
            }
        }
    }
    return planes
}

/// De-interleaves 16-bit samples (big-endian bytes, PNG order) into planar values k / 65535.
func unpackInterleaved16BE(_ src: UnsafePointer<UInt8>, pixelCount n: Int, channels: Int) -> [Float] {
    var planes = [Float](repeating: 0, count: n * channels)
    wordToUnit.withUnsafeBufferPointer { lut in
        planes.withUnsafeMutableBufferPointer { dst in
            for c in 0..<channels {
                let plane = dst.baseAddress! + c * n
                for i in 0..<n {
                    let j = (i * channels + c) * 2
                    plane[i] = lut[Int(src[j]) << 8 | Int(src[j + 1])]
                }
            }
        }
    }
    return planes
}
