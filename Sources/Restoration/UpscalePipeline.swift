import Foundation
import Imaging
import SAVL

/// How the alpha channel is upscaled.
public enum AlphaUpscaling: String, CaseIterable, Sendable {
    /// MATLAB bicubic, straight to the output size.
    case bicubic
    /// Through the network as a gray image.
    case network
}

/// What a pass of the pipeline is doing, for progress reports.
public enum UpscalePhase: String, Sendable {
    /// Pass 1: the encoder's image-wide statistics.
    case analysing
    /// Pass 2: the SR network, tile by tile.
    case upscaling
    /// The alpha channel through the network.
    case alpha
}

/// Upscales whole images with a `TiledSuperResolver`: colour through the network (gray replicated to RGB
/// and averaged back), alpha by bicubic or the network, then to the exact output size. Holds one
/// full-size float image (the output) plus a band of tile rows, whatever the input size.
public struct UpscalePipeline {
    /// The tiled network.
    public let resolver: TiledSuperResolver
    /// Tile side in LR pixels; nil picks the largest that fits `memoryBudget`; 0 is one tile.
    public let tile: Int?
    /// Overlap of neighbouring tiles in LR pixels.
    public let overlap: Int
    /// Bytes the network may use for one tile.
    public let memoryBudget: Int
    /// When set, an image's overlap is shrunk as far as needed for its tiles to cost at most this many
    /// times the compute of one whole-image pass (`TileCost`); nil keeps `overlap` whatever the cost.
    public var maxOverhead: Double?
    /// Keeps the output's local mean colours those of the input (`ColourCorrection`).
    public var colourCorrection: ColourCorrection

    /// A pipeline over `resolver`; see the properties.
    public init(resolver: TiledSuperResolver, tile: Int?, overlap: Int, memoryBudget: Int, maxOverhead: Double? = nil,
                colourCorrection: ColourCorrection = ColourCorrection(sigma: ColourCorrection.defaultSigma)) {
        self.resolver = resolver
        self.tile = tile
        self.overlap = overlap
        self.memoryBudget = memoryBudget
        self.maxOverhead = maxOverhead
        self.colourCorrection = colourCorrection
    }

    /// The default budget for the network's working memory per tile.
    public static let defaultMemoryBudgetMB = 640

    /// The tile side `tile == nil` picks: the largest multiple of 8 (or of the attention window) whose tile,
    /// with the mirrored margins of an edge tile, fits the budget, and at least the overlap plus 32.
    public var automaticTile: Int {
        let a = max(8, resolver.alignment)
        let side = Int(Double(memoryBudget / resolver.config.bytesPerTilePixel).squareRoot())
            - 2 * resolver.edgeMargin
        return max(side / a * a, (overlap + 32 + a - 1) / a * a)
    }

    /// The tile plan of an LR image.
    public func plan(width: Int, height: Int) -> TilePlan {
        let a = resolver.alignment
        let side = tile.map { $0 == 0 ? 0 : ($0 + a - 1) / a * a } ?? automaticTile
        func plan(_ overlap: Int) -> TilePlan {
            TilePlan(width: width, height: height, tile: side, overlap: overlap, radius: resolver.radius, alignment: a)
        }
        let full = plan(overlap)
        guard let maxOverhead, full.overhead > maxOverhead else { return full }
        return stride(from: overlap - 1, through: 0, by: -1).lazy.map(plan).first { $0.overhead <= maxOverhead } ?? plan(0)
    }

    /// Estimated peak memory in bytes for an image: input and output, the network's working set for the
    /// largest tile, the blending band, streaming resampling and the encoder's output buffers.
    public func memoryEstimate(width: Int, height: Int, channels: Int, outputWidth: Int, outputHeight: Int,
                        outputBytesPerSample: Int) -> Int {
        let s = resolver.scale
        let plan = self.plan(width: width, height: height)
        let (tw, th) = plan.largestTile
        let a = resolver.alignment, m = 2 * resolver.edgeMargin
        let padded = ((tw + m + a - 1) / a * a) * ((th + m + a - 1) / a * a)
        let network = padded * resolver.config.bytesPerTilePixel
        let images = 4 * width * height * (channels + 3) + 4 * outputWidth * outputHeight * channels
        let band = TileBlender.bytes(width: width * s, capacity: th * s)
        let resampling = (width * s, height * s) == (outputWidth, outputHeight) ? 0 : 4 * 3 * th * s * (width * s + 2 * outputWidth)
        let encoding = 2 * outputWidth * outputHeight * channels * outputBytesPerSample
        let correction = colourCorrection.isOn ? 4 * channels * (width * outputHeight + 3 * width * height) : 0
        let runtime = 64 << 20
        return network + images + band + resampling + encoding + correction + runtime
    }

    /// The upscaled image, `width` x `height`, with the input's channels, bit depth and ICC profile; an
    /// `oracle` model reads `oracleMaps` (see `TiledSuperResolver.superResolve`).
    public func run(_ input: Image, width: Int, height: Int, alpha: AlphaUpscaling, oracleMaps: Image? = nil,
             progress: (UpscalePhase, Int, Int) -> Void = { _, _, _ in }) throws -> Image {
        let colours = input.hasAlpha ? input.channels - 1 : input.channels
        let canvas = OutputCanvas(Image(width: width, height: height, channels: input.channels,
                                        planes: [Float](repeating: 0, count: width * height * input.channels),
                                        bitDepth: input.bitDepth, iccProfile: input.iccProfile))

        // A gray photo stored as RGB goes through as gray, as a gray file does: the network's colour
        // fringes on it (up to 18 levels with v2) average out and the output stays gray.
        let gray = colours == 1 || Self.isGray(input)
        try pass(Self.rgb(input, planes: gray ? [0, 0, 0] : [0, 1, 2]), into: canvas, at: 0,
                 map: gray ? .mean : .rgb, oracleMaps: oracleMaps, progress: progress)
        if colours == 3 && gray {
            let n = width * height
            canvas.image.planes.withUnsafeMutableBufferPointer { p in
                for c in 1...2 { (p.baseAddress! + c * n).update(from: p.baseAddress!, count: n) }
            }
        }
        if input.hasAlpha {
            let last = input.channels - 1
            switch alpha {
            case .network:
                try pass(Self.rgb(input, planes: [last, last, last]), into: canvas, at: last, map: .mean, oracleMaps: oracleMaps) { phase, done, total in
                    progress(phase == .upscaling ? .alpha : phase, done, total)
                }
            case .bicubic:
                let plane = Image(width: input.width, height: input.height, channels: 1,
                                  planes: Array(input.planes[(last * input.pixelCount)...]))
                let resized = resize(plane, width: width, height: height, method: .matlabBicubic)
                canvas.image.planes.withUnsafeMutableBufferPointer { dst in
                    for (i, v) in resized.planes.enumerated() { dst[last * width * height + i] = min(1, max(0, v)) }
                }
            }
        }
        // Once over every channel the network made (alpha too, when it went through the network): one
        // area downscale of the output, not one per pass.
        let networkChannels = colours + (input.hasAlpha && alpha == .network ? 1 : 0)
        colourCorrection.apply(to: &canvas.image, channels: 0..<networkChannels, input: input)
        return canvas.image
    }

    /// Whether an RGB(A) image's three colour planes are identical.
    public static func isGray(_ image: Image) -> Bool {
        let n = image.pixelCount
        guard image.channels - (image.hasAlpha ? 1 : 0) == 3 else { return false }
        return image.planes.withUnsafeBufferPointer { p in
            (0..<n).allSatisfy { p[$0] == p[n + $0] && p[$0] == p[2 * n + $0] }
        }
    }

    /// A 3-channel image made of the given planes of `image`.
    public static func rgb(_ image: Image, planes: [Int]) -> Image {
        let n = image.pixelCount
        var values: [Float] = []
        values.reserveCapacity(3 * n)
        for p in planes { values += image.planes[(p * n)..<((p + 1) * n)] }
        return Image(width: image.width, height: image.height, channels: 3, planes: values)
    }

    /// Runs both passes over a 3-channel LR image and writes the result into the canvas from channel `offset`.
    private func pass(_ source: Image, into canvas: OutputCanvas, at offset: Int, map: TileBlender.ChannelMap,
                      oracleMaps: Image?, progress: (UpscalePhase, Int, Int) -> Void) throws {
        let s = resolver.scale
        let plan = self.plan(width: source.width, height: source.height)
        let statistics = try resolver.statistics(of: source, plan: plan) { progress(.analysing, $0, $1) }
        let (nw, nh) = (source.width * s, source.height * s)
        let channels = map == .rgb ? 3 : 1
        let sink: RowSink = (nw, nh) == (canvas.image.width, canvas.image.height)
            ? CopySink(canvas: canvas, channelOffset: offset, channels: channels)
            : ResampleSink(canvas: canvas, channelOffset: offset, channels: channels, inWidth: nw, inHeight: nh)
        let blender = TileBlender(width: nw, height: nh, capacity: plan.largestTile.height * s, map: map, sink: sink)
        let rowWeights = plan.rows.weights(scale: s), columnWeights = plan.columns.weights(scale: s)
        for (k, tile) in plan.tiles.enumerated() {
            let (rows, columns) = (tile.rows, tile.columns)
            let out = try resolver.superResolve(source, rows: rows, columns: columns, statistics: statistics, oracleMaps: oracleMaps)
            blender.add(out.values, x: columns.lowerBound * s, y: rows.lowerBound * s, tileWidth: columns.count * s,
                        tileHeight: rows.count * s, rowWeights: rowWeights[tile.row], columnWeights: columnWeights[tile.column])
            progress(.upscaling, k + 1, plan.count)
            if tile.endsRow {
                let next = plan.rows.extents.indices.contains(tile.row + 1) ? plan.rows.extents[tile.row + 1].lowerBound * s : nh
                blender.flush(above: next)
            }
        }
    }
}

extension UpscalePipeline {
    /// The pipeline of `savl upscale` (and `savl serve`) for a loaded model: tiles of `tile` LR pixels (nil: the
    /// largest that fits `memoryBudget` bytes; 0: one tile) overlapping by `overlap` (nil: the default, shrunk
    /// where tiles would cost more than `TileCost.maxOverhead` times the compute; an explicit overlap is kept),
    /// and a colour correction over `colourCorrection` LR pixels (0: off).
    public init(upscaling loaded: UpscaleModels.Loaded, strength: Float, tile: Int? = nil, overlap: Int? = nil,
                memoryBudget: Int, colourCorrection: Float = ColourCorrection.defaultSigma) throws {
        let resolver = TiledSuperResolver(model: loaded.model, strength: strength, cleanCode: try loaded.cleanCode())
        self.init(resolver: resolver, tile: tile, overlap: overlap ?? TiledSuperResolver.defaultOverlap(loaded.model.config),
                  memoryBudget: memoryBudget, maxOverhead: overlap == nil ? TileCost.maxOverhead : nil,
                  colourCorrection: ColourCorrection(sigma: colourCorrection))
    }

    /// A loaded model's pipeline with automatic tiles and the default overlap (`savl inspect`, `savl eval`).
    public init(_ loaded: UpscaleModels.Loaded, strength: Float, memoryBudget: Int) throws {
        let resolver = TiledSuperResolver(model: loaded.model, strength: strength, cleanCode: try loaded.cleanCode())
        self.init(resolver: resolver, tile: nil, overlap: TiledSuperResolver.defaultOverlap(loaded.model.config),
                  memoryBudget: memoryBudget)
    }
}
