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
public struct DegradationField {
    /// The image's size.
    public let width: Int, height: Int
    /// The model's configuration.
    public let config: SAVLConfig
    /// Per code channel: mean, minimum and maximum of mu over the image.
    public private(set) var codeMean: [Double], codeMin: [Float], codeMax: [Float]
    /// Principal axes of mu, by decreasing variance.
    public private(set) var axes: [(value: Double, vector: [Double])] = []
    /// mu projected on the first three axes, three planes.
    public private(set) var projections: [Float]
    /// The range of each projection.
    public private(set) var projectionRanges: [ClosedRange<Float>] = []
    /// The posterior variance averaged over code channels, or nil when the code has no variance map.
    public private(set) var variance: [Float]?
    /// The range and mean of `variance`.
    public private(set) var varianceRange: ClosedRange<Float> = 0...0
    /// The mean of `variance` over the image.
    public private(set) var varianceMean: Double = 0

    /// The field of a 3-channel image; the encoder runs in tiles that fit `memoryBudget` bytes.
    public init(model: SAVLModel, image: Image, memoryBudget: Int) throws {
        guard model.encoder != nil else { throw SAVLError("the model has no degradation encoder") }
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

        // The encoder sees the photo as it is, its convolutions' zero padding included: no mirrored margin.
        let resolver = TiledSuperResolver(model: model, strength: 1, cleanCode: [Float](repeating: 0, count: d), edgeMargin: 0)
        let plan = Self.plan(config, image, memoryBudget)
        let hasVariance = config.code == .variational
        // Covariance from at most about a million pixels (every step-th row and column).
        let step = max(1, Int((Double(pixels) / 1e6).squareRoot().rounded(.up)))
        var cross = [Double](repeating: 0, count: d * d)
        var sampled = 0
        var varianceSum = 0.0
        var low = Float.infinity, high = -Float.infinity
        var code = [Double](repeating: 0, count: d)
        try Self.forEachOwnedPixel(resolver, image, plan) { encoded, y, x, at in
            let v = encoded.varianceLevel(at: at) ?? 0
            varianceSum += Double(v)
            low = min(low, v)
            high = max(high, v)
            for c in 0..<d {
                let value = encoded.mu(c, at: at)
                codeMin[c] = min(codeMin[c], value)
                codeMax[c] = max(codeMax[c], value)
                codeMean[c] += Double(value)
                code[c] = Double(value)
            }
            if y % step == 0 && x % step == 0 {
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
        try Self.forEachOwnedPixel(resolver, image, plan) { encoded, y, x, at in
            let pixel = y * image.width + x
            for (k, axis) in axes.enumerated() {
                var p = 0.0
                for c in 0..<d { p += axis.vector[c] * (Double(encoded.mu(c, at: at)) - mean[c]) }
                planes[k * pixels + pixel] = Float(p)
            }
            if let v = encoded.varianceLevel(at: at) { varianceMap![pixel] = v }
        }
        projections = planes
        variance = varianceMap
        projectionRanges = (0..<3).map { k in
            guard k < axes.count else { return 0...0 }
            let plane = planes[(k * pixels)..<((k + 1) * pixels)]
            return plane.min()!...plane.max()!
        }
    }

    /// The field of a photo (gray goes through as RGB, alpha is left out) under a loaded model; refuses a
    /// model without a degradation code.
    public static func of(photo: Image, model loaded: UpscaleModels.Loaded, memoryBudget: Int) throws -> DegradationField {
        guard loaded.model.config.code != .none else {
            throw RestorationError("\(loaded.source): this model has no degradation code (code 'none'); there is nothing to inspect")
        }
        let colours = photo.hasAlpha ? photo.channels - 1 : photo.channels
        let rgb = UpscalePipeline.rgb(photo, planes: colours == 1 ? [0, 0, 0] : [0, 1, 2])
        return try DegradationField(model: loaded.model, image: rgb, memoryBudget: memoryBudget)
    }

    /// Tiles for the encoder alone: its working memory is a few planes of its features, and an overlap
    /// of its receptive field plus two makes every owned pixel exact.
    private static func plan(_ config: SAVLConfig, _ image: Image, _ memoryBudget: Int) -> TilePlan {
        let radius = config.encoderReceptiveField / 2
        let side = max(4 * radius + 16, Int(Double(memoryBudget / config.encoderBytesPerPixel).squareRoot()) / 8 * 8)
        return TilePlan(width: image.width, height: image.height, tile: side, overlap: 2 * radius + 2, radius: radius)
    }

    /// Calls `body(tile, y, x, index)` for every pixel (y, x) of the image, with the encoded tile that owns it.
    private static func forEachOwnedPixel(_ resolver: TiledSuperResolver, _ image: Image, _ plan: TilePlan,
                                          _ body: (TiledSuperResolver.EncodedTile, Int, Int, Int) -> Void) throws {
        try resolver.forEachEncodedTile(of: image, plan: plan) { encoded in
            for y in encoded.tile.ownedRows {
                for x in encoded.tile.ownedColumns { body(encoded, y, x, encoded.index(y: y, x: x)) }
            }
        }
    }

    /// The code picture: the three projections stretched to [0, 1] as RGB (0.5 where an axis is flat or missing).
    public func codePicture() -> Image {
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

    /// The severity picture: the variance map as a heatmap with a colour bar; nil when the code has no variance.
    public func severityPicture() -> Image? {
        variance.map { InspectRendering.heatmap($0, width: width, height: height, low: varianceRange.lowerBound, high: varianceRange.upperBound) }
    }

    /// The input, the code picture and the severity picture (when there is one) side by side.
    public func sheet(input: Image) -> Image {
        InspectRendering.sheet([input, codePicture()] + (severityPicture().map { [$0] } ?? []))
    }

    /// The JSON report: sizes, the model, value ranges and the principal axes.
    public func report(image: String, model: String, files: [String: String]) -> [UInt8] {
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
