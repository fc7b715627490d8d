import Foundation

/// Everything one `savl eval` run measured, as written to `--json`.
public struct BenchmarkReport: Codable, Sendable {
    /// The upscaling factor.
    public var scale: Int
    /// The upscaler's name.
    public var method: String
    /// The channel the metrics compared.
    public var channel: MetricChannel
    /// Pixels ignored at each edge.
    public var border: Int
    /// One report per folder, in the order given.
    public var sets: [SetReport]

    public init(scale: Int, method: String, channel: MetricChannel, border: Int, sets: [SetReport]) {
        self.scale = scale
        self.method = method
        self.channel = channel
        self.border = border
        self.sets = sets
    }

    /// Every failure of every set.
    public var failures: [EvalFailure] { sets.flatMap(\.failures) }

    /// JSON with sorted keys; an infinite PSNR (identical images) is written as the string "inf".
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }

    /// A plain-text table: one block per set (its images, then the mean), then a summary of the
    /// means when there are several sets. Beside the report's channel it shows the RGB PSNR and the mean
    /// colour shift (R/G/B, 8-bit levels), so a colour cast cannot hide behind Y-PSNR.
    public func table() -> String {
        var lines: [String] = []
        let nameWidth = max(12, (sets.flatMap { $0.images.map(\.name.count) } + sets.map(\.name.count)).max() ?? 0)
        func row(_ name: String, _ size: String, _ psnr: String, _ ssim: String, _ rgb: String, _ shift: String) -> String {
            name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  "
                + size.leftPadded(11) + "  " + psnr.leftPadded(9) + "  " + ssim.leftPadded(7) + "  " + rgb.leftPadded(8)
                + "  " + shift.leftPadded(17)
        }
        func ssimText(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "-" }
        let header = row("image", "size", "PSNR (dB)", "SSIM", "RGB PSNR", "shift R/G/B")
        for set in sets {
            lines.append("\(set.name)  x\(scale)  \(method)  (\(channel == .y ? "Y" : "RGB"), border \(border))")
            lines.append(header)
            for s in set.images {
                lines.append(row(s.name, "\(s.width)x\(s.height)", formatPSNR(s.psnr), ssimText(s.ssim), formatPSNR(s.rgbPSNR),
                                 formatShift(s.meanShift)))
            }
            if !set.images.isEmpty {
                lines.append(row("mean (\(set.images.count))", "", set.meanPSNR.map(formatPSNR) ?? "-", ssimText(set.meanSSIM),
                                 set.meanRGBPSNR.map(formatPSNR) ?? "-", set.meanShift.map(formatShift) ?? "-"))
            }
            if !set.failures.isEmpty { lines.append("\(set.failures.count) failed") }
            lines.append("")
        }
        if sets.count > 1 {
            lines.append("summary  x\(scale)  \(method)")
            lines.append(header)
            for set in sets {
                lines.append(row(set.name, "\(set.images.count) images", set.meanPSNR.map(formatPSNR) ?? "-", ssimText(set.meanSSIM),
                                 set.meanRGBPSNR.map(formatPSNR) ?? "-", set.meanShift.map(formatShift) ?? "-"))
            }
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }

    private func formatShift(_ shift: [Double]) -> String {
        shift.map { String(format: "%+.1f", $0) }.joined(separator: "/")
    }

    private func formatPSNR(_ v: Double) -> String { v.isFinite ? String(format: "%.2f", v) : "inf" }
}

private extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
