import Foundation

/// ITU-R BT.601 YCbCr in MATLAB's `rgb2ycbcr` convention: for R, G, B in [0, 1],
/// Y = 16 + 65.481 R + 128.553 G + 24.966 B on the 0-255 scale (so Y spans [16, 235] and
/// Cb, Cr span [16, 240]). Images store these divided by 255, like MATLAB does for doubles.
public enum BT601 {
    /// Rows: Y, Cb, Cr; columns: R, G, B; on the 0-255 output scale for inputs in [0, 1].
    public static let forward: [[Double]] = [
        [65.481, 128.553, 24.966],
        [-37.797, -74.203, 112.0],
        [112.0, -93.786, -18.214],
    ]
    /// Offsets of Y, Cb, Cr on the 0-255 scale.
    public static let offset: [Double] = [16, 128, 128]

    /// The exact inverse of `forward` (computed, not the rounded constants some code carries).
    public static let inverse: [[Double]] = {
        let m = forward
        let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
        func cofactor(_ r: Int, _ c: Int) -> Double {
            let rows = (0..<3).filter { $0 != r }, cols = (0..<3).filter { $0 != c }
            let minor = m[rows[0]][cols[0]] * m[rows[1]][cols[1]] - m[rows[0]][cols[1]] * m[rows[1]][cols[0]]
            return ((r + c) % 2 == 0 ? 1 : -1) * minor
        }
        // inverse[i][j] = cofactor(j, i) / det
        return (0..<3).map { i in (0..<3).map { j in cofactor(j, i) / det } }
    }()

    /// Y on the 0-255 scale from R, G, B on the 0-255 scale (the metrics' formula).
    @inline(__always) public static func luma255(_ r: Double, _ g: Double, _ b: Double) -> Double {
        16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    }
}

/// Converts an RGB (or RGBA: alpha is carried unchanged) image to YCbCr, MATLAB `rgb2ycbcr`
/// convention, values divided by 255. Gray images have no chroma to convert: use `yChannel`.
public func rgbToYCbCr(_ image: Image) -> Image {
    precondition(image.channels == 3 || image.channels == 4, "rgbToYCbCr needs an RGB(A) image, got \(image.channels) channels")
    return applyColourMatrix(image, matrix: BT601.forward.map { $0.map { $0 / 255 } },
                             before: [0, 0, 0], after: BT601.offset.map { $0 / 255 })
}

/// Converts a YCbCr image (as made by `rgbToYCbCr`) back to RGB; alpha is carried unchanged.
/// Values are not clamped.
public func yCbCrToRGB(_ image: Image) -> Image {
    precondition(image.channels == 3 || image.channels == 4, "yCbCrToRGB needs a 3- or 4-channel image, got \(image.channels)")
    return applyColourMatrix(image, matrix: BT601.inverse.map { $0.map { $0 * 255 } },
                             before: BT601.offset.map { -$0 / 255 }, after: [0, 0, 0])
}

/// The luma plane used for metrics, as a 1-channel image: BT.601 Y (MATLAB convention, divided
/// by 255) for RGB(A) images, and the gray plane itself for gray(+alpha) images.
///
/// The gray case follows the field's evaluation scripts: MATLAB benchmarks convert only images
/// with three channels (`if size(im, 3) > 1, im = rgb2ycbcr(im)`), and BasicSR's `to_y_channel`
/// converts only 3-channel arrays. So Set14's gray `bridge.png` is compared on its gray values,
/// not on 16 + 219/255 of them (which would shift its PSNR by 20 log10(255/219) = 1.32 dB).
public func yChannel(_ image: Image) -> Image {
    if image.channels <= 2 {
        return Image(width: image.width, height: image.height, channels: 1,
                     planes: Array(image.planes[0..<image.pixelCount]), bitDepth: image.bitDepth)
    }
    let ycc = applyColourMatrix(image, matrix: [BT601.forward[0].map { $0 / 255 }], before: [0, 0, 0],
                                after: [BT601.offset[0] / 255], outputChannels: 1)
    return ycc
}

/// out[k] = sum_c matrix[k][c] * (in[c] + before[c]) + after[k], on the first three channels,
/// computed in Double per pixel; extra input channels (alpha) are appended unchanged.
private func applyColourMatrix(_ image: Image, matrix: [[Double]], before: [Double], after: [Double],
                               outputChannels: Int? = nil) -> Image {
    let n = image.pixelCount
    let rows = matrix.count
    let outChannels = outputChannels ?? image.channels
    var out = Image(width: image.width, height: image.height, channels: outChannels, value: 0, bitDepth: image.bitDepth)
    out.iccProfile = outputChannels == nil ? image.iccProfile : nil
    image.planes.withUnsafeBufferPointer { src in
        out.planes.withUnsafeMutableBufferPointer { dst in
            let r = src.baseAddress!, g = r + n, b = g + n
            for k in 0..<rows {
                let (m0, m1, m2) = (matrix[k][0], matrix[k][1], matrix[k][2])
                let (o0, o1, o2) = (before[0], before[1], before[2])
                let offset = after[k]
                let d = dst.baseAddress! + k * n
                for i in 0..<n {
                    let v = m0 * (Double(r[i]) + o0) + m1 * (Double(g[i]) + o1) + m2 * (Double(b[i]) + o2) + offset
                    d[i] = Float(v)
                }
            }
            for c in rows..<outChannels {
                (dst.baseAddress! + c * n).update(from: src.baseAddress! + c * n, count: n)
            }
        }
    }
    return out
}
