import Foundation
import Imaging

/// Per-pixel ground truth at LR resolution: what the varying steps applied at each LR pixel.
///
/// All maps are row-major, `width * height` values. They describe exactly the steps that can vary:
/// the first-order blur, the second-order noise and the final JPEG (see `GroundTruthMaps.Kind`).
public struct GroundTruthMaps: Sendable, Equatable {
    /// The kinds of map, with their fixed value ranges (used to store them as 16-bit PNG).
    public enum Kind: String, CaseIterable, Codable, Sendable {
        /// Width of the first-order blur in HR pixels: `sqrt(Σ wₗ sₗ²)` over the kernels blended at the
        /// pixel with weights `wₗ`, where `sₗ = BlurKernel.width` is a kernel's RMS per-axis standard
        /// deviation (the second moment of the mixture). 0 where no blur ran.
        case blurWidth
        /// Standard deviation of the second-order noise on the 0-255 scale, before clamping
        /// (Poisson noise: from the local intensity). 0 where none was added.
        case noiseSigma
        /// Quality of the final JPEG, the blend weights' mean where qualities were mixed; 100 where no JPEG ran.
        case jpegQuality
        /// 1 where any soft mask exceeds 0.5 (the pixel is closer to a varying parameter's far level), else 0.
        case affected

        /// The values a 16-bit PNG's 0 and 65535 stand for; values outside are clamped.
        public var range: ClosedRange<Double> {
            switch self {
            case .blurWidth: return 0...10
            case .noiseSigma: return 0...64
            case .jpegQuality: return 0...100
            case .affected: return 0...1
            }
        }

        /// What the map's values are, for the parameters JSON.
        public var meaning: String {
            switch self {
            case .blurWidth: return "first-order blur width, RMS per-axis standard deviation of the applied kernel mixture, HR pixels"
            case .noiseSigma: return "second-order noise standard deviation, 0-255 scale, before clamping"
            case .jpegQuality: return "final JPEG quality (weighted mean where qualities were blended; 100 = no JPEG)"
            case .affected: return "1 where any soft mask exceeds 0.5, else 0"
            }
        }
    }

    /// LR width.
    public var width: Int
    /// LR height.
    public var height: Int
    /// See `Kind.blurWidth`.
    public var blurWidth: [Float]
    /// See `Kind.noiseSigma`.
    public var noiseSigma: [Float]
    /// See `Kind.jpegQuality`.
    public var jpegQuality: [Float]
    /// See `Kind.affected`.
    public var affected: [Float]

    /// Maps filled with one value each.
    public init(width: Int, height: Int, blurWidth: Float = 0, noiseSigma: Float = 0, jpegQuality: Float = 100, affected: Float = 0) {
        let n = width * height
        self.width = width
        self.height = height
        self.blurWidth = [Float](repeating: blurWidth, count: n)
        self.noiseSigma = [Float](repeating: noiseSigma, count: n)
        self.jpegQuality = [Float](repeating: jpegQuality, count: n)
        self.affected = [Float](repeating: affected, count: n)
    }

    /// The values of one map.
    public subscript(kind: Kind) -> [Float] {
        get {
            switch kind {
            case .blurWidth: return blurWidth
            case .noiseSigma: return noiseSigma
            case .jpegQuality: return jpegQuality
            case .affected: return affected
            }
        }
        set {
            switch kind {
            case .blurWidth: blurWidth = newValue
            case .noiseSigma: noiseSigma = newValue
            case .jpegQuality: jpegQuality = newValue
            case .affected: affected = newValue
            }
        }
    }

    /// One map as a gray 16-bit image whose [0, 1] spans `kind.range`, ready for a 16-bit PNG.
    public func image(_ kind: Kind) -> Image {
        let r = kind.range
        let lo = Float(r.lowerBound), span = Float(r.upperBound - r.lowerBound)
        return Image(width: width, height: height, channels: 1,
                     planes: self[kind].map { min(1, max(0, ($0 - lo) / span)) }, bitDepth: 16)
    }

    /// Reads a map back from an image written by `image(_:)` (to 1/65535 of its range).
    public static func values(of image: Image, kind: Kind) -> [Float] {
        let r = kind.range
        return image.planes[0..<image.pixelCount].map { Float(r.lowerBound) + $0 * Float(r.upperBound - r.lowerBound) }
    }
}
