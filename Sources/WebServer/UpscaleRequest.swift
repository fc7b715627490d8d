import Foundation
import Imaging
import Restoration

/// What `POST /api/upscale` asks for, read from its query: `scale` (or `width` / `height`), `strength`,
/// `format`, `quality`, `alpha`, `depth` and `colour`, with the meaning and defaults of `savl upscale`'s
/// options of the same names; and `name`, a label for the result's file name.
public struct UpscaleRequest: Sendable, Equatable {
    /// Output size, alpha, depth, quality.
    public var options = UpscaleOptions()
    /// The restoration strength.
    public var strength: Float = 1
    /// The output format; nil: as the input (JPEG stays JPEG, PNG and BMP give PNG).
    public var format: ImageFormat?
    /// The colour correction's sigma in input pixels (0: off).
    public var colourCorrection = ColourCorrection.defaultSigma

    /// The query parameters understood.
    public static let parameters = ["scale", "width", "height", "strength", "format", "quality", "alpha", "depth", "colour", "name"]

    /// The `name` parameter, if given.
    public var name: String?

    /// Reads a query's parameters; an unknown name or a bad value is an error that names it.
    public init(query: [(String, String)]) throws {
        var seen = Set<String>()
        for (name, value) in query {
            guard Self.parameters.contains(name) else {
                throw RestorationError("unknown parameter '\(name)' (known: \(Self.parameters.joined(separator: ", ")))")
            }
            guard seen.insert(name).inserted else { throw RestorationError("parameter '\(name)' is given twice") }
            func number<T: LosslessStringConvertible>(_ type: T.Type) throws -> T {
                guard let n = T(value) else { throw RestorationError("\(name)=\(value) is not a number") }
                return n
            }
            switch name {
            case "scale": options.scale = try number(Double.self)
            case "width": options.width = try number(Int.self)
            case "height": options.height = try number(Int.self)
            case "strength": strength = try number(Float.self)
            case "quality": options.quality = try number(Int.self)
            case "colour": colourCorrection = try number(Float.self)
            case "name": self.name = value
            case "format":
                switch value.lowercased() {
                case "auto": format = nil
                case "png": format = .png
                case "jpg", "jpeg": format = .jpeg
                case "webp": format = .webp
                default: throw RestorationError("format=\(value): use png, jpg, webp or auto")
                }
            case "alpha":
                guard let alpha = AlphaUpscaling(rawValue: value) else { throw RestorationError("alpha=\(value): use bicubic or network") }
                options.alpha = alpha
            default:
                guard let depth = OutputBitDepth(rawValue: value) else { throw RestorationError("depth=\(value): use auto, 8 or 16") }
                options.bitDepth = depth
            }
        }
        if let problem = options.problem {
            // The options' messages name the command line's flags; here they are query parameters.
            throw RestorationError(problem.replacingOccurrences(of: "--", with: ""))
        }
        guard strength.isFinite, (0...10).contains(strength) else { throw RestorationError("strength must be in 0...10, not \(strength)") }
        guard (try? ColourCorrection.validate(colourCorrection)) != nil else {
            throw RestorationError("colour must be 0 (off) or a sigma up to 64 input pixels, not \(colourCorrection)")
        }
        if options.bitDepth == .sixteen, let format, !format.holdsSixteenBits {
            throw RestorationError("\(format == .jpeg ? "JPEG" : "WebP") is 8-bit only: use format=png with depth=16")
        }
    }

    /// The format of the output for an input of `bytes`.
    public func outputFormat(for bytes: [UInt8]) -> ImageFormat {
        format ?? ImageFormat(signatureOf: bytes) ?? .png
    }
}
