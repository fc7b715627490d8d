import Foundation
import Imaging

/// Which values PSNR and SSIM compare.
public enum MetricChannel: String, Sendable, Codable, CaseIterable {
    /// BT.601 luma (MATLAB `rgb2ycbcr` Y on the 0-255 scale); gray images use their gray values.
    case y
    /// The colour channels (alpha ignored): PSNR over all values, SSIM averaged over channels.
    case rgb
}

/// Why a metric could not be computed.
public struct MetricError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// PSNR in dB as the field computes it (BasicSR `calculate_psnr`): both images rounded to 8 bits,
/// `border` pixels cropped from each edge, then 10 log10(255^2 / MSE) in Double.
/// Identical images give +infinity.
public func psnr(_ a: Image, _ b: Image, border: Int = 0, channel: MetricChannel = .y) throws -> Double {
    let (pa, pb) = try metricPlanes(a, b, border: border, channel: channel, minimumSide: 1)
    var sum = 0.0, count = 0
    for k in pa.indices {
        pa[k].values.withUnsafeBufferPointer { x in
            pb[k].values.withUnsafeBufferPointer { y in
                for i in x.indices {
                    let d = x[i] - y[i]
                    sum += d * d
                }
            }
        }
        count += pa[k].values.count
    }
    let mse = sum / Double(count)
    return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
}

/// How far `a`'s mean colour lies from `b`'s, per colour channel (R, G, B; one value for gray), in 8-bit
/// levels with `border` cropped: the mean of a - b. Y-PSNR hides a colour cast; this shows it.
public func meanShift(_ a: Image, _ b: Image, border: Int = 0) throws -> [Double] {
    let (pa, pb) = try metricPlanes(a, b, border: border, channel: .rgb, minimumSide: 1)
    return zip(pa, pb).map { x, y in zip(x.values, y.values).reduce(0) { $0 + $1.0 - $1.1 } / Double(x.values.count) }
}

/// SSIM as the field computes it (BasicSR `calculate_ssim`, after Wang et al.): 8-bit values,
/// `border` cropped, 11x11 Gaussian window with sigma 1.5, K1 = 0.01, K2 = 0.03, L = 255,
/// 'valid' filtering (no padding), mean of the SSIM map; averaged over channels for `.rgb`.
public func ssim(_ a: Image, _ b: Image, border: Int = 0, channel: MetricChannel = .y) throws -> Double {
    let (pa, pb) = try metricPlanes(a, b, border: border, channel: channel, minimumSide: SSIMWindow.size)
    var total = 0.0
    for k in pa.indices { total += ssimPlane(pa[k], pb[k]) }
    return total / Double(pa.count)
}

/// One plane of Double values on the 0-255 scale.
struct MetricPlane {
    var width: Int
    var height: Int
    var values: [Double]
}

/// Rounds to 8 bits, selects Y or the colour channels, and crops the border.
func metricPlanes(_ a: Image, _ b: Image, border: Int, channel: MetricChannel,
                  minimumSide: Int) throws -> ([MetricPlane], [MetricPlane]) {
    guard a.width == b.width, a.height == b.height else {
        throw MetricError("images differ in size: \(a.width)x\(a.height) vs \(b.width)x\(b.height)")
    }
    guard a.channels - (a.hasAlpha ? 1 : 0) == b.channels - (b.hasAlpha ? 1 : 0) else {
        throw MetricError("images differ in colour channels: \(a.channels) vs \(b.channels)")
    }
    guard border >= 0, a.width - 2 * border >= minimumSide, a.height - 2 * border >= minimumSide else {
        throw MetricError("a \(a.width)x\(a.height) image is too small for border \(border) (needs at least \(minimumSide) pixels left per side)")
    }
    return (planes8(a, border: border, channel: channel), planes8(b, border: border, channel: channel))
}

private func planes8(_ image: Image, border: Int, channel: MetricChannel) -> [MetricPlane] {
    let w = image.width, h = image.height, n = image.pixelCount
    let outW = w - 2 * border, outH = h - 2 * border
    let samples = image.planes8()
    func crop(_ value: (Int) -> Double) -> MetricPlane {
        var values = [Double](repeating: 0, count: outW * outH)
        for y in 0..<outH {
            for x in 0..<outW { values[y * outW + x] = value((y + border) * w + x + border) }
        }
        return MetricPlane(width: outW, height: outH, values: values)
    }
    let colour = image.channels >= 3
    switch channel {
    case .y where colour:
        return [crop { i in BT601.luma255(Double(samples[i]), Double(samples[n + i]), Double(samples[2 * n + i])) }]
    case .y:
        return [crop { i in Double(samples[i]) }]
    case .rgb:
        return (0..<(colour ? 3 : 1)).map { c in crop { i in Double(samples[c * n + i]) } }
    }
}
