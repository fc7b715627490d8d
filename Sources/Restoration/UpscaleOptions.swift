import Foundation
import Imaging

/// A problem with an input or a request, in words that name what is wrong (and the file, when there is one).
public struct RestorationError: Error, CustomStringConvertible, Sendable {
    public var description: String

    /// An error with this message.
    public init(_ description: String) { self.description = description }
}

/// The PNG bit depth of an output.
public enum OutputBitDepth: String, CaseIterable, Sendable {
    /// The input's depth for PNG, 8 for JPEG.
    case auto
    case eight = "8"
    case sixteen = "16"
}

/// What is done to each image besides the network: the output's size, how alpha is upscaled, the
/// output's bit depth and JPEG quality. `savl upscale` and `savl serve` share it, so that both give the
/// same bytes for the same photo and options.
public struct UpscaleOptions: Sendable, Equatable {
    /// The output scale (nil: the network's native factor, unless a width or height is given).
    public var scale: Double?
    /// The output width and height; one of them alone keeps the aspect ratio.
    public var width: Int?, height: Int?
    /// How alpha is upscaled.
    public var alpha: AlphaUpscaling
    /// The PNG bit depth.
    public var bitDepth: OutputBitDepth
    /// JPEG quality, 1...100.
    public var quality: Int

    /// Options; the defaults are those of `savl upscale`.
    public init(scale: Double? = nil, width: Int? = nil, height: Int? = nil, alpha: AlphaUpscaling = .bicubic,
                bitDepth: OutputBitDepth = .auto, quality: Int = 95) {
        self.scale = scale
        self.width = width
        self.height = height
        self.alpha = alpha
        self.bitDepth = bitDepth
        self.quality = quality
    }

    /// The largest `scale` accepted.
    public static let maxScale = 32.0

    /// Why these options cannot be used, in the words of the command line's option names, or nil.
    public var problem: String? {
        if let scale, !(scale > 0 && scale <= Self.maxScale) { return "--scale must be in (0, \(Int(Self.maxScale))], not \(scale)" }
        if scale != nil && (width != nil || height != nil) { return "give --scale or --width/--height, not both" }
        if let width, width <= 0 { return "--width must be positive, not \(width)" }
        if let height, height <= 0 { return "--height must be positive, not \(height)" }
        guard (1...100).contains(quality) else { return "--quality must be in 1...100, not \(quality)" }
        return nil
    }

    /// The output size of a `w` x `h` input: width and height (one of them keeps the aspect ratio), the
    /// scale, or the network's `nativeScale`.
    public func outputSize(_ w: Int, _ h: Int, nativeScale: Int) -> (Int, Int) {
        func scaled(_ n: Int, _ f: Double) -> Int { max(1, Int((Double(n) * f).rounded())) }
        switch (width, height) {
        case let (width?, height?): return (width, height)
        case let (width?, nil): return (width, scaled(h, Double(width) / Double(w)))
        case let (nil, height?): return (scaled(w, Double(height) / Double(h)), height)
        case (nil, nil):
            let f = scale ?? Double(nativeScale)
            return (scaled(w, f), scaled(h, f))
        }
    }

    /// What `image` will become written as `format`: its size and depth. Throws, naming `name`, when the
    /// output would be over the pixel limit or cannot be stored in `format`.
    public func target(for image: Image, format: ImageFormat, nativeScale: Int, name: String) throws -> UpscaleTarget {
        let (width, height) = outputSize(image.width, image.height, nativeScale: nativeScale)
        let limit = ImageLimits.maxPixels
        guard width.multipliedReportingOverflow(by: height).partialValue <= limit, width <= 1_000_000, height <= 1_000_000 else {
            throw RestorationError("\(name): the output would be \(width)x\(height), over the limit of \(limit) pixels")
        }
        if format == .jpeg {
            if image.hasAlpha {
                throw RestorationError("\(name): has an alpha channel, which JPEG cannot store; use --format png")
            }
            guard width <= 65_535, height <= 65_535 else {
                throw RestorationError("\(name): a \(width)x\(height) output is too large for JPEG (65535 per side); use --format png")
            }
        }
        if format == .webp, width > WebP.maxSide || height > WebP.maxSide {
            throw RestorationError("\(name): a \(width)x\(height) output is too large for WebP (\(WebP.maxSide) per side); use --format png")
        }
        let depth: Int
        switch bitDepth {
        case .auto: depth = format == .png ? image.bitDepth : 8
        case .eight: depth = 8
        case .sixteen: depth = 16
        }
        return UpscaleTarget(image: image, width: width, height: height, bitDepth: depth)
    }
}

/// What one image will become.
public struct UpscaleTarget {
    /// The input.
    public var image: Image
    /// The output's size and bit depth.
    public var width: Int, height: Int, bitDepth: Int
}

extension UpscalePipeline {
    /// Upscales a target with `options` (alpha) and returns the output with the target's bit depth.
    public func run(_ target: UpscaleTarget, options: UpscaleOptions,
                    progress: (UpscalePhase, Int, Int) -> Void = { _, _, _ in }) throws -> Image {
        var result = try run(target.image, width: target.width, height: target.height, alpha: options.alpha, progress: progress)
        result.bitDepth = target.bitDepth
        return result
    }

    /// The file bytes of an output made by `run(_:options:)`, as `savl upscale` writes them.
    public static func encode(_ output: Image, format: ImageFormat, options: UpscaleOptions) throws -> [UInt8] {
        try encodeImage(output, format: format, quality: options.quality, bitDepth: format == .png ? output.bitDepth : nil)
    }
}
