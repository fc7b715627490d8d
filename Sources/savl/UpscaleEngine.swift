import Foundation
import Imaging
import SAVL
import Tensors

/// Runs a SAVL model over an image of any size in overlapping tiles, with the degradation code scaled by
/// a strength, so that the result matches running the model on the whole image with `edgeMargin` pixels
/// mirrored beyond its edges.
///
/// Two passes: the first runs the degradation encoder over the tiles to gather what a tile cannot see
/// on its own (the image-wide mean and spread of the posterior variance, which the severity map is
/// normalised by; or the pooled code of a `global`-code model); the second runs encoder and SR network
/// tile by tile with those statistics.
final class TiledSuperResolver {
    let model: SAVLModel
    /// The strength S: the code used is r_clean + S (mu - r_clean).
    let strength: Float
    /// r_clean, the code of a clean image (length d).
    let cleanCode: [Float]

    /// LR pixels mirrored in beyond the image's edges around every tile that touches them, rounded up to
    /// the window grid. The network's convolutions pad with zeros, which it otherwise reads as a dark frame:
    /// a band along the edges came out off by up to 20 levels on flat colours.
    let edgeMargin: Int

    init(model: SAVLModel, strength: Float, cleanCode: [Float], edgeMargin: Int? = nil) {
        precondition(cleanCode.count == model.config.latentDim, "clean code has \(cleanCode.count) values, not \(model.config.latentDim)")
        self.model = model
        self.strength = strength
        self.cleanCode = cleanCode
        let a = model.config.blockKind == .attention ? model.config.windowSize : 1
        self.edgeMargin = ((edgeMargin ?? Self.defaultEdgeMargin) + a - 1) / a * a
    }

    /// The default `edgeMargin`: 16 LR pixels.
    static let defaultEdgeMargin = 16

    var config: SAVLConfig { model.config }
    var scale: Int { config.scale }
    var radius: Int { Self.receptiveRadius(config) }
    /// Attention blocks partition the image into windows: tiles start on the window grid.
    var alignment: Int { config.blockKind == .attention ? config.windowSize : 1 }

    /// How far (in LR pixels) an output pixel's value can depend on input pixels. The SR network's head
    /// conv and the encoder both read the input, and every block reads both, so the wider of the two
    /// starts the path; then 3x3 convs add one each (the spatial gate of a guided conv block one more,
    /// an attention block a window less one), and convs after upsampling a fraction.
    static func receptiveRadius(_ c: SAVLConfig) -> Int {
        let input = max(1, c.code == .none ? 0 : c.encoderReceptiveField / 2)
        let perBlock = c.blockKind == .conv ? 2 + (c.code == .none ? 0 : 1) : c.windowSize - 1
        let body = c.groups * (c.blocksPerGroup * perBlock + 1) + 1 + (c.features > 64 ? 1 : 0)
        let progressive = (c.scale == 4 ? 1 + 0.5 : 1) + 1 / Double(c.scale)
        let upsampler = c.upsampler == .direct ? 1 : Int(progressive.rounded(.up))
        return input + body + upsampler
    }

    /// The default tile overlap: twice the radius plus a 16-pixel feather (exact blending) when that is
    /// at most 32 LR pixels, else 32. An output pixel's dependence on distant inputs decays fast: for
    /// the `small` preset (radius 38) an overlap of 32 gives tiled outputs within 7e-5 of the whole-image
    /// output (PSNR 114 dB), 16 within 3e-2 (61 dB); exactness would cost 2.5 times the compute.
    static func defaultOverlap(_ c: SAVLConfig) -> Int {
        min(2 * receptiveRadius(c) + 16, 32)
    }

    /// Working memory of the network per LR pixel of a tile, in bytes. With a progressive upsampler the
    /// widest activations are those of the last upsampling conv and its pixel shuffle, with their layout
    /// reorders: for a `small`-sized network at x4 this gives 14.5 KB, against a measured growth of peak
    /// RSS with tile area of 12.9 KB. With a direct upsampler the body's activations are the peak: 1.6 KB
    /// for `small` at x4, measured 1.5 KB (tiles of 128 and 384 px on a 1000x1000 photo).
    static func bytesPerTilePixel(_ c: SAVLConfig) -> Int {
        let u = min(c.features, 64), s2 = c.scale * c.scale
        if c.upsampler == .direct {
            return 4 * (4 * c.features + 3 * c.encoderFeatures + 2 * c.latentDim + 2 * 3 * s2)
        }
        let upsampler = 3 * u * s2 + 2 * u * s2 / 4 * (c.scale == 4 ? 1 : 0) + 4 * 3 * s2
        let body = 10 * c.features + 6 * c.encoderFeatures + 4 * c.latentDim
        let attention = c.blockKind == .attention ? c.heads * c.windowSize * c.windowSize * 2 + 6 * c.mlpRatio * c.features : 0
        return 4 * (upsampler + body + attention)
    }

    /// Statistics of the encoder over a whole image.
    struct Statistics {
        /// Mean and standard deviation of the per-pixel posterior variance averaged over code channels.
        var varianceMean: Float = 0, varianceStd: Float = 1
        /// The pooled posterior mean of a `global`-code model, (1, d, 1, 1).
        var globalMean: Tensor?
    }

    /// The input (1, 3, h, w) of a tile of a 3-channel image: the tile, with `edgeMargin` mirrored pixels
    /// on each side where it touches the image's edge, padded at the bottom and right to the window grid;
    /// and where the tile's first pixel lies in it.
    private func tensor(_ image: Image, _ rows: Range<Int>, _ columns: Range<Int>) throws -> (x: Tensor, top: Int, left: Int) {
        let m = edgeMargin
        let top = rows.lowerBound == 0 ? m : 0, bottom = rows.upperBound == image.height ? m : 0
        let left = columns.lowerBound == 0 ? m : 0, right = columns.upperBound == image.width ? m : 0
        let (h, w) = (top + rows.count + bottom, left + columns.count + right)
        let crop = image.croppedReflecting(x: columns.lowerBound - left, y: rows.lowerBound - top, width: w, height: h)
        let x = Tensor(shape: [1, 3, h, w], values: crop.planes)
        let a = alignment
        let (ph, pw) = ((a - h % a) % a, (a - w % a) % a)
        return (ph + pw == 0 ? x : try x.padded2d(top: 0, bottom: ph, left: 0, right: pw), top, left)
    }

    /// Pass 1: the encoder's image-wide statistics. `progress(done, total)` is called after each tile.
    func statistics(of image: Image, plan: TilePlan, progress: (Int, Int) -> Void = { _, _ in }) throws -> Statistics {
        guard let encoder = model.encoder, config.code == .variational || config.code == .global else { return Statistics() }
        let global = config.code == .global
        let d = config.latentDim
        var sums = [Double](repeating: 0, count: global ? d : 2)
        var done = 0
        try GradMode.withoutGrad {
            for (rows, ownedRows) in zip(plan.rows.extents, plan.rows.owned) {
                for (columns, ownedColumns) in zip(plan.columns.extents, plan.columns.owned) {
                    let (x, top, left) = try tensor(image, rows, columns)
                    let (h, w) = (x.shape[2], x.shape[3])
                    let values: [Float]
                    if global {
                        values = try encoderFeatures(encoder, x).values  // (1, 2d, h, w): mu, then log sigma^2
                    } else {
                        values = try exp(encoder(x).logVariance!).mean(axes: [1], keepDims: true).values
                    }
                    for c in 0..<(global ? d : 1) {
                        for y in ownedRows {
                            let base = (c * h + y - rows.lowerBound + top) * w - columns.lowerBound + left
                            for column in ownedColumns {
                                let v = Double(values[base + column])
                                if global { sums[c] += v } else { sums[0] += v; sums[1] += v * v }
                            }
                        }
                    }
                    done += 1
                    progress(done, plan.count)
                }
            }
        }
        let n = Double(image.pixelCount)
        if global {
            // Only the mean is needed: a global code has no spatial severity map.
            return Statistics(globalMean: Tensor(shape: [1, d, 1, 1], values: sums[0..<d].map { Float($0 / n) }))
        }
        let mean = sums[0] / n
        return Statistics(varianceMean: Float(mean), varianceStd: Float((max(0, sums[1] / n - mean * mean) + 1e-6).squareRoot()))
    }

    /// The encoder's output before pooling (what a `global`-code encoder averages over pixels).
    private func encoderFeatures(_ encoder: DegradationEncoder, _ x: Tensor) throws -> Tensor {
        var h = try leakyRelu(encoder.head(x), slope: 0.1)
        for block in encoder.body { h = try block(h) }
        return try encoder.out(h)
    }

    /// Pass 2 for one tile: the SR output (1, 3, h s, w s) of the tile at `rows` x `columns`.
    func superResolve(_ image: Image, rows: Range<Int>, columns: Range<Int>, statistics: Statistics) throws -> Tensor {
        try GradMode.withoutGrad {
            let (x, top, left) = try tensor(image, rows, columns)
            var guidance = Guidance(mean: nil, severity: nil)
            if let encoder = model.encoder {
                let (h, w) = (x.shape[2], x.shape[3])
                if let globalMean = statistics.globalMean {
                    guidance.mean = try strengthened(globalMean)
                    guidance.severity = Tensor.zeros([1, 1, h, w])
                } else {
                    let posterior = try encoder(x)
                    guidance.mean = try strengthened(posterior.mean)
                    if let logVariance = posterior.logVariance {
                        let variance = try exp(logVariance).mean(axes: [1], keepDims: true)
                        guidance.severity = try (variance - statistics.varianceMean) * (-1 / statistics.varianceStd)
                    } else {
                        guidance.severity = Tensor.zeros([1, 1, h, w])
                    }
                }
            }
            let out = try model.sr(x, guidance)
            let (oh, ow) = (rows.count * scale, columns.count * scale)
            guard out.shape[2] != oh || out.shape[3] != ow else { return out }
            let (y0, x0) = (top * scale, left * scale)
            return try out.sliced(axis: 2, y0..<(y0 + oh)).sliced(axis: 3, x0..<(x0 + ow))
        }
    }

    /// r_clean + S (mu - r_clean).
    private func strengthened(_ mean: Tensor) throws -> Tensor {
        guard strength != 1 else { return mean }
        let clean = Tensor(shape: [1, cleanCode.count, 1, 1], values: cleanCode.map { $0 * (1 - strength) })
        return try mean * strength + clean
    }
}
