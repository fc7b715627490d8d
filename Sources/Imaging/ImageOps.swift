import Foundation

extension Image {
    /// The rectangle at (`x`, `y`) of size `width` x `height`, which must lie inside the image.
    public func cropped(x: Int, y: Int, width w: Int, height h: Int) -> Image {
        precondition(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= width && y + h <= height,
                     "crop (\(x), \(y), \(w)x\(h)) outside a \(width)x\(height) image")
        var out = Image(width: w, height: h, channels: channels, value: 0, bitDepth: bitDepth)
        out.iccProfile = iccProfile
        planes.withUnsafeBufferPointer { src in
            out.planes.withUnsafeMutableBufferPointer { dst in
                for c in 0..<channels {
                    for row in 0..<h {
                        (dst.baseAddress! + (c * h + row) * w)
                            .update(from: src.baseAddress! + (c * height + y + row) * width + x, count: w)
                    }
                }
            }
        }
        return out
    }

    /// The rectangle at (`x`, `y`) of size `width` x `height`, which may reach outside the image: pixels
    /// outside are mirrored about the edge pixels (PyTorch's `reflect` padding), so an image edge looks
    /// to a filter or a network like the inside of a picture rather than a black frame.
    public func croppedReflecting(x: Int, y: Int, width w: Int, height h: Int) -> Image {
        precondition(w > 0 && h > 0, "empty crop \(w)x\(h)")
        if x >= 0 && y >= 0 && x + w <= width && y + h <= height { return cropped(x: x, y: y, width: w, height: h) }
        var out = Image(width: w, height: h, channels: channels, value: 0, bitDepth: bitDepth)
        out.iccProfile = iccProfile
        let columns = (0..<w).map { reflectIndex(x + $0, width) }
        planes.withUnsafeBufferPointer { src in
            out.planes.withUnsafeMutableBufferPointer { dst in
                for c in 0..<channels {
                    for row in 0..<h {
                        let from = src.baseAddress! + (c * height + reflectIndex(y + row, height)) * width
                        let to = dst.baseAddress! + (c * h + row) * w
                        for (i, column) in columns.enumerated() { to[i] = from[column] }
                    }
                }
            }
        }
        return out
    }

    /// The image without its alpha channel (RGBA to RGB, gray + alpha to gray); unchanged otherwise.
    public func removingAlpha() -> Image {
        guard hasAlpha else { return self }
        return Image(width: width, height: height, channels: channels - 1,
                     planes: Array(planes[0..<((channels - 1) * pixelCount)]), bitDepth: bitDepth, iccProfile: iccProfile)
    }

    /// Three colour channels: alpha dropped, gray repeated into R, G and B; unchanged for RGB.
    public func rgb() -> Image {
        let colour = removingAlpha()
        guard colour.channels == 1 else { return colour }
        return Image(width: width, height: height, channels: 3, planes: colour.planes + colour.planes + colour.planes,
                     bitDepth: bitDepth, iccProfile: iccProfile)
    }

    /// Values rounded to `bitDepth` bits (8 or 16) and clamped to [0, 1], as saving to a file
    /// would: k / 255 or k / 65535 (rounding half up, like MATLAB's integer conversion).
    public func quantized(bitDepth depth: Int = 8) -> Image {
        precondition(depth == 8 || depth == 16, "quantized(bitDepth:) takes 8 or 16")
        var out = self
        out.bitDepth = depth
        out.planes.withUnsafeMutableBufferPointer { p in
            if depth == 8 {
                byteToUnit.withUnsafeBufferPointer { lut in
                    for i in p.indices { p[i] = lut[Int(unitToByte(p[i]))] }
                }
            } else {
                wordToUnit.withUnsafeBufferPointer { lut in
                    for i in p.indices { p[i] = lut[Int(unitToWord(p[i]))] }
                }
            }
        }
        return out
    }

    /// Planar 8-bit samples (rounded half up, clamped), in the order of `planes`.
    public func planes8() -> [UInt8] {
        planes.map(unitToByte)
    }
}

/// Maps an index outside `0..<count` back inside by mirror reflection about the edge pixels
/// (PyTorch's `reflect`: the edge pixel is not repeated).
@inline(__always)
public func reflectIndex(_ i: Int, _ count: Int) -> Int {
    if count == 1 { return 0 }
    let period = 2 * (count - 1)
    var m = i % period
    if m < 0 { m += period }
    return m < count ? m : period - m
}
