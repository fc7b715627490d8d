import Foundation
import Imaging

/// Drawing for `savl inspect`: a perceptual colour map, a colour bar with tick labels,
/// side-by-side sheets, and the principal axes of a covariance matrix.
public enum InspectRendering {
    /// Viridis at nine evenly spaced points (perceptually uniform, readable in gray and by most colour-blind viewers).
    private static let viridis: [(Float, Float, Float)] = [
        (68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
        (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37),
    ]

    /// The colour of `t` in [0, 1] (clamped), as RGB in [0, 1].
    public static func colour(_ t: Float) -> (Float, Float, Float) {
        let x = min(1, max(0, t.isFinite ? t : 0)) * Float(viridis.count - 1)
        let i = min(Int(x), viridis.count - 2), f = x - Float(i)
        let (a, b) = (viridis[i], viridis[i + 1])
        return ((a.0 + (b.0 - a.0) * f) / 255, (a.1 + (b.1 - a.1) * f) / 255, (a.2 + (b.2 - a.2) * f) / 255)
    }

    private static func set(_ image: inout Image, _ x: Int, _ y: Int, _ value: [Float]) {
        guard x >= 0, y >= 0, x < image.width, y < image.height else { return }
        for c in 0..<image.channels { image.planes[(c * image.height + y) * image.width + x] = value[min(c, value.count - 1)] }
    }

    /// A heatmap of `values` (width x height, row-major) over [low, high] with a colour bar on its right:
    /// the bar runs from `low` (bottom) to `high` (top) with five labelled ticks.
    public static func heatmap(_ values: [Float], width: Int, height: Int, low: Float, high: Float) -> Image {
        let scale = height >= 200 ? 2 : 1
        let labels = (0...4).map { Self.label(low + (high - low) * Float($0) / 4) }
        let labelWidth = labels.map { PixelFont.width(of: $0, size: scale) }.max() ?? 0
        let (gap, bar, tick, space) = (8 * scale, 14 * scale, 3 * scale, 5 * scale)
        let minimumBar = 5 * 12 * scale
        let totalHeight = max(height, minimumBar + 8 * scale)
        let totalWidth = width + gap + bar + tick + space + labelWidth + 4 * scale
        var out = Image(width: totalWidth, height: totalHeight, channels: 3, value: 1)
        let span = high > low ? high - low : 1
        for y in 0..<height {
            for x in 0..<width {
                let (r, g, b) = colour((values[y * width + x] - low) / span)
                set(&out, x, y, [r, g, b])
            }
        }
        // The bar spans the map's height when that leaves room for the labels, else the minimum.
        let barHeight = max(height, minimumBar) - 7 * scale
        let barTop = 7 * scale / 2, barLeft = width + gap
        for y in 0..<barHeight {
            let (r, g, b) = colour(1 - Float(y) / Float(max(barHeight - 1, 1)))
            for x in barLeft..<(barLeft + bar) { set(&out, x, barTop + y, [r, g, b]) }
        }
        for (i, text) in labels.enumerated() {
            let y = barTop + (barHeight - 1) * (4 - i) / 4
            for x in (barLeft + bar)..<(barLeft + bar + tick) {
                for t in 0..<scale { set(&out, x, y + t - scale / 2, [0]) }
            }
            PixelFont.draw(text, into: &out, x: barLeft + bar + tick + space, y: y - 7 * scale / 2, size: scale, colour: [0])
        }
        return out
    }

    /// A tick label: at most four significant digits, without trailing zeros.
    public static func label(_ v: Float) -> String {
        if v == 0 { return "0" }
        let magnitude = abs(v)
        if magnitude >= 1e4 || magnitude < 1e-3 { return String(format: "%.2e", v) }
        var text = String(format: "%.4g", v)
        if text.contains(".") && !text.contains("e") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    /// Images side by side, top-aligned, on white with `gap` pixels between; gray becomes RGB, alpha is dropped.
    public static func sheet(_ images: [Image], gap: Int = 8) -> Image {
        let width = images.map(\.width).reduce(0, +) + gap * (images.count - 1)
        var out = Image(width: width, height: images.map(\.height).max() ?? 1, channels: 3, value: 1)
        var left = 0
        for image in images {
            let colours = image.hasAlpha ? image.channels - 1 : image.channels
            for c in 0..<3 {
                let source = colours == 1 ? 0 : c
                for y in 0..<image.height {
                    for x in 0..<image.width {
                        out.planes[(c * out.height + y) * out.width + left + x] = image.planes[(source * image.height + y) * image.width + x]
                    }
                }
            }
            left += image.width + gap
        }
        return out
    }

    /// Eigenvalues (descending) and unit eigenvectors of a symmetric matrix, by cyclic Jacobi rotations.
    /// Each vector's sign makes its largest-magnitude entry positive, so results are reproducible.
    public static func eigen(_ matrix: [[Double]]) -> [(value: Double, vector: [Double])] {
        let n = matrix.count
        var a = matrix
        var v = (0..<n).map { i in (0..<n).map { $0 == i ? 1.0 : 0.0 } }
        for _ in 0..<100 {
            var off = 0.0
            for i in 0..<n { for j in (i + 1)..<n { off += a[i][j] * a[i][j] } }
            if off < 1e-22 { break }
            for p in 0..<n {
                for q in (p + 1)..<n where abs(a[p][q]) > 1e-300 {
                    let theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let (akp, akq) = (a[k][p], a[k][q])
                        a[k][p] = c * akp - s * akq
                        a[k][q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let (apk, aqk) = (a[p][k], a[q][k])
                        a[p][k] = c * apk - s * aqk
                        a[q][k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let (vkp, vkq) = (v[k][p], v[k][q])
                        v[k][p] = c * vkp - s * vkq
                        v[k][q] = s * vkp + c * vkq
                    }
                }
            }
        }
        return (0..<n).map { i -> (value: Double, vector: [Double]) in
            var vector = (0..<n).map { v[$0][i] }
            if let largest = vector.max(by: { abs($0) < abs($1) }), largest < 0 { vector = vector.map { -$0 } }
            return (a[i][i], vector)
        }.sorted { $0.value > $1.value }
    }
}
