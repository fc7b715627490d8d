import Evaluation
import Foundation
import Imaging
import SAVL
import SeededRandom
import Tensors

/// PSNR and SSIM of one validation pass (Y of BT.601, border = scale), means over the images.
public struct ValidationScore: Codable, Equatable, Sendable {
    public var psnr: Double
    public var ssim: Double

    public init(psnr: Double, ssim: Double) {
        self.psnr = psnr
        self.ssim = ssim
    }
}

/// A small fixed validation set: centre crops of the first images of a folder, each degraded once
/// with a seeded generator, so every validation pass of every run scores the same inputs.
///
/// ```swift
/// let set = try ValidationSet(config: config.validation, scale: 4)
/// let score = try set.score { lr, maps in try model(lr, maps: maps) }
/// ```
public struct ValidationSet: @unchecked Sendable {
    /// One image: its LR input (1, 3, h, w), HR target, and the ground-truth maps of its degradation
    /// that an `oracle` model reads (`OracleMaps`, (1, `SAVLConfig.oracleChannels`, h, w)).
    public struct Item {
        public let name: String
        public let lr: Tensor
        public let hr: Image
        public let maps: Tensor
    }

    public let items: [Item]
    public let scale: Int
    /// The score of MATLAB bicubic upscaling of the same LR images: the floor a model must beat.
    public let bicubic: ValidationScore

    /// Loads and degrades the set. Images smaller than `8 * scale` px on a side are skipped; the crop
    /// is `config.hrCropSize`, or the largest multiple of the scale that fits.
    public init(config: ValidationConfig, scale: Int) throws {
        self.scale = scale
        let folder = URL(fileURLWithPath: config.folder)
        let files = try PhotoDataset.imageFiles(in: [folder])
        let samplers = try DegradationSamplers()
        var items: [Item] = []
        for file in files where items.count < config.images {
            let image: Image
            do {
                image = try readImage(at: file)
            } catch {
                throw DatasetError("validation image \(error)")
            }
            let side = min(config.hrCropSize, min(image.width, image.height) / scale * scale)
            guard side >= 8 * scale else { continue }
            let hr = image.rgb().quantized(bitDepth: 8).cropped(x: (image.width - side) / 2, y: (image.height - side) / 2, width: side, height: side)
            var rng = SeededGenerator(seed: UInt64(config.seed)).fork(UInt64(items.count))
            let (parameters, result) = try samplers.sampler(for: config.degradation).degrade(hr, scale: scale, using: &rng)
            let lr = result.lr
            let maps = OracleMaps.planes(parameters: parameters, maps: result.maps)
            items.append(Item(name: file.lastPathComponent, lr: Tensor(shape: [1, 3, lr.height, lr.width], values: lr.planes), hr: hr,
                              maps: Tensor(shape: [1, SAVLConfig.oracleChannels, lr.height, lr.width], values: maps)))
        }
        guard !items.isEmpty else {
            throw DatasetError("\(folder.path): no validation image of at least \(8 * scale)x\(8 * scale) px")
        }
        self.items = items
        bicubic = try Self.score(items, scale: scale) { lr, _ in
            let image = Image(width: lr.shape[3], height: lr.shape[2], channels: 3, planes: lr.values)
            let up = resize(image, width: image.width * scale, height: image.height * scale, method: .matlabBicubic)
            return Tensor(shape: [1, 3, up.height, up.width], values: up.planes)
        }
    }

    /// Scores `upscale` ((LR (1, 3, h, w), its maps) to SR (1, 3, h s, w s)), run without gradients.
    public func score(_ upscale: (Tensor, Tensor) throws -> Tensor) throws -> ValidationScore {
        try GradMode.withoutGrad { try Self.score(items, scale: scale, upscale) }
    }

    private static func score(_ items: [Item], scale: Int, _ upscale: (Tensor, Tensor) throws -> Tensor) throws -> ValidationScore {
        var totalPSNR = 0.0, totalSSIM = 0.0
        for item in items {
            let sr = try upscale(item.lr, item.maps)
            guard sr.shape == [1, 3, item.hr.height, item.hr.width] else {
                throw DatasetError("validation: \(item.name) upscaled to \(sr.shape), expected [1, 3, \(item.hr.height), \(item.hr.width)]")
            }
            let image = Image(width: item.hr.width, height: item.hr.height, channels: 3, planes: sr.values)
            totalPSNR += try psnr(image, item.hr, border: scale, channel: .y)
            totalSSIM += try ssim(image, item.hr, border: scale, channel: .y)
        }
        return ValidationScore(psnr: totalPSNR / Double(items.count), ssim: totalSSIM / Double(items.count))
    }
}
