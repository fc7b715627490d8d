import Foundation
import Imaging
import Testing
@testable import Training

@Suite struct PlotTests {
    /// Entries of a made-up run: a falling loss, stage 2 from step 60, validation every 20 steps.
    func entries() -> [LogEntry] {
        (1...100).map { step in
            let loss = 0.3 * exp(-Float(step) / 30) + 0.05
            var entry = LogEntry(step: step, stage: step <= 60 ? 1 : 2, loss: loss, srL1: loss * 0.7, reconstruction: 0.1, kl: 2,
                                 learningRate: 2e-4, gradientNorm: 0.5)
            if step % 20 == 0 {
                entry.validationPSNR = 22 + Double(step) / 50
                entry.bicubicPSNR = 22.5
            }
            return entry
        }
    }

    /// Pixels of `image` within 0.02 of `colour`.
    func count(_ colour: (Float, Float, Float), in image: Image) -> Int {
        let n = image.pixelCount
        return (0..<n).filter { i in
            abs(image.planes[i] - colour.0) < 0.02 && abs(image.planes[n + i] - colour.1) < 0.02 && abs(image.planes[2 * n + i] - colour.2) < 0.02
        }.count
    }

    @Test func drawsLossAndValidationCurves() throws {
        let image = TrainingPlot.render(entries: entries(), title: "test run", width: 640, height: 480)
        #expect(image.width == 640 && image.height == 480 && image.channels == 3)
        #expect(count(TrainingPlot.blue, in: image) > 300, "the smoothed loss")
        #expect(count(TrainingPlot.orange, in: image) > 300, "the SR L1")
        #expect(count(TrainingPlot.green, in: image) > 200, "the validation PSNR")
        #expect(count(TrainingPlot.grey, in: image) > 200, "bicubic and the stage change")
        // The loss falls: the smoothed curve is higher (smaller y) on the left of the top panel than on the right.
        func meanRow(of colour: (Float, Float, Float), columns: Range<Int>) -> Double {
            let n = image.pixelCount
            let rows = (0..<(image.height * 58 / 100)).flatMap { y in columns.compactMap { x -> Int? in
                let i = y * image.width + x
                return abs(image.planes[i] - colour.0) < 0.02 && abs(image.planes[n + i] - colour.1) < 0.02 && abs(image.planes[2 * n + i] - colour.2) < 0.02 ? y : nil
            } }
            return Double(rows.reduce(0, +)) / Double(max(rows.count, 1))
        }
        #expect(meanRow(of: TrainingPlot.blue, columns: 90..<150) < meanRow(of: TrainingPlot.blue, columns: 500..<600))
    }

    @Test func writesAPNGWithoutValidation() throws {
        let folder = try temporaryFolder("plot")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("training.png")
        try TrainingPlot.write(entries: entries().map { var e = $0; e.validationPSNR = nil; return e }, title: "no validation", to: url)
        let image = try readImage(at: url)
        #expect(image.width == 960 && image.height == 720)
        #expect(count(TrainingPlot.green, in: image) == 0)
    }
}
