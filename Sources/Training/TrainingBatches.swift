import Degradations
import Foundation
import Imaging
import SAVL
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
    /// Crop B of cross-content re-degradation, degraded like `lr` with other noise: made in stage 1 when
    /// `objective.crossContent` is on and the model has a likelihood decoder, else nil.
    public let partner: Partner?
    /// The ground-truth maps of `OracleMaps`, (N, `SAVLConfig.oracleChannels`, h, w): made for `oracle` models, else nil.
    public let maps: Tensor?
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
    private let config: TrainingConfig
    private let stream: SeededGenerator
    private let samplers: DegradationSamplers

    public init(photos: PhotoDataset, config: TrainingConfig) throws {
        self.photos = photos
        self.config = config
        batchSize = config.batchSize
        scale = config.model.scale
        data = config.data
        stream = SeededGenerator(seed: UInt64(config.seed)).fork(StreamKey.data)
        samplers = try DegradationSamplers()
    }

    /// Whether the batch of `step` carries crop B of cross-content re-degradation.
    func makesPartner(step: Int) -> Bool {
        let hasDecoder = config.model.code != .none && config.model.code != .oracle
        return config.objective.crossContent && hasDecoder && config.stage(ofStep: step) == 1
    }

    /// The batch of the 0-based `step`, or only its pairs `pairs` (a rank's shard of the global batch:
    /// pair i is the same whichever shard it is drawn in).
    public func batch(step: Int, pairs: Range<Int>? = nil) throws -> TrainingBatch {
        let pairs = pairs ?? 0..<batchSize, batchSize = pairs.count
        precondition(pairs.lowerBound >= 0 && pairs.upperBound <= self.batchSize, "pairs \(pairs) outside the batch of \(self.batchSize)")
        let crop = data.hrCropSize, lrSide = crop / scale
        let partnered = makesPartner(step: step), oracle = config.model.code == .oracle
        var lr = [Float](), hr = [Float](), content = [Float](), partnerLR = [Float](), partnerContent = [Float](), maps = [Float]()
        lr.reserveCapacity(batchSize * 3 * lrSide * lrSide)
        hr.reserveCapacity(batchSize * 3 * crop * crop)
        content.reserveCapacity(batchSize * 3 * lrSide * lrSide)
        let generator = stream.fork(UInt64(step))
        for i in pairs {
            let pair = try self.pair(using: generator.fork(UInt64(i)), partner: partnered)
            lr += pair.lr.planes
            hr += pair.hr.planes
            content += pair.content.planes
            if let partner = pair.partner {
                partnerLR += partner.lr.planes
                partnerContent += partner.content.planes
            }
            if oracle { maps += OracleMaps.planes(parameters: pair.parameters, maps: pair.maps) }
        }
        let lrShape = [batchSize, 3, lrSide, lrSide]
        return TrainingBatch(step: step, lr: Tensor(shape: lrShape, values: lr),
                             hr: Tensor(shape: [batchSize, 3, crop, crop], values: hr),
                             content: Tensor(shape: lrShape, values: content),
                             partner: partnered ? Partner(lr: Tensor(shape: lrShape, values: partnerLR),
                                                          content: Tensor(shape: lrShape, values: partnerContent)) : nil,
                             maps: oracle ? Tensor(shape: [batchSize, SAVLConfig.oracleChannels, lrSide, lrSide], values: maps) : nil)
    }

    /// One training pair drawn from `generator`: LR, HR, content, the degradation's parameters and maps,
    /// and with `partner` crop B (another crop, degraded by the same parameters with its own noise).
    func pair(using generator: SeededGenerator, partner: Bool = false) throws -> TrainingPair {
        var rng = generator
        let crop = data.hrCropSize
        let hr = randomCrop(&rng)
        let sampler = samplers.sampler(for: data.mix.preset(at: rng.uniformDouble()))
        let (parameters, degraded) = try sampler.degrade(hr, scale: scale, using: &rng)
        let content = resize(hr, width: crop / scale, height: crop / scale, method: .matlabBicubic)
        var pair = TrainingPair(lr: degraded.lr, hr: hr, content: content, parameters: parameters, maps: degraded.maps)
        guard partner else { return pair }
        // Drawn after A's degradation, so a run without partners makes the same A pairs.
        var partnerRNG = rng.fork(1)
        let hrB = randomCrop(&partnerRNG)
        let lrB = try degrade(hrB, parameters: parameters, generator: &partnerRNG).lr
        let contentB = resize(hrB, width: crop / scale, height: crop / scale, method: .matlabBicubic)
        pair.partner = (lrB, contentB)
        return pair
    }

    /// A random photo, crop position and symmetry.
    private func randomCrop(_ rng: inout SeededGenerator) -> Image {
        let crop = data.hrCropSize
        let index = rng.int(in: 0...(photos.photos.count - 1))
        let photo = photos.photos[index]
        let x = rng.int(in: 0...(photo.width - crop)), y = rng.int(in: 0...(photo.height - crop))
        let symmetry = SquareSymmetry(quarterTurns: data.rotations ? rng.int(in: 0...3) : 0,
                                      mirrored: data.flips ? rng.bernoulli(0.5) : false)
        return symmetry.apply(photos.crop(index, x: x, y: y, size: crop))
    }
}

/// One training pair and what it was made from.
struct TrainingPair {
    var lr: Image, hr: Image, content: Image
    /// The degradation applied to `hr`, and its ground-truth maps.
    var parameters: DegradationParameters
    var maps: GroundTruthMaps
    /// Crop B of cross-content re-degradation (LR and content), when asked for.
    var partner: (lr: Image, content: Image)?
}

/// The samplers of the degradation presets training and validation choose from.
struct DegradationSamplers: Sendable {
    private let samplers: [DegradationPreset: DegradationSampler]

    init() throws {
        var samplers: [DegradationPreset: DegradationSampler] = [:]
        for preset in DegradationPreset.allCases { samplers[preset] = try DegradationSampler(config: .preset(preset)) }
        self.samplers = samplers
    }

    /// The sampler of `preset`.
    func sampler(for preset: DegradationPreset) -> DegradationSampler { samplers[preset]! }
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
