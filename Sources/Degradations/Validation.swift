import Foundation

/// A configuration that cannot be run, with every problem found, each naming its field.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    /// One line per problem, e.g. `first.noise.grayProbability: 1.5 is not a probability in [0, 1]`.
    public var problems: [String]
    /// All problems, one a line.
    public var description: String {
        "invalid degradation configuration:\n" + problems.map { "  - " + $0 }.joined(separator: "\n")
    }
}

/// Collects problems under dotted field paths.
private struct Checker {
    var problems: [String] = []

    mutating func probability(_ value: Double, _ path: String) {
        if !(0...1).contains(value) { problems.append("\(path): \(value) is not a probability in [0, 1]") }
    }

    mutating func sumsToOne(_ values: [Double], _ path: String) {
        let total = values.reduce(0, +)
        if abs(total - 1) > 1e-6 { problems.append("\(path): probabilities sum to \(total), not 1") }
    }

    mutating func range(_ r: ClosedRange<Double>, within limits: ClosedRange<Double>, _ path: String) {
        if !r.lowerBound.isFinite || !r.upperBound.isFinite || !limits.contains(r.lowerBound) || !limits.contains(r.upperBound) {
            problems.append("\(path): [\(r.lowerBound), \(r.upperBound)] is not within [\(limits.lowerBound), \(limits.upperBound)]")
        }
    }

    mutating func range(_ r: ClosedRange<Int>, within limits: ClosedRange<Int>, _ path: String) {
        if !limits.contains(r.lowerBound) || !limits.contains(r.upperBound) {
            problems.append("\(path): [\(r.lowerBound), \(r.upperBound)] is not within [\(limits.lowerBound), \(limits.upperBound)]")
        }
    }

    mutating func oddSizes(_ r: ClosedRange<Int>, _ path: String) {
        range(r, within: 1...maxKernelSize, path)
        if !r.contains(where: { $0 % 2 == 1 }) { problems.append("\(path): [\(r.lowerBound), \(r.upperBound)] holds no odd size") }
    }

    mutating func nonEmpty<T>(_ list: [T], _ path: String) {
        if list.isEmpty { problems.append("\(path): needs at least one entry") }
    }

    mutating func require(_ condition: Bool, _ message: String) {
        if !condition { problems.append(message) }
    }
}

/// The largest kernel side the pipeline accepts (Real-ESRGAN pads every kernel to 21).
public let maxKernelSize = 21

extension DegradationConfig {
    /// Checks every probability and range; throws a `ConfigurationError` listing all problems.
    public func validate() throws {
        var c = Checker()
        if pipeline == .secondOrder {
            for (name, stage) in [("first", first), ("second", second)] {
                c.probability(stage.blurProbability, "\(name).blurProbability")
                check(stage.blur, "\(name).blur", &c)
                let r = stage.resize
                for (value, key) in [(r.up, "up"), (r.down, "down"), (r.keep, "keep")] { c.probability(value, "\(name).resize.\(key)") }
                c.sumsToOne([r.up, r.down, r.keep], "\(name).resize.up/down/keep")
                c.range(r.range, within: 0.01...16, "\(name).resize.range")
                c.require(r.range.contains(1), "\(name).resize.range: [\(r.range.lowerBound), \(r.range.upperBound)] must contain 1")
                c.nonEmpty(r.modes, "\(name).resize.modes")
                c.probability(stage.noise.gaussianProbability, "\(name).noise.gaussianProbability")
                c.probability(stage.noise.grayProbability, "\(name).noise.grayProbability")
                c.range(stage.noise.sigma, within: 0...255, "\(name).noise.sigma")
                c.range(stage.noise.poissonScale, within: 0...100, "\(name).noise.poissonScale")
                c.range(stage.jpegQuality, within: 1...100, "\(name).jpegQuality")
            }
            c.probability(final.sincProbability, "final.sincProbability")
            c.oddSizes(final.sincSizes, "final.sincSizes")
            c.range(final.sincCutoff, within: 0.01...Double.pi, "final.sincCutoff")
            c.probability(final.jpegFirstProbability, "final.jpegFirstProbability")
            c.nonEmpty(final.modes, "final.modes")
            c.range(final.jpegQuality, within: 1...100, "final.jpegQuality")
            if let h = heterogeneity { check(h, &c) }
        } else if heterogeneity != nil {
            c.problems.append("heterogeneity: only the secondOrder pipeline can vary over the image")
        }
        if !c.problems.isEmpty { throw ConfigurationError(problems: c.problems) }
    }

    private func check(_ blur: BlurConfig, _ path: String, _ c: inout Checker) {
        c.oddSizes(blur.sizes, "\(path).sizes")
        c.probability(blur.sincProbability, "\(path).sincProbability")
        let mix = blur.kinds.entries
        for (kind, p) in mix { c.probability(p, "\(path).kinds.\(kind.rawValue)") }
        c.sumsToOne(mix.map(\.1), "\(path).kinds")
        c.range(blur.sigma, within: 0.01...20, "\(path).sigma")
        c.range(blur.generalizedBeta, within: 0.05...20, "\(path).generalizedBeta")
        c.range(blur.plateauBeta, within: 0.05...20, "\(path).plateauBeta")
    }

    private func check(_ h: HeterogeneityConfig, _ c: inout Checker) {
        c.probability(h.blurProbability, "heterogeneity.blurProbability")
        c.probability(h.noiseProbability, "heterogeneity.noiseProbability")
        c.probability(h.jpegProbability, "heterogeneity.jpegProbability")
        c.range(h.minimumVarying...h.minimumVarying, within: 0...3, "heterogeneity.minimumVarying")
        c.range(h.levels, within: 2...8, "heterogeneity.levels")
        c.probability(h.contrast, "heterogeneity.contrast")
        c.probability(h.sharedMaskProbability, "heterogeneity.sharedMaskProbability")
        let m = h.masks
        for (value, key) in [(m.gradient, "gradient"), (m.blobs, "blobs"), (m.region, "region")] {
            c.probability(value, "heterogeneity.masks.\(key)")
        }
        c.sumsToOne([m.gradient, m.blobs, m.region], "heterogeneity.masks.gradient/blobs/region")
        c.range(m.gradientWidth, within: 0.001...10, "heterogeneity.masks.gradientWidth")
        c.range(m.blobCount, within: 1...16, "heterogeneity.masks.blobCount")
        c.range(m.blobSigma, within: 0.001...10, "heterogeneity.masks.blobSigma")
        c.range(m.regionRadius, within: 0.001...10, "heterogeneity.masks.regionRadius")
        c.range(m.feather, within: 0.001...10, "heterogeneity.masks.feather")
    }
}
