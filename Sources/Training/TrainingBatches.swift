import Degradations
import Foundation
import Imaging
import SeededRandom
import Tensors

/// The inputs of one training step.
public struct TrainingBatch: @unchecked Sendable {
    /// The 0-based step this batch is for.
    public let step: Int
    /// Degraded LR y, (N, 3, h, w).
    public let lr: Tensor
    /// HR target x, (N, 3, h s, w s).
    public let hr: Tensor
    /// Content z: the HR crop downscaled by MATLAB bicubic, (N, 3, h, w).
    public let content: Tensor
}

/// Makes the training batch of any step from the photos, as a pure function of (seed, step).
///
/// Pair `i` of step `k` draws everything from its own generator, `SeededGenerator(seed).fork(k).fork(i)`
/// (on a stream reserved for data): the photo, the crop position, the symmetry, which degradation, and
/// the degradation's parameters and noise. So batch `k` never depends on earlier batches, and the
/// position in the data after a resume is just the step.
///
/// ```swift
/// let builder = try BatchBuilder(photos: photos, config: config)
/// let batch = try builder.batch(step: 120)
/// ```
public struct BatchBuilder: Sendable {
    public let photos: PhotoDataset
    public let batchSize: Int
    public let scale: Int
    public let data: DataConfig
    private let stream: SeededGenerator
    private let samplers: DegradationSamplers

    public init(photos: PhotoDataset, config: TrainingConfig) throws {
        self.photos = photos
        batchSize = config.batchSize
        scale = config.model.scale
        data = config.data
        stream = SeededGenerator(seed: UInt64(config.seed)).fork(StreamKey.data)
        samplers = try DegradationSamplers()
    }

    /// The batch of the 0-based `step`.
    public func batch(step: Int) throws -> TrainingBatch {
        let crop = data.hrCropSize, lrSide = crop / scale
        var lr = [Float](), hr = [Float](), content = [Float]()
        lr.reserveCapacity(batchSize * 3 * lrSide * lrSide)
        hr.reserveCapacity(batchSize * 3 * crop * crop)
        content.reserveCapacity(batchSize * 3 * lrSide * lrSide)
        let generator = stream.fork(UInt64(step))
        for i in 0..<batchSize {
            let pair = try self.pair(using: generator.fork(UInt64(i)))
            lr += pair.lr.planes
            hr += pair.hr.planes
            content += pair.content.planes
        }
        return TrainingBatch(step: step,
                             lr: Tensor(shape: [batchSize, 3, lrSide, lrSide], values: lr),
                             hr: Tensor(shape: [batchSize, 3, crop, crop], values: hr),
                             content: Tensor(shape: [batchSize, 3, lrSide, lrSide], values: content))
    }

    /// One (LR, HR, content) triple drawn from `generator`.
    func pair(using generator: SeededGenerator) throws -> (lr: Image, hr: Image, content: Image) {
        var rng = generator
        let crop = data.hrCropSize
        let index = rng.int(in: 0...(photos.photos.count - 1))
        let photo = photos.photos[index]
        let x = rng.int(in: 0...(photo.width - crop)), y = rng.int(in: 0...(photo.height - crop))
        let symmetry = SquareSymmetry(quarterTurns: data.rotations ? rng.int(in: 0...3) : 0,
                                      mirrored: data.flips ? rng.bernoulli(0.5) : false)
        let hr = symmetry.apply(photos.crop(index, x: x, y: y, size: crop))
        let sampler = samplers.sampler(for: data.degradation, heterogeneousProbability: data.heterogeneousProbability, using: &rng)
        let (_, degraded) = try sampler.degrade(hr, scale: scale, using: &rng)
        let content = resize(hr, width: crop / scale, height: crop / scale, method: .matlabBicubic)
        return (degraded.lr, hr, content)
    }
}

/// The degradation presets training and validation choose from.
struct DegradationSamplers: Sendable {
    let bicubic: DegradationSampler
    let realesrgan: DegradationSampler
    let heterogeneous: DegradationSampler

    init() throws {
        bicubic = try DegradationSampler(config: .preset(.bicubic))
        realesrgan = try DegradationSampler(config: .preset(.realesrgan))
        heterogeneous = try DegradationSampler(config: .preset(.heterogeneous))
    }

    /// The sampler of `choice`; `mix` draws heterogeneous with the given probability from `rng`.
    func sampler(for choice: DegradationChoice, heterogeneousProbability: Double, using rng: inout SeededGenerator) -> DegradationSampler {
        switch choice {
        case .bicubic: return bicubic
        case .realesrgan: return realesrgan
        case .heterogeneous: return heterogeneous
        case .mix: return rng.bernoulli(heterogeneousProbability) ? heterogeneous : realesrgan
        }
    }
}

/// Keys of the independent random streams forked from the run's seed.
enum StreamKey {
    /// Initial weights.
    static let weights: UInt64 = 1
    /// Training batches (then forked by step and pair).
    static let data: UInt64 = 2
    /// The reparameterised samples of the posterior.
    static let posterior: UInt64 = 3
}
