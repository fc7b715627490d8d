import Foundation

/// The Gaussian window of SSIM: 11 taps, sigma 1.5, normalised to sum 1 (OpenCV's
/// `getGaussianKernel(11, 1.5)`, whose outer product BasicSR uses as the 2-D window).
enum SSIMWindow {
    static let size = 11
    static let taps: [Double] = {
        let raw = (0..<size).map { i -> Double in
            let d = Double(i - size / 2)
            return exp(-d * d / (2 * 1.5 * 1.5))
        }
        let sum = raw.reduce(0, +)
        return raw.map { $0 / sum }
    }()
}

/// Mean SSIM of two planes of 0-255 values, 'valid' Gaussian filtering, in Double.
func ssimPlane(_ a: MetricPlane, _ b: MetricPlane) -> Double {
    let c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255)
    let w = a.width, h = a.height
    let ow = w - SSIMWindow.size + 1, oh = h - SSIMWindow.size + 1
    let n = w * h
    var aa = [Double](repeating: 0, count: n), bb = aa, ab = aa
    for i in 0..<n {
        aa[i] = a.values[i] * a.values[i]
        bb[i] = b.values[i] * b.values[i]
        ab[i] = a.values[i] * b.values[i]
    }
    let mu1 = filterValid(a.values, width: w, height: h)
    let mu2 = filterValid(b.values, width: w, height: h)
    let f11 = filterValid(aa, width: w, height: h)
    let f22 = filterValid(bb, width: w, height: h)
    let f12 = filterValid(ab, width: w, height: h)
    var total = 0.0
    for i in 0..<(ow * oh) {
        let m1 = mu1[i], m2 = mu2[i]
        let s11 = f11[i] - m1 * m1, s22 = f22[i] - m2 * m2, s12 = f12[i] - m1 * m2
        total += ((2 * m1 * m2 + c1) * (2 * s12 + c2)) / ((m1 * m1 + m2 * m2 + c1) * (s11 + s22 + c2))
    }
    return total / Double(ow * oh)
}

/// Separable 11x11 Gaussian correlation keeping only positions where the window fits.
private func filterValid(_ x: [Double], width w: Int, height h: Int) -> [Double] {
    let k = SSIMWindow.size
    let ow = w - k + 1, oh = h - k + 1
    var rows = [Double](repeating: 0, count: ow * h)
    var out = [Double](repeating: 0, count: ow * oh)
    SSIMWindow.taps.withUnsafeBufferPointer { t in
        x.withUnsafeBufferPointer { src in
            rows.withUnsafeMutableBufferPointer { r in
                for y in 0..<h {
                    let s = src.baseAddress! + y * w, d = r.baseAddress! + y * ow
                    for ox in 0..<ow {
                        var acc = 0.0
                        for j in 0..<k { acc += t[j] * s[ox + j] }
                        d[ox] = acc
                    }
                }
            }
        }
        rows.withUnsafeBufferPointer { r in
            out.withUnsafeMutableBufferPointer { o in
                for oy in 0..<oh {
                    let d = o.baseAddress! + oy * ow
                    for j in 0..<k {
                        let weight = t[j], s = r.baseAddress! + (oy + j) * ow
                        for ox in 0..<ow { d[ox] += weight * s[ox] }
                    }
                }
            }
        }
    }
    return out
}
