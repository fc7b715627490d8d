import Foundation

/// A planar Float32 image with values nominally in [0, 1].
///
/// Pixels are stored channel after channel (`planes[c * width * height + y * width + x]`),
/// the layout networks and resamplers want. Channels: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA.
public struct Image: Sendable, Equatable {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// Number of channels: 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA).
    public var channels: Int
    /// Pixel values, planar: all of channel 0, then channel 1, ...
    public var planes: [Float]
    /// Bit depth of the file the image came from (8 or 16); writers use it by default.
    public var bitDepth: Int
    /// ICC colour profile of the source file, carried to outputs where the codec allows.
    public var iccProfile: [UInt8]?

    /// Creates an image from planar values.
    public init(width: Int, height: Int, channels: Int, planes: [Float], bitDepth: Int = 8, iccProfile: [UInt8]? = nil) {
        precondition(planes.count == width * height * channels, "planes has \(planes.count) values, expected \(width)x\(height)x\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.planes = planes
        self.bitDepth = bitDepth
        self.iccProfile = iccProfile
    }

    /// Creates an image filled with one value.
    public init(width: Int, height: Int, channels: Int, value: Float = 0, bitDepth: Int = 8) {
        self.init(width: width, height: height, channels: channels,
                  planes: [Float](repeating: value, count: width * height * channels), bitDepth: bitDepth)
    }

    /// Number of pixels in one plane.
    public var pixelCount: Int { width * height }

    /// Whether the last channel is alpha.
    public var hasAlpha: Bool { channels == 2 || channels == 4 }
}
