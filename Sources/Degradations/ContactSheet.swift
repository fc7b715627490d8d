import Foundation
import Imaging

/// A picture of one degradation for people to look at: the HR, the LR, a detail crop of both at HR
/// scale, and the four ground-truth maps as heatmaps (viridis, labelled with their value span).
///
/// ```swift
/// let sheet = contactSheet(hr: hr, result: result, scale: 4)
/// try writeImage(sheet, to: url)
/// ```
public func contactSheet(hr: Image, result: DegradationResult, scale: Int) -> Image {
    let lr = result.lr
    // Tiles show the LR at an integer zoom, about 256 pixels on the long side.
    let zoom = max(1, 256 / max(lr.width, lr.height))
    let (tw, th) = (lr.width * zoom, lr.height * zoom)
    let gap = 8
    // Two text lines per tile: a title and a value span, at double size where it fits the tile.
    let fontSize = tw >= 12 * 14 ? 2 : 1
    let line = 8 * fontSize + 2, label = 2 * line + 4
    let columns = 4
    let sheetWidth = columns * tw + (columns + 1) * gap
    let sheetHeight = 2 * (th + label) + 3 * gap
    var canvas = Canvas(width: sheetWidth, height: sheetHeight, background: 0.12)

    let colourHR = hr.rgb()
    let colourLR = lr.rgb()
    // The detail crop: the centre of the HR, up to one tile, with the same region of the LR enlarged by `scale`.
    let cw = min(tw, hr.width) / scale * scale, ch = min(th, hr.height) / scale * scale
    let cx = (hr.width - cw) / 2 / scale * scale, cy = (hr.height - ch) / 2 / scale * scale
    let hrCrop = colourHR.cropped(x: cx, y: cy, width: cw, height: ch)
    let lrCrop = resize(colourLR.cropped(x: cx / scale, y: cy / scale, width: cw / scale, height: ch / scale),
                        width: cw, height: ch, method: .nearest)
    let top: [(String, String, Image)] = [
        ("HR", "\(hr.width)X\(hr.height)", resize(colourHR, width: tw, height: th, method: .area)),
        ("LR", "\(lr.width)X\(lr.height)", resize(colourLR, width: tw, height: th, method: .nearest)),
        ("HR CROP", "\(cw)X\(ch)", hrCrop),
        ("LR CROP", "X\(scale) NEAREST", lrCrop),
    ]
    for (i, (title, detail, tile)) in top.enumerated() {
        let x = gap + i * (tw + gap)
        canvas.text(title, x: x, y: gap + 2, size: fontSize)
        canvas.text(detail, x: x, y: gap + 2 + line, size: fontSize)
        canvas.paste(tile, x: x, y: gap + label)
    }
    let maps: [(String, GroundTruthMaps.Kind)] = [("BLUR WIDTH", .blurWidth), ("NOISE SIGMA", .noiseSigma),
                                                  ("JPEG QUALITY", .jpegQuality), ("AFFECTED", .affected)]
    for (i, (title, kind)) in maps.enumerated() {
        let values = result.maps[kind]
        let lo = values.min() ?? 0, hi = values.max() ?? 0
        let span = hi - lo > 1e-6 ? String(format: "%.1f-%.1f", lo, hi) : String(format: "= %.1f", lo)
        let heat = heatmap(values, width: result.maps.width, height: result.maps.height, low: lo, high: hi)
        let x = gap + i * (tw + gap), y = 2 * gap + th + label
        canvas.text(title, x: x, y: y + 2, size: fontSize)
        canvas.text(span, x: x, y: y + 2 + line, size: fontSize)
        canvas.paste(resize(heat, width: tw, height: th, method: .nearest), x: x, y: y + label)
    }
    return canvas.image
}

/// Viridis: values from `low` to `high` run dark blue, teal, green, yellow; a constant map is mid-teal.
private func heatmap(_ values: [Float], width: Int, height: Int, low: Float, high: Float) -> Image {
    let stops: [(Float, Float, Float)] = [(0.267, 0.005, 0.329), (0.231, 0.322, 0.545), (0.129, 0.569, 0.549),
                                          (0.369, 0.788, 0.384), (0.992, 0.906, 0.145)]
    let n = width * height
    var planes = [Float](repeating: 0, count: 3 * n)
    for i in 0..<n {
        let t = high - low > 1e-6 ? (values[i] - low) / (high - low) : 0.5
        let s = min(max(t, 0), 1) * Float(stops.count - 1)
        let k = min(Int(s), stops.count - 2)
        let f = s - Float(k)
        let (a, b) = (stops[k], stops[k + 1])
        planes[i] = a.0 + f * (b.0 - a.0)
        planes[n + i] = a.1 + f * (b.1 - a.1)
        planes[2 * n + i] = a.2 + f * (b.2 - a.2)
    }
    return Image(width: width, height: height, channels: 3, planes: planes)
}

/// An RGB drawing surface with pasting and labels.
private struct Canvas {
    var image: Image

    init(width: Int, height: Int, background: Float) {
        image = Image(width: width, height: height, channels: 3, value: background)
    }

    mutating func paste(_ tile: Image, x: Int, y: Int) {
        let n = image.pixelCount, m = tile.pixelCount
        for c in 0..<3 {
            for row in 0..<min(tile.height, image.height - y) {
                for col in 0..<min(tile.width, image.width - x) {
                    image.planes[c * n + (y + row) * image.width + x + col] = tile.planes[c * m + row * tile.width + col]
                }
            }
        }
    }

    mutating func text(_ string: String, x: Int, y: Int, size: Int = 2) {
        PixelFont.draw(string, into: &image, x: x, y: y, size: size, colour: [0.95])
    }
}
