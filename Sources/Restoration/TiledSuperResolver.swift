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
public final class TiledSuperResolver {
    /// The model.
    public let model: SAVLModel
    /// The strength S: the code used is r_clean + S (mu - r_clean).
    public let strength: Float
    /// r_clean, the code of a clean image (length d).
    public let cleanCode: [Float]

    /// LR pixels mirrored in beyond the image's edges around every tile that touches them, rounded up to
    /// the window grid. The network's convolutions pad with zeros, which it otherwise reads as a dark frame:
    /// a band along the edges came out off by up to 20 levels on flat colours.
    public let edgeMargin: Int

    /// A resolver for `model`; `edgeMargin` nil is `defaultEdgeMargin`.
    public init(model: SAVLModel, strength: Float, cleanCode: [Float], edgeMargin: Int? = nil) {
        precondition(cleanCode.count == model.config.latentDim, "clean code has \(cleanCode.count) values, not \(model.config.latentDim)")
        self.model = model
        self.strength = strength
        self.cleanCode = cleanCode
        let a = model.config.blockKind == .attention ? model.config.windowSize : 1
        self.edgeMargin = ((edgeMargin ?? Self.defaultEdgeMargin) + a - 1) / a * a
    }

    /// The default `edgeMargin`: 16 LR pixels.
    public static let defaultEdgeMargin = 16

    /// The model's configuration.
    public var config: SAVLConfig { model.config }
    /// The network's native scale factor.
    public var scale: Int { config.scale }
    /// The network's receptive radius in LR pixels.
    public var radius: Int { config.receptiveRadius }
    /// Attention blocks partition the image into windows: tiles start on the window grid.
    public var alignment: Int { config.blockKind == .attention ? config.windowSize : 1 }

    /// The default tile overlap: twice the radius plus a 16-pixel feather (exact blending) when that is
    /// at most 32 LR pixels, else 32. An output pixel's dependence on distant inputs decays fast: for
    /// the `small` preset (radius 38) an overlap of 32 gives tiled outputs within 7e-5 of the whole-image
    /// output (PSNR 114 dB), 16 within 3e-2 (61 dB); exactness would cost 2.5 times the compute.
    public static func defaultOverlap(_ c: SAVLConfig) -> Int {
        min(2 * c.receptiveRadius + 16, 32)
    }

    /// Statistics of the encoder over a whole image.
    public struct Statistics {
        /// Mean and standard deviation of the per-pixel posterior variance averaged over code channels.
        public var varianceMean: Float = 0, varianceStd: Float = 1
        /// The pooled posterior mean of a `global`-code model, (1, d, 1, 1).
        public var globalMean: Tensor?

        /// Statistics with the given values.
        public init(varianceMean: Float = 0, varianceStd: Float = 1, globalMean: Tensor? = nil) {
            self.varianceMean = varianceMean
            self.varianceStd = varianceStd
            self.globalMean = globalMean
        }
    }

    /// The input (1, c, h, w) of a tile of a c-channel image (the LR, or an oracle's maps): the tile, with
    /// `edgeMargin` mirrored pixels on each side where it touches the image's edge, padded at the bottom and
    /// right to the window grid; and where the tile's first pixel lies in it.
    private func tensor(_ image: Image, _ rows: Range<Int>, _ columns: Range<Int>) throws -> (x: Tensor, top: Int, left: Int) {
        let m = edgeMargin
        let top = rows.lowerBound == 0 ? m : 0, bottom = rows.upperBound == image.height ? m : 0
        let left = columns.lowerBound == 0 ? m : 0, right = columns.upperBound == image.width ? m : 0
        let (h, w) = (top + rows.count + bottom, left + columns.count + right)
        let crop = image.croppedReflecting(x: columns.lowerBound - left, y: rows.lowerBound - top, width: w, height: h)
        let x = Tensor(shape: [1, image.channels, h, w], values: crop.planes)
        let a = alignment
        let (ph, pw) = ((a - h % a) % a, (a - w % a) % a)
        return (ph + pw == 0 ? x : try x.padded2d(top: 0, bottom: ph, left: 0, right: pw), top, left)
    }

    /// The encoder's per-pixel posterior on one tile (a `global` code before pooling), read at the pixels
    /// the tile owns, in image coordinates.
    public struct EncodedTile {
        /// The tile.
        public let tile: Tile
        private let mean: [Float], level: [Float]?
        private let width: Int, plane: Int, top: Int, left: Int

        fileprivate init(tile: Tile, posterior: Posterior, top: Int, left: Int) throws {
            self.tile = tile
            mean = posterior.mean.values
            level = try posterior.varianceLevel()?.values
            (width, plane) = (posterior.mean.shape[3], posterior.mean.shape[2] * posterior.mean.shape[3])
            (self.top, self.left) = (top, left)
        }

        /// Where image pixel (y, x), owned by the tile, lies in its planes.
        public func index(y: Int, x: Int) -> Int {
            (y - tile.rows.lowerBound + top) * width + x - tile.columns.lowerBound + left
        }

        /// Code channel c of mu at `index`.
        public func mu(_ c: Int, at index: Int) -> Float { mean[c * plane + index] }

        /// The posterior variance averaged over code channels at `index`; nil for a deterministic code.
        public func varianceLevel(at index: Int) -> Float? { level?[index] }

        /// Whether the code has a variance.
        public var hasVariance: Bool { level != nil }
    }

    /// Runs the encoder over every tile of `plan`, in order, and hands each tile's posterior to `body`:
    /// the one tile loop of the encoder, which the image-wide statistics and the degradation field share.
    /// `progress(done, total)` is called after each tile.
    public func forEachEncodedTile(of image: Image, plan: TilePlan, progress: (Int, Int) -> Void = { _, _ in },
                                   _ body: (EncodedTile) throws -> Void) throws {
        guard let encoder = model.encoder else { throw SAVLError("the model has no degradation encoder") }
        try GradMode.withoutGrad {
            for (k, tile) in plan.tiles.enumerated() {
                let (x, top, left) = try tensor(image, tile.rows, tile.columns)
                try body(EncodedTile(tile: tile, posterior: encoder.perPixel(x), top: top, left: left))
                progress(k + 1, plan.count)
            }
        }
    }

    /// Pass 1: the encoder's image-wide statistics. `progress(done, total)` is called after each tile.
    public func statistics(of image: Image, plan: TilePlan, progress: (Int, Int) -> Void = { _, _ in }) throws -> Statistics {
        guard model.encoder != nil, config.code == .variational || config.code == .global else { return Statistics() }
        let global = config.code == .global
        let d = config.latentDim
        var sums = [Double](repeating: 0, count: global ? d : 2)
        try forEachEncodedTile(of: image, plan: plan, progress: progress) { encoded in
            let tile = encoded.tile
            for y in tile.ownedRows {
                for x in tile.ownedColumns {
                    let at = encoded.index(y: y, x: x)
                    if global {
                        for c in 0..<d { sums[c] += Double(encoded.mu(c, at: at)) }
                    } else {
                        let v = Double(encoded.varianceLevel(at: at)!)
                        sums[0] += v
                        sums[1] += v * v
                    }
                }
            }
        }
        let n = Double(image.pixelCount)
        if global {
            // Only the mean is needed: a global code has no spatial severity map.
            return Statistics(globalMean: Tensor(shape: [1, d, 1, 1], values: sums[0..<d].map { Float($0 / n) }))
        }
        let mean = sums[0] / n
        return Statistics(varianceMean: Float(mean), varianceStd: severityStd(mean: mean, meanSquare: sums[1] / n))
    }

    /// Pass 2 for one tile: the SR output (1, 3, h s, w s) of the tile at `rows` x `columns`. An `oracle`
    /// model reads `oracleMaps`, the image's ground-truth maps (`SAVLConfig.oracleChannels` planes, LR size).
    public func superResolve(_ image: Image, rows: Range<Int>, columns: Range<Int>, statistics: Statistics,
                             oracleMaps: Image? = nil) throws -> Tensor {
        try GradMode.withoutGrad {
            let (x, top, left) = try tensor(image, rows, columns)
            var guidance = Guidance(mean: nil, severity: nil)
            if config.code == .oracle {
                guard let oracleMaps, oracleMaps.channels == SAVLConfig.oracleChannels,
                      oracleMaps.width == image.width, oracleMaps.height == image.height else {
                    throw SAVLError("an oracle model reads \(SAVLConfig.oracleChannels) ground-truth maps of the LR image's size; none were given")
                }
                guidance = try Guidance.oracle(maps: tensor(oracleMaps, rows, columns).x, latentDim: config.latentDim)
            } else if let encoder = model.encoder {
                let (h, w) = (x.shape[2], x.shape[3])
                if let globalMean = statistics.globalMean {
                    guidance.mean = try strengthened(globalMean)
                    guidance.severity = Tensor.zeros([1, 1, h, w])
                } else {
                    let posterior = try encoder(x)
                    guidance.mean = try strengthened(posterior.mean)
                    if let level = try posterior.varianceLevel() {
                        guidance.severity = try severityMap(level: level, imageMean: statistics.varianceMean, imageStd: statistics.varianceStd)
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
