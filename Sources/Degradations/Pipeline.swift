import Foundation
import Imaging
import SeededRandom

/// An input the pipeline refuses before doing any work.
public enum DegradationError: Error, CustomStringConvertible, Equatable {
    /// The HR size is not a multiple of the scale.
    case notDivisible(width: Int, height: Int, scale: Int)
    /// The LR image would be smaller than `minimumLRSide` on some side.
    case tooSmall(width: Int, height: Int, scale: Int, minimum: Int)
    /// The scale is not a positive integer the pipeline supports.
    case badScale(Int)
    /// The image's size differs from the one the parameters were sampled for.
    case sizeMismatch(expected: String, actual: String)

    /// The message, naming sizes and what to do.
    public var description: String {
        switch self {
        case let .notDivisible(w, h, s):
            return "HR image is \(w)x\(h), not divisible by the scale \(s) (crop it to \(w / s * s)x\(h / s * s))"
        case let .tooSmall(w, h, s, m):
            return "HR image is \(w)x\(h): at scale \(s) its LR would be \(w / s)x\(h / s), smaller than the minimum \(m)x\(m) (HR at least \(m * s)x\(m * s))"
        case let .badScale(s): return "scale \(s) is not supported (use 1...8)"
        case let .sizeMismatch(e, a): return "image is \(a) but the parameters were sampled for \(e)"
        }
    }
}

/// Smallest LR side the pipeline accepts (its random resizes and kernels need a few pixels).
public let minimumLRSide = 8

/// Checks that a `width` x `height` HR image can be degraded by `scale`; throws `DegradationError`.
public func checkDegradable(width: Int, height: Int, scale: Int) throws {
    guard (1...8).contains(scale) else { throw DegradationError.badScale(scale) }
    guard width % scale == 0 && height % scale == 0 else { throw DegradationError.notDivisible(width: width, height: height, scale: scale) }
    guard width / scale >= minimumLRSide && height / scale >= minimumLRSide else {
        throw DegradationError.tooSmall(width: width, height: height, scale: scale, minimum: minimumLRSide)
    }
}

/// A degraded LR image with its ground-truth maps.
public struct DegradationResult: Sendable {
    /// The LR image, RGB or gray (alpha dropped), values on the 8-bit grid.
    public var lr: Image
    /// Per-pixel ground truth at LR resolution.
    public var maps: GroundTruthMaps
}

/// Applies `parameters` to `hr`: a pure function of the image, the parameters and the generator
/// (which only the noise steps consume). Alpha is dropped: colour channels are degraded.
///
/// ```swift
/// let sampler = try DegradationSampler(config: .preset(.realesrgan))
/// var rng = SeededGenerator(seed: 1)
/// let parameters = sampler.sample(hrWidth: hr.width, hrHeight: hr.height, scale: 4, using: &rng)
/// let result = try degrade(hr, parameters: parameters, generator: &rng)
/// ```
public func degrade(_ hr: Image, parameters p: DegradationParameters, generator rng: inout SeededGenerator) throws -> DegradationResult {
    guard hr.width == p.hrWidth && hr.height == p.hrHeight else {
        throw DegradationError.sizeMismatch(expected: "\(p.hrWidth)x\(p.hrHeight)", actual: "\(hr.width)x\(hr.height)")
    }
    try checkDegradable(width: hr.width, height: hr.height, scale: p.scale)
    let (lw, lh, aspect) = (p.lrWidth, p.lrHeight, p.aspect)
    var x = colourChannels(of: hr)
    // The profile rides along on the LR only; inside, every JPEG round trip would copy it.
    x.iccProfile = nil
    guard p.pipeline == .secondOrder, let first = p.first, let second = p.second, let final = p.final else {
        return DegradationResult(lr: quantized(resize(x, width: lw, height: lh, method: .matlabBicubic), profile: hr.iccProfile),
                                 maps: GroundTruthMaps(width: lw, height: lh))
    }

    // First order: sizes relative to the current image.
    x = try runStage(x, first, aspect: aspect, size: { w, h in (scaled(w, first.resize.factor), scaled(h, first.resize.factor)) }, &rng).image
    // Second order: sizes relative to the LR size.
    let secondRun = try runStage(x, second, aspect: aspect, size: { _, _ in (scaled(lw, second.resize.factor), scaled(lh, second.resize.factor)) }, &rng)
    x = secondRun.image

    func resizeAndSinc(_ image: Image) -> Image {
        let small = resize(image, width: lw, height: lh, method: final.mode.method)
        return final.sinc.map { filter(small, with: BlurKernel($0)) } ?? small
    }
    if final.jpegFirst {
        x = resizeAndSinc(try compress(x, final.jpeg, aspect: aspect))
    } else {
        x = try compress(resizeAndSinc(x), final.jpeg, aspect: aspect)
    }

    var maps = GroundTruthMaps(width: lw, height: lh)
    if let blur = first.blur {
        let widths = blur.levels.map { Float(BlurKernel($0).width) }
        let weights = blur.weights(width: lw, height: lh, aspect: aspect)
        maps.blurWidth = (0..<(lw * lh)).map { i in
            (0..<widths.count).reduce(Float(0)) { $0 + weights[$1][i] * widths[$1] * widths[$1] }.squareRoot()
        }
    } else {
        maps.blurWidth = [Float](repeating: 0, count: lw * lh)
    }
    let sigma = Image(width: secondRun.image.width, height: secondRun.image.height, channels: 1, planes: secondRun.noiseSigma)
    let shrinking = sigma.width >= lw
    maps.noiseSigma = resize(sigma, width: lw, height: lh, method: shrinking ? .area : .bilinear).planes
    let qualities = final.jpeg.levels.map(Float.init)
    let jpegWeights = final.jpeg.weights(width: lw, height: lh, aspect: aspect)
    maps.jpegQuality = (0..<(lw * lh)).map { i in (0..<qualities.count).reduce(Float(0)) { $0 + jpegWeights[$1][i] * qualities[$1] } }
    for mask in p.masks {
        let field = mask.evaluate(width: lw, height: lh, aspect: aspect)
        for i in field.indices where field[i] > 0.5 { maps.affected[i] = 1 }
    }
    return DegradationResult(lr: quantized(x, profile: hr.iccProfile), maps: maps)
}

/// Blur, resize, noise, JPEG; returns the image and the noise σ map at the noise step's resolution.
private func runStage(_ input: Image, _ s: StageParameters, aspect: Double, size: (Int, Int) -> (Int, Int),
                      _ rng: inout SeededGenerator) throws -> (image: Image, noiseSigma: [Float]) {
    var x = input
    if let blur = s.blur { x = blurred(x, blur, aspect: aspect) }
    let (w, h) = size(x.width, x.height)
    x = resize(x, width: w, height: h, method: s.resize.mode.method)
    let noisy = addNoise(x, s.noise, aspect: aspect, generator: &rng)
    x = try compress(noisy.image, .constant(s.jpegQuality), aspect: aspect)
    return (x, noisy.sigma)
}

/// Filters with each level's kernel and blends the results through the mask's weights.
func blurred(_ image: Image, _ blur: Varying<KernelParameters>, aspect: Double) -> Image {
    if blur.isConstant { return filter(image, with: BlurKernel(blur.base)) }
    let outputs = blur.levels.map { filter(image, with: BlurKernel($0)) }
    return blend(outputs, weights: blur.weights(width: image.width, height: image.height, aspect: aspect))
}

/// Clamps to [0, 1] and passes through JPEG at each level's quality, blending through the mask's weights.
func compress(_ image: Image, _ quality: Varying<Int>, aspect: Double) throws -> Image {
    var clamped = image
    clamped.planes = image.planes.map { min(1, max(0, $0)) }
    let outputs = try quality.levels.map { try JPEG.decode(JPEG.encode(clamped, quality: $0)) }
    if quality.isConstant { return outputs[0] }
    return blend(outputs, weights: quality.weights(width: image.width, height: image.height, aspect: aspect))
}

/// `Σ weights[l][pixel] · images[l]` per channel.
func blend(_ images: [Image], weights: [[Float]]) -> Image {
    var output = images[0]
    let n = output.pixelCount
    output.planes.withUnsafeMutableBufferPointer { out in
        for c in 0..<output.channels {
            let o = out.baseAddress! + c * n
            weights[0].withUnsafeBufferPointer { w in for i in 0..<n { o[i] *= w[i] } }
            for l in 1..<images.count {
                images[l].planes.withUnsafeBufferPointer { src in
                    weights[l].withUnsafeBufferPointer { w in
                        let s = src.baseAddress! + c * n
                        for i in 0..<n { o[i] += w[i] * s[i] }
                    }
                }
            }
        }
    }
    return output
}

/// Real-ESRGAN's output rounding: clamp to [0, 1] and round to the 8-bit grid.
func quantized(_ image: Image, profile: [UInt8]? = nil) -> Image {
    var out = image
    out.planes = image.planes.map { min(255, max(0, ($0 * 255).rounded(.toNearestOrEven))) / 255 }
    out.bitDepth = 8
    out.iccProfile = profile
    return out
}

/// The colour channels of `image` (alpha dropped), as 8-bit-origin data.
func colourChannels(of image: Image) -> Image {
    guard image.hasAlpha else { return image }
    let colour = image.channels - 1
    return Image(width: image.width, height: image.height, channels: colour,
                 planes: Array(image.planes[0..<(colour * image.pixelCount)]), bitDepth: image.bitDepth, iccProfile: image.iccProfile)
}

/// `Int(length · factor)` as PyTorch sizes an interpolation, at least 1.
@inline(__always)
func scaled(_ length: Int, _ factor: Double) -> Int { max(1, Int(Double(length) * factor)) }

extension InterpolationMode {
    /// The Imaging resampler that implements this mode.
    var method: ResizeMethod {
        switch self {
        case .area: return .area
        case .bilinear: return .bilinear
        case .bicubic: return .bicubic
        }
    }
}

extension DegradationSampler {
    /// One training pair: checks the size, samples parameters for `hr` and applies them, all from `rng`.
    ///
    /// ```swift
    /// let sampler = try DegradationSampler(config: .preset(.heterogeneous))
    /// var rng = SeededGenerator(seed: 0).fork(UInt64(workerIndex))
    /// let (parameters, pair) = try sampler.degrade(crop, scale: 4, using: &rng)
    /// ```
    public func degrade(_ hr: Image, scale: Int, using rng: inout SeededGenerator) throws
        -> (parameters: DegradationParameters, result: DegradationResult) {
        try checkDegradable(width: hr.width, height: hr.height, scale: scale)
        let parameters = sample(hrWidth: hr.width, hrHeight: hr.height, scale: scale, using: &rng)
        return (parameters, try Degradations.degrade(hr, parameters: parameters, generator: &rng))
    }
}
