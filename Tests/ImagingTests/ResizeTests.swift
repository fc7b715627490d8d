import Foundation
import Testing
@testable import Imaging

@Suite struct ResizeTests {
    @Test func matchesReferenceGoldens() throws {
        let goldens = try Goldens.load()
        #expect(goldens.resize.count >= 20)
        for c in goldens.resize {
            let method = try #require(ResizeMethod(rawValue: c.method))
            let input = try goldens.image(c.input)
            let out = resize(input, width: c.width, height: c.height, method: method)
            let expected = try Goldens.floats(c.file)
            #expect(out.width == c.width && out.height == c.height && out.channels == input.channels)
            let err = maxAbsDifference(out.planes, expected)
            #expect(err < 2e-6, "\(c.method) \(c.input) -> \(c.width)x\(c.height): max error \(err)")
        }
    }

    @Test(arguments: ResizeMethod.allCases)
    func constantImageStaysConstant(method: ResizeMethod) {
        let image = Image(width: 17, height: 9, channels: 2, value: 0.3)
        for (w, h) in [(4, 3), (40, 31), (17, 2), (5, 9)] {
            let out = resize(image, width: w, height: h, method: method)
            #expect(out.planes.allSatisfy { abs($0 - 0.3) < 1e-6 }, "\(method) to \(w)x\(h)")
        }
    }

    @Test(arguments: ResizeMethod.allCases)
    func sameSizeIsIdentity(method: ResizeMethod) {
        let image = Image(width: 5, height: 4, channels: 3, planes: (0..<60).map { Float($0) / 59 })
        #expect(TestImages.identical(resize(image, width: 5, height: 4, method: method), image))
    }

    @Test func matlabDownscaleKeepsMetadata() {
        var image = Image(width: 8, height: 8, channels: 1, value: 0.5, bitDepth: 16)
        image.iccProfile = [1, 2, 3]
        let out = resize(image, width: 2, height: 2, method: .matlabBicubic)
        #expect(out.bitDepth == 16 && out.iccProfile == [1, 2, 3])
    }

    /// A 512x512 RGB downscale by 4 (the speed is `savl bench-imaging`'s): the antialiased bicubic kernel is
    /// symmetric and sums to one, so away from the borders a linear ramp stays exactly the same ramp.
    @Test func downscaleOf512KeepsRamps() {
        let n = 512
        var planes = [Float](repeating: 0, count: 3 * n * n)
        for c in 0..<3 { for y in 0..<n { for x in 0..<n { planes[(c * n + y) * n + x] = Float(x + (c + 1) * y) / Float(4 * n) } } }
        let out = resize(Image(width: n, height: n, channels: 3, planes: planes), width: n / 4, height: n / 4, method: .matlabBicubic)
        #expect(out.width == n / 4 && out.height == n / 4)
        var worst: Float = 0
        for c in 0..<3 {
            for y in 4..<(n / 4 - 4) {
                for x in 4..<(n / 4 - 4) {
                    // Output pixel x covers input pixels 4x...4x+3: its centre is 4x + 1.5.
                    let expected = (Float(4 * x) + 1.5 + Float(c + 1) * (Float(4 * y) + 1.5)) / Float(4 * n)
                    worst = max(worst, abs(out.planes[(c * n / 4 + y) * n / 4 + x] - expected))
                }
            }
        }
        #expect(worst < 1e-5, "largest departure from the ramp: \(worst)")
    }
}
