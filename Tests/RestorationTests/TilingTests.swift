import Foundation
import Imaging
import Layers
import SAVL
import SeededRandom
import Tensors
import TestPhotos
import Testing
@testable import Restoration

/// Tiled inference: plans, blending weights, receptive radius, the whole pipeline against the whole-image
/// model, and streaming resampling, with tiny models.
@Suite struct TilingTests {
    @Test func tileWeightsSumToOneAndExactPlansKeepTheRadius() {
        for (length, tile, overlap, radius) in [(300, 64, 44, 14), (97, 40, 8, 14), (1000, 200, 60, 22), (50, 64, 20, 5)] {
            let axis = TileAxis(length: length, tile: tile, overlap: overlap, radius: radius)
            #expect(axis.extents.first?.lowerBound == 0 && axis.extents.last?.upperBound == length)
            for scale in [1, 4] {
                var total = [Float](repeating: 0, count: length * scale)
                for (e, w) in zip(axis.extents, axis.weights(scale: scale)) {
                    for (k, v) in w.enumerated() { total[e.lowerBound * scale + k] += v }
                }
                #expect(total.allSatisfy { abs($0 - 1) < 1e-6 }, "weights of \(length)/\(tile)/\(overlap) do not sum to 1")
            }
            #expect(axis.owned.map(\.count).reduce(0, +) == length)
            #expect(axis.isExact(radius: radius) == (axis.extents.count == 1 || overlap >= 2 * radius + 16))
        }
    }

    /// The receptive radius must cover every input pixel an output pixel depends on: perturb one LR pixel
    /// and look at how far a tile's output changes (with the image-wide severity statistics held fixed,
    /// as they are across the tiles of an image).
    @Test(arguments: [(SAVLConfig.CodeMode.variational, 4, SAVLConfig.Upsampler.progressive, 1), (.none, 2, .progressive, 1),
                      (.deterministic, 4, .progressive, 1), (.variational, 4, .direct, 1), (.variational, 4, .direct, 7)])
    func receptiveRadiusCoversTheNetwork(code: SAVLConfig.CodeMode, scale: Int, upsampler: SAVLConfig.Upsampler, codeWindow: Int) throws {
        var config = try SAVLConfig.preset("tiny", scale: scale)
        config.code = code
        config.upsampler = upsampler
        config.codeWindow = codeWindow
        var rng = SeededGenerator(seed: 5)
        let model = SAVLModel(config, rng: &rng)
        model.eval()
        let resolver = TiledSuperResolver(model: model, strength: 1, cleanCode: [Float](repeating: 0, count: config.latentDim))
        let statistics = TiledSuperResolver.Statistics(varianceMean: 0.8, varianceStd: 0.3)
        let side = 41, centre = 20
        var image = photo(width: side, height: side, channels: 3, seed: 2)
        let before = try resolver.superResolve(image, rows: 0..<side, columns: 0..<side, statistics: statistics).values
        image.planes[centre * side + centre] += 0.5
        let after = try resolver.superResolve(image, rows: 0..<side, columns: 0..<side, statistics: statistics).values
        let n = side * scale
        var reach = 0
        for c in 0..<3 {
            for y in 0..<n {
                for x in 0..<n where before[(c * n + y) * n + x] != after[(c * n + y) * n + x] {
                    reach = max(reach, abs(y / scale - centre), abs(x / scale - centre))
                }
            }
        }
        let radius = config.receptiveRadius
        #expect(reach <= radius && reach >= radius - 1, "changes reach \(reach) LR pixels; computed radius \(radius)")
    }

    /// The pipeline's blended tiles match the whole-image model; also for `global` codes, pooled over the
    /// whole image, smooth codes, averaged over a window, and attention, whose tiles sit on the window grid.
    @Test(arguments: ["variational", "global", "smooth", "high-pass", "attention"])
    func tilingMatchesTheWholeImageModel(variant: String) throws {
        var config = try SAVLConfig.preset("tiny")
        if variant == "global" { config.code = .global }
        if variant == "smooth" { config.codeWindow = 9 }
        if variant == "high-pass" { config.encoderHighPass = 7 }
        if variant == "attention" { config.blockKind = .attention }
        var rng = SeededGenerator(seed: 8)
        let model = SAVLModel(config, rng: &rng)
        model.eval()
        let input = photo(width: 70, height: 58, channels: 3, seed: 3)
        let resolver = TiledSuperResolver(model: model, strength: 1, cleanCode: [Float](repeating: 0, count: config.latentDim))
        let pipeline = UpscalePipeline(resolver: resolver, tile: 40, overlap: TiledSuperResolver.defaultOverlap(config), memoryBudget: 1 << 30,
                                       colourCorrection: ColourCorrection(sigma: 0))
        #expect(pipeline.plan(width: 70, height: 58).count >= 4)
        let tiled = try pipeline.run(input, width: 280, height: 232, alpha: .bicubic)
        let whole = try wholeImageOutput(model, input, margin: resolver.edgeMargin)
        #expect(psnr(tiled.planes, whole) > 50)
    }

    /// An oracle model's tiles read the maps at the pixels of their LR: the tiled pipeline matches the
    /// whole-image model on the mirrored image and maps; other maps give another output; no maps, an error.
    @Test func oracleTilesReadTheirMaps() throws {
        var config = try SAVLConfig.preset("tiny")
        config.code = .oracle
        config.latentDim = max(config.latentDim, SAVLConfig.oracleChannels)
        var rng = SeededGenerator(seed: 8)
        let model = SAVLModel(config, rng: &rng)
        model.eval()
        let (w, h) = (70, 58)
        let input = photo(width: w, height: h, channels: 3, seed: 3)
        let maps = photo(width: w, height: h, channels: SAVLConfig.oracleChannels, seed: 4)
        let resolver = TiledSuperResolver(model: model, strength: 1, cleanCode: [Float](repeating: 0, count: config.latentDim))
        let pipeline = UpscalePipeline(resolver: resolver, tile: 40, overlap: TiledSuperResolver.defaultOverlap(config), memoryBudget: 1 << 30,
                                       colourCorrection: ColourCorrection(sigma: 0))
        #expect(pipeline.plan(width: w, height: h).count >= 4)
        let tiled = try pipeline.run(input, width: 4 * w, height: 4 * h, alpha: .bicubic, oracleMaps: maps)

        let m = resolver.edgeMargin
        func mirrored(_ image: Image) -> Tensor {
            Tensor(shape: [1, image.channels, h + 2 * m, w + 2 * m],
                   values: image.croppedReflecting(x: -m, y: -m, width: w + 2 * m, height: h + 2 * m).planes)
        }
        let out = try GradMode.withoutGrad { try model(mirrored(input), maps: mirrored(maps)) }
        let whole = try out.sliced(axis: 2, (4 * m)..<(4 * (m + h))).sliced(axis: 3, (4 * m)..<(4 * (m + w))).values
        #expect(psnr(tiled.planes, whole) > 50)

        let clean = try pipeline.run(input, width: 4 * w, height: 4 * h, alpha: .bicubic,
                                     oracleMaps: Image(width: w, height: h, channels: SAVLConfig.oracleChannels, value: 0))
        #expect(zip(clean.planes, tiled.planes).map { abs($0 - $1) }.max()! > 1e-3, "the maps change the output")
        #expect(throws: SAVLError.self) { try pipeline.run(input, width: 4 * w, height: 4 * h, alpha: .bicubic) }
    }

    @Test func streamingResampleEqualsResizingTheWholeImage() {
        let native = photo(width: 64, height: 52, channels: 3, seed: 4)
        for (w, h) in [(40, 39), (150, 121), (64, 30), (7, 5)] {
            let canvas = OutputCanvas(Image(width: w, height: h, channels: 3, value: 0))
            let sink = ResampleSink(canvas: canvas, channelOffset: 0, channels: 3, inWidth: 64, inHeight: 52)
            var row = 0
            for count in [5, 1, 20, 26] {
                var rows: [Float] = []
                for c in 0..<3 {
                    let start = (c * 52 + row) * 64
                    rows += native.planes[start..<(start + count * 64)]
                }
                rows.withUnsafeBufferPointer { sink.consume($0.baseAddress!, count: count, planeStride: count * 64) }
                row += count
            }
            sink.finish()
            let expected = resize(native, width: w, height: h, method: .matlabBicubic)
            let error = zip(canvas.image.planes, expected.planes).map { abs($0 - $1) }.max() ?? 0
            #expect(error < 1e-5, "\(w)x\(h): max difference \(error)")
        }
    }
}
