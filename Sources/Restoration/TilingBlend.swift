import Foundation
import Imaging

/// The output image being filled, held by reference so that writing rows never copies it.
final class OutputCanvas {
    var image: Image

    init(_ image: Image) { self.image = image }
}

/// Receives finished rows of the network's output, top to bottom, and puts them into the output image.
protocol RowSink: AnyObject {
    /// Takes `count` rows of each channel; channel c's rows start at `rows + c * planeStride`.
    func consume(_ rows: UnsafePointer<Float>, count: Int, planeStride: Int)
    /// Called once every row has been consumed.
    func finish()
}

/// Copies rows unchanged into channels `channelOffset...` of the canvas.
final class CopySink: RowSink {
    private let canvas: OutputCanvas
    private let channelOffset: Int, channels: Int
    private var nextRow = 0

    init(canvas: OutputCanvas, channelOffset: Int, channels: Int) {
        self.canvas = canvas
        self.channelOffset = channelOffset
        self.channels = channels
    }

    func consume(_ rows: UnsafePointer<Float>, count: Int, planeStride: Int) {
        let width = canvas.image.width, plane = canvas.image.pixelCount
        canvas.image.planes.withUnsafeMutableBufferPointer { dst in
            for c in 0..<channels {
                (dst.baseAddress! + (channelOffset + c) * plane + nextRow * width).update(from: rows + c * planeStride, count: count * width)
            }
        }
        nextRow += count
    }

    func finish() { precondition(nextRow == canvas.image.height, "CopySink got \(nextRow) of \(canvas.image.height) rows") }
}

/// Accumulates tiles' weighted outputs in a band of rows and hands rows on once no later tile can touch them.
///
/// The band holds at most one row of tiles, so its size is the output width times the tile height,
/// whatever the image height. Tiles are added row of tiles by row of tiles, top to bottom.
final class TileBlender {
    enum ChannelMap {
        /// The network's three channels, as they are.
        case rgb
        /// Their mean: gray images and alpha go through the network replicated to RGB.
        case mean
    }

    private let width: Int, height: Int, capacity: Int
    private let map: ChannelMap
    private let sink: RowSink
    private var band: [Float]
    /// Output row held in band row 0.
    private var top = 0

    /// - Parameters: `width`, `height`: output size; `capacity`: the most rows a row of tiles covers.
    init(width: Int, height: Int, capacity: Int, map: ChannelMap, sink: RowSink) {
        self.width = width
        self.height = height
        self.capacity = capacity
        self.map = map
        self.sink = sink
        band = [Float](repeating: 0, count: 3 * capacity * width)
    }

    /// Bytes the blender holds.
    static func bytes(width: Int, capacity: Int) -> Int {
        3 * capacity * width * MemoryLayout<Float>.size
    }

    /// Adds a tile's output (3 planes of `tileHeight` x `tileWidth`, placed at `x`, `y`) times the
    /// separable weights `rowWeights[r] * columnWeights[k]`.
    func add(_ tile: [Float], x: Int, y: Int, tileWidth: Int, tileHeight: Int, rowWeights: [Float], columnWeights: [Float]) {
        precondition(y >= top && y + tileHeight <= top + capacity && x + tileWidth <= width, "tile outside the band")
        let (bandCapacity, bandWidth, bandTop) = (capacity, width, top)
        tile.withUnsafeBufferPointer { src in
            band.withUnsafeMutableBufferPointer { dst in
                columnWeights.withUnsafeBufferPointer { wx in
                    for c in 0..<3 {
                        for r in 0..<tileHeight where rowWeights[r] != 0 {
                            let wy = rowWeights[r]
                            let s = src.baseAddress! + (c * tileHeight + r) * tileWidth
                            let d = dst.baseAddress! + (c * bandCapacity + y + r - bandTop) * bandWidth + x
                            for k in 0..<tileWidth { d[k] += wy * wx[k] * s[k] }
                        }
                    }
                }
            }
        }
    }

    /// Hands on every row above `row` (all of them when `row` is the height) and frees their space.
    func flush(above row: Int) {
        let n = row - top
        guard n > 0 else { return }
        let (w, cap) = (width, capacity)
        band.withUnsafeMutableBufferPointer { b in
            let (r, g, bl) = (b.baseAddress!, b.baseAddress! + cap * w, b.baseAddress! + 2 * cap * w)
            if map == .mean {
                for i in 0..<(n * w) { r[i] = (r[i] + g[i] + bl[i]) / 3 }
            }
            sink.consume(r, count: n, planeStride: cap * w)
            for plane in [r, g, bl] {
                plane.update(from: plane + n * w, count: (cap - n) * w)
                (plane + (cap - n) * w).update(repeating: 0, count: n * w)
            }
        }
        top = row
        if top == height { sink.finish() }
    }
}
