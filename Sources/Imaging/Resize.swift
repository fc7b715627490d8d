import Foundation

/// How `resize` computes new pixels.
public enum ResizeMethod: String, Sendable, CaseIterable {
    /// MATLAB `imresize(..., 'bicubic')`: cubic kernel with a = -0.5, antialiased when shrinking
    /// (kernel widened by 1/scale), symmetric (mirrored) edges. The field's way of making LR test images.
    case matlabBicubic
    /// PyTorch `F.interpolate(mode='bicubic', align_corners=False)`: a = -0.75, no antialias, clamped edges.
    case bicubic
    /// PyTorch `F.interpolate(mode='bilinear', align_corners=False)`, no antialias.
    case bilinear
    /// PyTorch `F.interpolate(mode='area')`, i.e. adaptive average pooling.
    case area
    /// PyTorch `F.interpolate(mode='nearest')` (floor of dst * in / out).
    case nearest
}

/// Resizes `image` to `width` x `height`.
///
/// Separable: each axis has precomputed taps per output row/column (see the methods for the
/// exact conventions); the axis with the stronger reduction is done first, as MATLAB does.
/// Values are not clamped: cubic kernels overshoot slightly outside [0, 1], as in the references.
/// Every channel, alpha included, is filtered independently. An unchanged axis is copied as is.
public func resize(_ image: Image, width: Int, height: Int, method: ResizeMethod) -> Image {
    precondition(width > 0 && height > 0, "resize to \(width)x\(height): sizes must be positive")
    precondition(image.width > 0 && image.height > 0, "resize of an empty image")
    if width == image.width && height == image.height { return image }

    let horizontal = width == image.width ? nil : AxisWeights(method: method, inLength: image.width, outLength: width)
    let vertical = height == image.height ? nil : AxisWeights(method: method, inLength: image.height, outLength: height)
    let scaleX = Double(width) / Double(image.width)
    let scaleY = Double(height) / Double(image.height)
    let verticalFirst = scaleY <= scaleX

    var output = Image(width: width, height: height, channels: image.channels, value: 0, bitDepth: image.bitDepth)
    output.iccProfile = image.iccProfile
    // Intermediate plane: after the first axis.
    let midWidth = verticalFirst ? image.width : width
    let midHeight = verticalFirst ? height : image.height
    var scratch = [Float](repeating: 0, count: (horizontal != nil && vertical != nil) ? midWidth * midHeight : 0)

    let inCount = image.pixelCount, outCount = output.pixelCount
    image.planes.withUnsafeBufferPointer { src in
        output.planes.withUnsafeMutableBufferPointer { dst in
            scratch.withUnsafeMutableBufferPointer { mid in
                for c in 0..<image.channels {
                    let s = src.baseAddress! + c * inCount
                    let d = dst.baseAddress! + c * outCount
                    switch (horizontal, vertical) {
                    case let (h?, v?):
                        if verticalFirst {
                            resampleColumns(s, width: image.width, v, into: mid.baseAddress!)
                            resampleRows(mid.baseAddress!, height: height, h, into: d)
                        } else {
                            resampleRows(s, height: image.height, h, into: mid.baseAddress!)
                            resampleColumns(mid.baseAddress!, width: width, v, into: d)
                        }
                    case let (h?, nil):
                        resampleRows(s, height: image.height, h, into: d)
                    case let (nil, v?):
                        resampleColumns(s, width: image.width, v, into: d)
                    case (nil, nil):
                        d.update(from: s, count: inCount)
                    }
                }
            }
        }
    }
    return output
}

/// Resamples along the vertical axis: each output row is a weighted sum of whole input rows,
/// so the inner loop runs over contiguous memory and vectorises.
private func resampleColumns(_ src: UnsafePointer<Float>, width: Int, _ axis: AxisWeights,
                             into dst: UnsafeMutablePointer<Float>) {
    let taps = axis.taps
    axis.indices.withUnsafeBufferPointer { idx in
        axis.weights.withUnsafeBufferPointer { wts in
            for oy in 0..<axis.outLength {
                let row = dst + oy * width
                let w0 = wts[oy * taps]
                let s0 = src + Int(idx[oy * taps]) * width
                for x in 0..<width { row[x] = w0 * s0[x] }
                for k in 1..<max(taps, 1) {
                    let w = wts[oy * taps + k]
                    if w == 0 { continue }
                    let s = src + Int(idx[oy * taps + k]) * width
                    for x in 0..<width { row[x] += w * s[x] }
                }
            }
        }
    }
}

/// Resamples along the horizontal axis, row by row.
private func resampleRows(_ src: UnsafePointer<Float>, height: Int, _ axis: AxisWeights,
                          into dst: UnsafeMutablePointer<Float>) {
    let taps = axis.taps, inWidth = axis.inLength, outWidth = axis.outLength
    axis.indices.withUnsafeBufferPointer { idx in
        axis.weights.withUnsafeBufferPointer { wts in
            for y in 0..<height {
                let s = src + y * inWidth
                let d = dst + y * outWidth
                for ox in 0..<outWidth {
                    let base = ox * taps
                    var acc: Float = 0
                    for k in 0..<taps {
                        acc += wts[base + k] * s[Int(idx[base + k])]
                    }
                    d[ox] = acc
                }
            }
        }
    }
}
