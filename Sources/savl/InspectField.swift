import Foundation
import Imaging
import SAVL
import Tensors

/// The degradation field of an image as the encoder estimates it, summarised for pictures: the posterior
/// mean projected on its first three principal axes, and the posterior variance averaged over channels.
///
/// The encoder runs in tiles overlapping by more than its receptive field, each tile accounting for the
/// pixels it owns, so the maps equal those of the whole image; two passes (statistics, then projection)
/// keep memory at four planes of the input's size.
struct DegradationField {
    let width: Int, height: Int
    let config: SAVLConfig
    /// Per code channel: mean, minimum and maximum of mu over the image.
    private(set) var codeMean: [Double], codeMin: [Float], codeMax: [Float]
    /// Principal axes of mu, by decreasing variance.
    private(set) var axes: [(value: Double, vector: [Double])] = []
    /// mu projected on the first three axes, three planes.
    private(set) var projections: [Float]
    private(set) var projectionRanges: [ClosedRange<Float>] = []
    /// The posterior variance averaged over code channels, or nil when the code has no variance map.
    private(set) var variance: [Float]?
    private(set) var varianceRange: ClosedRange<Float> = 0...0
    private(set) var varianceMean: Double = 0

    init(model: SAVLModel, image: Image, memoryBudget: Int) throws {
        guard let encoder = model.encoder else { throw SAVLError("the model has no degradation encoder") }
        config = model.config
        width = image.width
        height = image.height
        let d = config.latentDim, pixels = image.pixelCount
        codeMean = [Double](repeating: 0, count: d)
        codeMin = [Float](repeating: .infinity, count: d)
        codeMax = [Float](repeating: -.infinity, count: d)
        projections = [Float](repeating: 0, count: 3 * pixels)

        if config.code == .global {
            // One code for the whole image, pooled over every pixel: a flat field.
            let resolver = TiledSuperResolver(model: model, strength: 1, cleanCode: [Float](repeating: 0, count: d))
            let plan = Self.plan(config, image, memoryBudget)
            let mean = try resolver.statistics(of: image, plan: plan).globalMean!.values
            codeMean = mean.map(Double.init)
            codeMin = mean
            codeMax = mean
            projectionRanges = Array(repeating: 0...0, count: 3)
            return
        }

        let plan = Self.plan(config, image, memoryBudget)
        let hasVariance = config.code == .variational
        // Covariance from at most about a million pixels (every step-th row and column).
        let step = max(1, Int((Double(pixels) / 1e6).squareRoot().rounded(.up)))
        var cross = [Double](repeating: 0, count: d * d)
        var sampled = 0
        var varianceSum = 0.0
        var low = Float.infinity, high = -Float.infinity
        try Self.forEachTile(encoder, image, plan) { mu, variance, y, x, at in
            let v = variance.map { $0[at] } ?? 0
            varianceSum += Double(v)
            low = min(low, v)
            high = max(high, v)
            let sample = y % step == 0 && x % step == 0
            var code = [Double](repeating: 0, count: d)
            for c in 0..<d {
                let value = mu(c, at)
                codeMin[c] = min(codeMin[c], value)
                codeMax[c] = max(codeMax[c], value)
                codeMean[c] += Double(value)
                code[c] = Double(value)
            }
            if sample {
                sampled += 1
                for i in 0..<d { for j in i..<d { cross[i * d + j] += code[i] * code[j] } }
            }
        }
        codeMean = codeMean.map { $0 / Double(pixels) }
        varianceMean = varianceSum / Double(pixels)
        varianceRange = hasVariance ? low...high : 0...0
        // Covariance about the sampled pixels' own mean would differ negligibly; the image mean is used.
        var covariance = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
        for i in 0..<d {
            for j in i..<d {
                let value = cross[i * d + j] / Double(sampled) - codeMean[i] * codeMean[j]
                covariance[i][j] = value
                covariance[j][i] = value
            }
        }
        axes = InspectRendering.eigen(covariance)

        var planes = [Float](repeating: 0, count: 3 * pixels)
        var varianceMap = hasVariance ? [Float](repeating: 0, count: pixels) : nil
        let (axes, mean) = (Array(axes.prefix(3)), codeMean)
        try Self.forEachTile(encoder, image, plan) { mu, variance, y, x, at in
            let pixel = y * image.width + x
            for (k, axis) in axes.enumerated() {
                var p = 0.0
                for c in 0..<d { p += axis.vector[c] * (Double(mu(c, at)) - mean[c]) }
                planes[k * pixels + pixel] = Float(p)
            }
            if let variance { varianceMap![pixel] = variance[at] }
        }
        projections = planes
        variance = varianceMap
        projectionRanges = (0..<3).map { k in
            guard k < axes.count else { return 0...0 }
            let plane = planes[(k * pixels)..<((k + 1) * pixels)]
            return plane.min()!...plane.max()!
        }
    }

    /// Tiles for the encoder alone: its working memory is a few planes of its features, and an overlap
    /// of its receptive field plus two makes every owned pixel exact.
    private static func plan(_ config: SAVLConfig, _ image: Image, _ memoryBudget: Int) -> TilePlan {
        let bytesPerPixel = 4 * (4 * config.encoderFeatures + 3 * config.latentDim + 8)
        let radius = config.encoderReceptiveField / 2
        let side = max(4 * radius + 16, Int(Double(memoryBudget / bytesPerPixel).squareRoot()) / 8 * 8)
        return TilePlan(width: image.width, height: image.height, tile: side, overlap: 2 * radius + 2, radius: radius)
    }

    /// Runs the encoder on every tile and calls `body(mu, variance, y, x, index)` for each pixel the tile
    /// owns: `mu(c, index)` is code channel c, `variance?[index]` the channel-averaged variance.
    private static func forEachTile(_ encoder: DegradationEncoder, _ image: Image, _ plan: TilePlan,
                                    _ body: ((Int, Int) -> Float, [Float]?, Int, Int, Int) -> Void) throws {
        try GradMode.withoutGrad {
            for (rows, ownedRows) in zip(plan.rows.extents, plan.rows.owned) {
                for (columns, ownedColumns) in zip(plan.columns.extents, plan.columns.owned) {
                    let crop = image.cropped(x: columns.lowerBound, y: rows.lowerBound, width: columns.count, height: rows.count)
                    let posterior = try encoder(Tensor(shape: [1, 3, rows.count, columns.count], values: crop.planes))
                    let mu = posterior.mean.values
                    let variance = try posterior.logVariance.map { try exp($0).mean(axes: [1], keepDims: false).values }
                    let plane = rows.count * columns.count
                    let code = { (c: Int, at: Int) in mu[c * plane + at] }
                    for y in ownedRows {
                        for x in ownedColumns {
                            body(code, variance, y, x, (y - rows.lowerBound) * columns.count + x - columns.lowerBound)
                        }
                    }
                }
            }
        }
    }

    /// The code picture: the three projections stretched to [0, 1] as RGB (0.5 where an axis is flat or missing).
    func codePicture() -> Image {
        let pixels = width * height
        var planes = [Float](repeating: 0.5, count: 3 * pixels)
        for k in 0..<3 where k < projectionRanges.count {
            let range = projectionRanges[k]
            guard range.upperBound > range.lowerBound else { continue }
            let span = range.upperBound - range.lowerBound
            for i in 0..<pixels { planes[k * pixels + i] = (projections[k * pixels + i] - range.lowerBound) / span }
        }
        return Image(width: width, height: height, channels: 3, planes: planes)
    }

    /// The JSON report: sizes, the model, value ranges and the principal axes.
    func report(image: String, model: String, files: [String: String]) -> [UInt8] {
        let total = axes.map(\.value).reduce(0, +)
        var fields: [String: Any] = [
            "image": image, "width": width, "height": height, "model": model,
            "code": ["mode": config.code.rawValue, "channels": config.latentDim,
                     "mean": codeMean, "min": codeMin.map(Double.init), "max": codeMax.map(Double.init)],
            "principalAxes": axes.prefix(3).enumerated().map { k, axis -> [String: Any] in
                ["variance": axis.value, "share": total > 0 ? axis.value / total : 0, "direction": axis.vector,
                 "min": Double(projectionRanges[k].lowerBound), "max": Double(projectionRanges[k].upperBound)]
            },
            "files": files,
        ]
        if variance != nil {
            fields["variance"] = ["min": Double(varianceRange.lowerBound), "max": Double(varianceRange.upperBound), "mean": varianceMean]
        }
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return [UInt8](data) + [10]
    }
}
