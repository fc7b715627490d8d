import Foundation
import Imaging
import SAVL
import SeededRandom
import Tensors
import TestPhotos
import Testing
@testable import Restoration

/// The degradation field of `savl inspect`: tiled against the whole-image encoder, the PCA and the drawing.
@Suite struct DegradationFieldTests {
    /// Tiles overlapping by more than the encoder's receptive field, each owning its pixels, give the maps
    /// of the whole image.
    @Test func tiledFieldMatchesTheWholeImageEncoder() throws {
        var rng = SeededGenerator(seed: 4)
        let model = SAVLModel(try .preset("tiny"), rng: &rng)
        model.eval()
        let image = photo(width: 90, height: 70, channels: 3, seed: 8)
        let tiled = try DegradationField(model: model, image: image, memoryBudget: 40 * 40 * 4 * (4 * 8 + 3 * 4 + 8))
        let posterior = try GradMode.withoutGrad { try model.encoder!(Tensor(shape: [1, 3, 70, 90], values: image.planes)) }
        let variance = try exp(posterior.logVariance!).mean(axes: [1]).values
        let mu = posterior.mean.values
        #expect(zip(try #require(tiled.variance), variance).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
        let n = image.pixelCount
        let firstAxis = tiled.axes[0].vector
        let projected = (0..<n).map { i in (0..<4).map { c in firstAxis[c] * (Double(mu[c * n + i]) - tiled.codeMean[c]) }.reduce(0, +) }
        #expect(zip(tiled.projections[0..<n], projected).allSatisfy { abs(Double($0) - $1) < 1e-4 })
        for c in 0..<4 {
            #expect(abs(tiled.codeMin[c] - mu[(c * n)..<((c + 1) * n)].min()!) < 1e-5)
        }
    }

    @Test func eigenFindsThePrincipalAxes() {
        // Eigenvalues 6, 3, 1 with known axes, rotated into a full matrix.
        let q: [[Double]] = [[2.0 / 3, -2.0 / 3, 1.0 / 3], [2.0 / 3, 1.0 / 3, -2.0 / 3], [1.0 / 3, 2.0 / 3, 2.0 / 3]]
        let values = [6.0, 3.0, 1.0]
        let matrix = (0..<3).map { i in (0..<3).map { j in (0..<3).map { k in q[i][k] * values[k] * q[j][k] }.reduce(0, +) } }
        let result = InspectRendering.eigen(matrix)
        for (k, pair) in result.enumerated() {
            #expect(abs(pair.value - values[k]) < 1e-9)
            let column = (0..<3).map { q[$0][k] }
            let dot = zip(pair.vector, column).map(*).reduce(0, +)
            #expect(abs(abs(dot) - 1) < 1e-9, "axis \(k) is off: \(pair.vector)")
            #expect(pair.vector.max(by: { abs($0) < abs($1) })! > 0)
        }
    }

    @Test func heatmapHasAColourBarWithLabels() {
        let (w, h) = (50, 120)
        let values = (0..<(w * h)).map { Float($0 % w) / Float(w - 1) * 0.5 + 0.25 }
        let map = InspectRendering.heatmap(values, width: w, height: h, low: 0.25, high: 0.75)
        func pixel(_ x: Int, _ y: Int) -> [Float] { (0..<3).map { map.planes[($0 * map.height + y) * map.width + x] } }
        func close(_ a: [Float], _ b: (Float, Float, Float)) -> Bool { abs(a[0] - b.0) + abs(a[1] - b.1) + abs(a[2] - b.2) < 0.02 }
        #expect(close(pixel(0, 10), InspectRendering.colour(0)) && close(pixel(w - 1, 10), InspectRendering.colour(1)))
        let barX = w + 8 + 7
        let (barTop, barBottom) = (3, 3 + (h - 7) - 1)  // half a label's height of margin above and below
        #expect(close(pixel(barX, barTop), InspectRendering.colour(1)) && close(pixel(barX, barBottom), InspectRendering.colour(0)))
        #expect(pixel(barX, barTop - 1) == [1, 1, 1] && pixel(barX, barBottom + 1) == [1, 1, 1])
        let labelColumns = (w + 8 + 14 + 6)..<map.width
        let ink = labelColumns.flatMap { x in (0..<map.height).map { y in pixel(x, y) } }.filter { $0 == [0, 0, 0] }.count
        #expect(ink > 5 * 10, "the five tick labels are missing")
        #expect(InspectRendering.label(0.5) == "0.5" && InspectRendering.label(1.25) == "1.25" && InspectRendering.label(0) == "0")
        #expect(InspectRendering.label(0.000123) == "1.23e-04" && InspectRendering.label(-2) == "-2")
    }

    @Test func globalCodesGiveAFlatField() throws {
        var rng = SeededGenerator(seed: 2)
        var config = try SAVLConfig.preset("tiny")
        config.code = .global
        let global = SAVLModel(config, rng: &rng)
        global.eval()
        let field = try DegradationField(model: global, image: photo(width: 30, height: 20, channels: 3, seed: 1), memoryBudget: 1 << 26)
        #expect(field.variance == nil && Set(field.codePicture().planes) == [0.5])
    }
}
