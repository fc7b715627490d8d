import Foundation
@testable import Imaging

/// Deterministic test images.
enum TestImages {
    /// A smooth colour image (gradients and a soft blob), JPEG-friendly.
    static func smooth(width: Int, height: Int, channels: Int = 3) -> Image {
        var planes = [Float](repeating: 0, count: width * height * channels)
        for c in 0..<channels {
            for y in 0..<height {
                for x in 0..<width {
                    let u = Float(x) / Float(max(width - 1, 1)), v = Float(y) / Float(max(height - 1, 1))
                    let blob = expf(-((u - 0.4) * (u - 0.4) + (v - 0.6) * (v - 0.6)) * 8)
                    let value: Float
                    switch c % 4 {
                    case 0: value = 0.2 + 0.6 * u * (1 - 0.3 * blob)
                    case 1: value = 0.1 + 0.5 * v + 0.3 * blob
                    case 2: value = 0.8 - 0.5 * u * v
                    default: value = 0.25 + 0.5 * blob
                    }
                    planes[(c * height + y) * width + x] = value
                }
            }
        }
        return Image(width: width, height: height, channels: channels, planes: planes)
    }

    /// An image whose values are exact multiples of 1/255 (or 1/65535 for 16 bit), so codecs must round-trip it.
    static func exact(width: Int, height: Int, channels: Int, bitDepth: Int, seed: UInt64 = 1) -> Image {
        let levels = bitDepth == 16 ? 65535 : 255
        var state = seed &* 0x9E37_79B9_7F4A_7C15
        let planes = (0..<(width * height * channels)).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int(state >> 33) % (levels + 1)) / Float(levels)
        }
        return Image(width: width, height: height, channels: channels, planes: planes, bitDepth: bitDepth)
    }

    /// Whether two images are identical (shape, metadata, every value); unlike `==` in an
    /// expectation, a failure does not print every pixel.
    static func identical(_ a: Image, _ b: Image) -> Bool { a == b }

    /// Largest absolute difference between two images of equal shape.
    static func maxDifference(_ a: Image, _ b: Image) -> Float {
        precondition(a.width == b.width && a.height == b.height && a.channels == b.channels)
        return maxAbsDifference(a.planes, b.planes)
    }
}
