import Foundation
import Imaging

/// The vertical taps of MATLAB-bicubic resampling from `inLength` to `outLength` rows, read off
/// `Imaging.resize` itself so that streaming rows gives the same result as resizing a whole image.
///
/// The probe is an image `period` columns wide whose column k is 1 on the rows j with j % period == k:
/// resizing it vertically gives, for output row i and column k, the weight of the one input row
/// congruent to k inside the window of `period` rows around row i's centre (`period` exceeds the
/// kernel's support, so two taps of one output row never share a residue).
struct VerticalTaps {
    let inLength: Int, outLength: Int
    let period: Int
    /// For output row i: `first[i]` is the window's first input row; `weights[i * period + k]` the weight
    /// of the window row congruent to k.
    private let first: [Int]
    private let weights: [Float]
    /// The highest input row with a non-zero weight, per output row.
    let highest: [Int]
    /// The lowest input row any of output rows i, i + 1, ... needs.
    let neededFrom: [Int]

    init(inLength: Int, outLength: Int) {
        self.inLength = inLength
        self.outLength = outLength
        let scale = Double(outLength) / Double(inLength)
        let support = Int((scale < 1 ? 4 / scale : 4).rounded(.up)) + 2
        period = 2 * support + 8
        var probe = Image(width: period, height: inLength, channels: 1, value: 0)
        for j in 0..<inLength { probe.planes[j * period + j % period] = 1 }
        weights = resize(probe, width: period, height: outLength, method: .matlabBicubic).planes
        var first: [Int] = [], lowest: [Int] = [], highest: [Int] = []
        for i in 0..<outLength {
            let centre = (Double(i) + 0.5) / scale - 0.5
            let start = min(max(0, Int(centre.rounded(.down)) - period / 2), max(0, inLength - period))
            first.append(start)
            var lo = Int.max, hi = Int.min
            for k in 0..<period where weights[i * period + k] != 0 {
                let row = start + ((k - start % period) + period) % period
                lo = min(lo, row)
                hi = max(hi, row)
            }
            lowest.append(lo == Int.max ? start : lo)
            highest.append(hi == Int.min ? start : hi)
        }
        self.first = first
        self.highest = highest
        var needed = lowest
        for i in stride(from: outLength - 2, through: 0, by: -1) { needed[i] = min(needed[i], needed[i + 1]) }
        neededFrom = needed
    }

    /// Calls `body(inputRow, weight)` for each non-zero tap of output row `i`.
    func forEachTap(of i: Int, _ body: (Int, Float) -> Void) {
        let start = first[i]
        for k in 0..<period {
            let w = weights[i * period + k]
            if w != 0 { body(start + ((k - start % period) + period) % period, w) }
        }
    }
}

/// Resamples rows arriving top to bottom to the final size with MATLAB bicubic, writing into channels
/// `channelOffset...` of the canvas: each chunk is resized horizontally at once; output rows are made
/// as soon as all their input rows have arrived. Only the rows still needed are kept, so memory is a
/// few rows of the final width, not a second full-size image.
final class ResampleSink: RowSink {
    private let canvas: OutputCanvas
    private let channelOffset: Int, channels: Int
    private let inWidth: Int
    private let taps: VerticalTaps
    /// Horizontally resampled rows, planar per channel, starting at input row `heldFrom`.
    private var held: [[Float]]
    private var heldFrom = 0, received = 0, nextOutput = 0

    init(canvas: OutputCanvas, channelOffset: Int, channels: Int, inWidth: Int, inHeight: Int) {
        self.canvas = canvas
        self.channelOffset = channelOffset
        self.channels = channels
        self.inWidth = inWidth
        taps = VerticalTaps(inLength: inHeight, outLength: canvas.image.height)
        held = Array(repeating: [], count: channels)
    }

    func consume(_ rows: UnsafePointer<Float>, count: Int, planeStride: Int) {
        let outWidth = canvas.image.width
        var planes: [Float] = []
        planes.reserveCapacity(channels * count * inWidth)
        for c in 0..<channels { planes += UnsafeBufferPointer(start: rows + c * planeStride, count: count * inWidth) }
        let chunk = Image(width: inWidth, height: count * channels, channels: 1, planes: planes)
        // Channels stacked as one tall plane: a horizontal-only resize treats every row alike.
        let resized = resize(chunk, width: outWidth, height: count * channels, method: .matlabBicubic).planes
        for c in 0..<channels { held[c] += resized[(c * count * outWidth)..<((c + 1) * count * outWidth)] }
        received += count
        emitReadyRows()
    }

    func finish() {
        emitReadyRows()
        precondition(nextOutput == canvas.image.height, "ResampleSink made \(nextOutput) of \(canvas.image.height) rows")
    }

    private func emitReadyRows() {
        let outWidth = canvas.image.width, plane = canvas.image.pixelCount
        canvas.image.planes.withUnsafeMutableBufferPointer { dst in
            while nextOutput < taps.outLength && taps.highest[nextOutput] < received {
                for c in 0..<channels {
                    let d = dst.baseAddress! + (channelOffset + c) * plane + nextOutput * outWidth
                    d.update(repeating: 0, count: outWidth)
                    held[c].withUnsafeBufferPointer { h in
                        taps.forEachTap(of: nextOutput) { row, w in
                            let s = h.baseAddress! + (row - heldFrom) * outWidth
                            for x in 0..<outWidth { d[x] += w * s[x] }
                        }
                    }
                }
                nextOutput += 1
            }
        }
        let keepFrom = nextOutput < taps.outLength ? taps.neededFrom[nextOutput] : received
        if keepFrom > heldFrom {
            for c in 0..<channels { held[c].removeFirst((keepFrom - heldFrom) * outWidth) }
            heldFrom = keepFrom
        }
    }
}
