import Foundation

extension Image {
    /// The image as it should be displayed given an EXIF orientation (1...8): 2 mirror,
    /// 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90
    /// counter-clockwise. 1 and unknown values return the image unchanged.
    public func applyingOrientation(_ orientation: Int) -> Image {
        guard (2...8).contains(orientation) else { return self }
        let w = width, h = height
        let swaps = orientation >= 5
        let outW = swaps ? h : w, outH = swaps ? w : h
        var out = Image(width: outW, height: outH, channels: channels, value: 0, bitDepth: bitDepth)
        out.iccProfile = iccProfile
        let n = pixelCount
        planes.withUnsafeBufferPointer { src in
            out.planes.withUnsafeMutableBufferPointer { dst in
                for c in 0..<channels {
                    let s = src.baseAddress! + c * n, d = dst.baseAddress! + c * n
                    for y in 0..<outH {
                        for x in 0..<outW {
                            let (sx, sy): (Int, Int)
                            switch orientation {
                            case 2: (sx, sy) = (w - 1 - x, y)
                            case 3: (sx, sy) = (w - 1 - x, h - 1 - y)
                            case 4: (sx, sy) = (x, h - 1 - y)
                            case 5: (sx, sy) = (y, x)
                            case 6: (sx, sy) = (y, h - 1 - x)
                            case 7: (sx, sy) = (w - 1 - y, h - 1 - x)
                            default: (sx, sy) = (w - 1 - y, x)  // 8
                            }
                            d[y * outW + x] = s[sy * w + sx]
                        }
                    }
                }
            }
        }
        return out
    }
}
