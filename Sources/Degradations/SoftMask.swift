import Foundation

/// A smooth random field with values in [0, 1] over the image, defined in resolution-free coordinates
/// so that it can be evaluated at HR, at any intermediate size and at LR and agree.
///
/// Coordinates: a pixel centre `(x + 0.5) / width`, `(y + 0.5) / height` in [0, 1] is scaled by the
/// image's aspect ratio `a = width / height` to `X = u * sqrt(a)`, `Y = v / sqrt(a)`, so that blobs stay
/// round and lengths are in units of the geometric mean side.
public enum SoftMask: Codable, Equatable, Sendable {
    /// A soft step across the line through the image centre at `offset` along direction `angle`,
    /// rising from 0 to 1 over a band `width` wide (smoothstep).
    case linearGradient(angle: Double, offset: Double, width: Double)
    /// The soft union `1 - Π(1 - exp(-d² / 2σ²))` of Gaussian blobs.
    case gaussianBlobs([Blob])
    /// 1 inside a rotated ellipse, 0 outside, with a smoothstep edge about `feather` wide.
    case featheredEllipse(centerX: Double, centerY: Double, radiusX: Double, radiusY: Double, rotation: Double, feather: Double)
    /// 1 inside a rotated rectangle of half-sides `halfWidth`, `halfHeight`, with smoothstep edges `feather` wide.
    case featheredRectangle(centerX: Double, centerY: Double, halfWidth: Double, halfHeight: Double, rotation: Double, feather: Double)

    /// One Gaussian blob of a `gaussianBlobs` mask.
    public struct Blob: Codable, Equatable, Sendable {
        /// Centre, in the mask's aspect-scaled coordinates.
        public var centerX: Double
        public var centerY: Double
        /// Standard deviation, in units of the geometric mean side.
        public var sigma: Double
        /// Creates a blob.
        public init(centerX: Double, centerY: Double, sigma: Double) {
            self.centerX = centerX
            self.centerY = centerY
            self.sigma = sigma
        }
    }

    /// The field at every pixel centre of a `width` x `height` grid, row-major.
    ///
    /// - Parameter aspect: the width / height ratio of the HR image the mask was drawn for (the same field
    ///   at every resolution; intermediate sizes rounded by a resize do not shift it).
    public func evaluate(width: Int, height: Int, aspect: Double) -> [Float] {
        let sx = aspect.squareRoot(), sy = 1 / aspect.squareRoot()
        let xs = (0..<width).map { (Double($0) + 0.5) / Double(width) * sx }
        let ys = (0..<height).map { (Double($0) + 0.5) / Double(height) * sy }
        var out = [Float](repeating: 0, count: width * height)
        switch self {
        case let .linearGradient(angle, offset, band):
            let c = cos(angle), s = sin(angle)
            let cx = sx / 2, cy = sy / 2
            for j in 0..<height {
                for i in 0..<width {
                    let p = (xs[i] - cx) * c + (ys[j] - cy) * s
                    out[j * width + i] = Float(smoothstep((p - offset) / band + 0.5))
                }
            }
        case let .gaussianBlobs(blobs):
            // Each blob is separable: exp(-dx²/2σ²) exp(-dy²/2σ²), so only rows and columns need exp.
            for j in 0..<height * width { out[j] = 1 }
            for blob in blobs {
                let gx = xs.map { Float(exp(-($0 - blob.centerX) * ($0 - blob.centerX) / (2 * blob.sigma * blob.sigma))) }
                let gy = ys.map { Float(exp(-($0 - blob.centerY) * ($0 - blob.centerY) / (2 * blob.sigma * blob.sigma))) }
                for j in 0..<height {
                    for i in 0..<width { out[j * width + i] *= 1 - gy[j] * gx[i] }
                }
            }
            for j in 0..<height * width { out[j] = 1 - out[j] }
        case let .featheredEllipse(cx, cy, rx, ry, rotation, feather):
            let c = cos(rotation), s = sin(rotation)
            let meanRadius = (rx * ry).squareRoot()
            for j in 0..<height {
                for i in 0..<width {
                    let dx = xs[i] - cx, dy = ys[j] - cy
                    let u = (dx * c + dy * s) / rx, v = (-dx * s + dy * c) / ry
                    let rho = (u * u + v * v).squareRoot()
                    out[j * width + i] = Float(smoothstep((1 - rho) * meanRadius / feather + 0.5))
                }
            }
        case let .featheredRectangle(cx, cy, hw, hh, rotation, feather):
            let c = cos(rotation), s = sin(rotation)
            for j in 0..<height {
                for i in 0..<width {
                    let dx = xs[i] - cx, dy = ys[j] - cy
                    let u = abs(dx * c + dy * s), v = abs(-dx * s + dy * c)
                    let fu = smoothstep((hw - u) / feather + 0.5), fv = smoothstep((hh - v) / feather + 0.5)
                    out[j * width + i] = Float(fu * fv)
                }
            }
        }
        return out
    }
}

/// `3t² - 2t³` on t clamped to [0, 1].
@inline(__always)
func smoothstep(_ t: Double) -> Double {
    let c = min(1, max(0, t))
    return c * c * (3 - 2 * c)
}

/// A parameter that is either constant over the image or varies through a soft mask between a few levels.
///
/// Where the mask is 0 the parameter is `levels[0]`; where it is 1, `levels.last`; in between the mask
/// is spread evenly over the levels and neighbouring levels are mixed linearly. Numeric parameters whose
/// effect is linear (noise strength) are applied per pixel at the interpolated value; the others (blur
/// kernel, JPEG quality) are applied once per level and the outputs blended with the same weights.
public struct Varying<Value: Codable & Equatable & Sendable>: Codable, Equatable, Sendable {
    /// The values, from mask 0 to mask 1.
    public var levels: [Value]
    /// The field that selects between levels; nil when the parameter is constant.
    public var mask: SoftMask?

    /// Creates a varying parameter.
    public init(levels: [Value], mask: SoftMask?) {
        precondition(!levels.isEmpty, "a varying parameter needs at least one level")
        self.levels = levels
        self.mask = levels.count > 1 ? mask : nil
    }

    /// A parameter constant over the image.
    public static func constant(_ value: Value) -> Varying { Varying(levels: [value], mask: nil) }

    /// Whether the parameter is the same at every pixel.
    public var isConstant: Bool { mask == nil }

    /// The value where the mask is 0.
    public var base: Value { levels[0] }

    /// The weight of every level at each pixel of a `width` x `height` grid (one row-major array per level).
    public func weights(width: Int, height: Int, aspect: Double) -> [[Float]] {
        guard let mask else { return [[Float](repeating: 1, count: width * height)] }
        return Self.levelWeights(field: mask.evaluate(width: width, height: height, aspect: aspect), levels: levels.count)
    }

    /// Splits a field in [0, 1] into hat-function weights over `levels` evenly spaced levels.
    static func levelWeights(field: [Float], levels: Int) -> [[Float]] {
        var out = [[Float]](repeating: [Float](repeating: 0, count: field.count), count: levels)
        let span = Float(levels - 1)
        for (p, f) in field.enumerated() {
            let t = f * span
            let i = min(Int(t), levels - 2)
            let frac = t - Float(i)
            out[i][p] = 1 - frac
            out[i + 1][p] = frac
        }
        return out
    }
}

extension Varying where Value: BinaryFloatingPoint {
    /// The interpolated value at each pixel of a `width` x `height` grid.
    public func values(width: Int, height: Int, aspect: Double) -> [Float] {
        guard let mask else { return [Float](repeating: Float(levels[0]), count: width * height) }
        let span = Float(levels.count - 1)
        let l = levels.map { Float($0) }
        return mask.evaluate(width: width, height: height, aspect: aspect).map { f in
            let t = f * span
            let i = min(Int(t), l.count - 2)
            let frac = t - Float(i)
            return l[i] + frac * (l[i + 1] - l[i])
        }
    }
}
