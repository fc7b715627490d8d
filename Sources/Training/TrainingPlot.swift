import Foundation
import Imaging

/// Draws the curves of a run from its log as a PNG: the training loss (raw and smoothed, with the
/// SR L1 term) above, the validation PSNR of the EMA weights against bicubic below, the stage
/// change as a vertical line. Drawn in Swift, so a run needs nothing besides savl.
public enum TrainingPlot {
    /// Renders `entries` and writes the PNG to `url` (atomically).
    public static func write(entries: [LogEntry], title: String, to url: URL) throws {
        try writeImage(render(entries: entries, title: title), to: url, format: .png)
    }

    /// The plot as an RGB image of `width` x `height`.
    public static func render(entries: [LogEntry], title: String, width: Int = 960, height: Int = 720) -> Image {
        var canvas = PlotCanvas(width: width, height: height)
        canvas.text(title, x: 16, y: 12, colour: ink)
        let steps = entries.map { Double($0.step) }
        let xRange = (steps.min() ?? 0)...max((steps.max() ?? 1), (steps.min() ?? 0) + 1)
        let stageChange = entries.first { $0.stage == 2 }.map { Double($0.step) - 0.5 }
        let validated = entries.filter { $0.validationPSNR != nil }
        let split = validated.isEmpty ? height - 50 : height * 58 / 100
        let lossPanel = Panel(left: 80, top: 64, right: width - 24, bottom: split)
        let loss = entries.map { Double($0.loss) }, l1 = entries.map { Double($0.srL1) }
        let smoothLoss = smoothed(loss), smoothL1 = smoothed(l1)
        let finite = (smoothLoss + smoothL1 + loss).filter(\.isFinite)
        let high = min(finite.max() ?? 1, (smoothLoss.filter(\.isFinite).max() ?? 1) * 1.5)
        // A heteroscedastic likelihood makes the loss negative: pad below by a share of the span, not a factor.
        let lowest = finite.min() ?? 0, highest = max(high, lowest + 1e-6)
        canvas.frame(lossPanel, x: xRange, y: (lowest - 0.05 * (highest - lowest))...highest, label: "TRAINING LOSS (SMOOTHED)")
        if let stageChange { canvas.verticalLine(at: stageChange, in: lossPanel, colour: grey) }
        canvas.curve(zip(steps, loss).map { ($0, $1) }, in: lossPanel, colour: pale, thickness: 1)
        canvas.curve(zip(steps, smoothL1).map { ($0, $1) }, in: lossPanel, colour: orange, thickness: 2)
        canvas.curve(zip(steps, smoothLoss).map { ($0, $1) }, in: lossPanel, colour: blue, thickness: 2)
        canvas.legend([("TOTAL", blue), ("SR L1", orange)] + (stageChange == nil ? [] : [("STAGE 2 FROM HERE", grey)]), in: lossPanel)

        guard !validated.isEmpty else { return canvas.image }
        let panel = Panel(left: 80, top: split + 54, right: width - 24, bottom: height - 50)
        let psnrs = validated.compactMap(\.validationPSNR).filter(\.isFinite)
        let bicubic = validated.compactMap(\.bicubicPSNR).last
        let all = psnrs + (bicubic.map { [$0] } ?? [])
        let low = (all.min() ?? 0) - 0.2, top = (all.max() ?? 1) + 0.2
        canvas.frame(panel, x: xRange, y: low...top, label: "VALIDATION PSNR (DB, Y)")
        if let stageChange { canvas.verticalLine(at: stageChange, in: panel, colour: grey) }
        if let bicubic { canvas.curve([(xRange.lowerBound, bicubic), (xRange.upperBound, bicubic)], in: panel, colour: grey, thickness: 1) }
        let points = validated.compactMap { e in e.validationPSNR.map { (Double(e.step), $0) } }
        canvas.curve(points, in: panel, colour: green, thickness: 2)
        for point in points { canvas.marker(point, in: panel, colour: green) }
        canvas.legend([("EMA WEIGHTS", green)] + (bicubic == nil ? [] : [("BICUBIC", grey)]), in: panel)
        canvas.text("STEP", x: width / 2 - 12, y: height - 22, colour: ink)
        return canvas.image
    }

    /// A centred moving average over about a fiftieth of the points.
    static func smoothed(_ values: [Double]) -> [Double] {
        let radius = max(values.count / 100, 0)
        guard radius > 0 else { return values }
        var prefix = [0.0]
        for v in values { prefix.append(prefix.last! + (v.isFinite ? v : 0)) }
        return values.indices.map { i in
            let a = max(0, i - radius), b = min(values.count, i + radius + 1)
            return (prefix[b] - prefix[a]) / Double(b - a)
        }
    }

    static let ink: (Float, Float, Float) = (0.1, 0.1, 0.1)
    static let grey: (Float, Float, Float) = (0.55, 0.55, 0.55)
    static let pale: (Float, Float, Float) = (0.75, 0.82, 0.95)
    static let blue: (Float, Float, Float) = (0.12, 0.35, 0.75)
    static let orange: (Float, Float, Float) = (0.9, 0.5, 0.1)
    static let green: (Float, Float, Float) = (0.1, 0.6, 0.25)
}

/// A plot area in pixels.
struct Panel {
    var left: Int, top: Int, right: Int, bottom: Int
}

/// An RGB drawing surface with lines, axes and labels.
struct PlotCanvas {
    typealias Colour = (Float, Float, Float)
    var image: Image
    private var xRange: ClosedRange<Double> = 0...1
    private var yRange: ClosedRange<Double> = 0...1

    init(width: Int, height: Int) {
        image = Image(width: width, height: height, channels: 3, value: 1)
    }

    /// Axes with ticks and numbers; sets the ranges later drawing maps into `panel`.
    mutating func frame(_ panel: Panel, x: ClosedRange<Double>, y: ClosedRange<Double>, label: String) {
        xRange = x
        yRange = y
        let axis: Colour = (0.3, 0.3, 0.3)
        for px in panel.left...panel.right { set(px, panel.bottom, axis); set(px, panel.top, (0.85, 0.85, 0.85)) }
        for py in panel.top...panel.bottom { set(panel.left, py, axis); set(panel.right, py, (0.85, 0.85, 0.85)) }
        for value in ticks(y) {
            let py = pixelY(value, panel)
            for px in panel.left...panel.right where px % 4 == 0 { set(px, py, (0.88, 0.88, 0.88)) }
            let text = tickLabel(value, spacing: y.upperBound - y.lowerBound)
            self.text(text, x: panel.left - 8 - text.count * 6, y: py - 3, colour: TrainingPlot.ink, size: 1)
        }
        for value in ticks(x) {
            let px = pixelX(value, panel)
            for py in panel.bottom...(panel.bottom + 4) { set(px, py, axis) }
            let text = tickLabel(value, spacing: x.upperBound - x.lowerBound)
            self.text(text, x: px - text.count * 3, y: panel.bottom + 8, colour: TrainingPlot.ink, size: 1)
        }
        text(label, x: panel.left, y: panel.top - 18, colour: TrainingPlot.ink)
    }

    mutating func curve(_ points: [(Double, Double)], in panel: Panel, colour: Colour, thickness: Int) {
        let pixels = points.filter { $0.1.isFinite }.map { (pixelX($0.0, panel), pixelY(min(max($0.1, yRange.lowerBound), yRange.upperBound), panel)) }
        if pixels.count == 1 { marker(points[0], in: panel, colour: colour) }
        for (a, b) in zip(pixels, pixels.dropFirst()) { line(a, b, colour, thickness) }
    }

    mutating func marker(_ point: (Double, Double), in panel: Panel, colour: Colour) {
        let (cx, cy) = (pixelX(point.0, panel), pixelY(point.1, panel))
        for dy in -3...3 { for dx in -3...3 where dx * dx + dy * dy <= 10 { set(cx + dx, cy + dy, colour) } }
    }

    mutating func verticalLine(at x: Double, in panel: Panel, colour: Colour) {
        let px = pixelX(x, panel)
        for py in panel.top...panel.bottom where py % 6 < 4 { set(px, py, colour) }
    }

    mutating func legend(_ items: [(String, Colour)], in panel: Panel) {
        var y = panel.top + 10
        let x = panel.right - 12 - (items.map(\.0.count).max() ?? 0) * 12 - 28
        for (name, colour) in items {
            for dx in 0..<20 { for dy in 0...2 { set(x + dx, y + 6 + dy, colour) } }
            text(name, x: x + 28, y: y, colour: TrainingPlot.ink)
            y += 22
        }
    }

    mutating func text(_ string: String, x: Int, y: Int, colour: Colour, size: Int = 2) {
        PixelFont.draw(string, into: &image, x: x, y: y, size: size, colour: [colour.0, colour.1, colour.2])
    }

    private func pixelX(_ v: Double, _ p: Panel) -> Int {
        p.left + Int(((v - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound) * Double(p.right - p.left)).rounded())
    }

    private func pixelY(_ v: Double, _ p: Panel) -> Int {
        p.bottom - Int(((v - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound) * Double(p.bottom - p.top)).rounded())
    }

    /// Round values inside `range`, about five of them (1, 2 or 5 times a power of ten apart).
    private func ticks(_ range: ClosedRange<Double>) -> [Double] {
        let span = range.upperBound - range.lowerBound
        guard span > 0, span.isFinite else { return [] }
        let raw = span / 5, power = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? raw
        var values: [Double] = []
        var v = (range.lowerBound / step).rounded(.up) * step
        while v <= range.upperBound + step * 1e-9 { values.append(v); v += step }
        return values
    }

    private func tickLabel(_ value: Double, spacing: Double) -> String {
        if abs(value) >= 10000 { return String(format: "%.0fK", value / 1000) }
        let decimals = max(0, min(4, Int(-floor(log10(spacing / 5)))))
        return String(format: "%.\(decimals)f", value)
    }

    private mutating func line(_ a: (Int, Int), _ b: (Int, Int), _ colour: Colour, _ thickness: Int) {
        var (x, y) = a
        let dx = abs(b.0 - x), dy = -abs(b.1 - y), sx = x < b.0 ? 1 : -1, sy = y < b.1 ? 1 : -1
        var error = dx + dy
        while true {
            for ox in 0..<thickness { for oy in 0..<thickness { set(x + ox, y + oy, colour) } }
            if x == b.0 && y == b.1 { return }
            let e2 = 2 * error
            if e2 >= dy { error += dy; x += sx }
            if e2 <= dx { error += dx; y += sy }
        }
    }

    private mutating func set(_ x: Int, _ y: Int, _ colour: Colour) {
        guard x >= 0, y >= 0, x < image.width, y < image.height else { return }
        let n = image.pixelCount, i = y * image.width + x
        image.planes[i] = colour.0
        image.planes[n + i] = colour.1
        image.planes[2 * n + i] = colour.2
    }
}
