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

    /// A 512x512 RGB downscale by 4 should take a few milliseconds (optimised builds).
    @Test func downscaleIsFast() {
        let n = 512
        let image = Image(width: n, height: n, channels: 3, planes: (0..<(3 * n * n)).map { Float($0 % 251) / 250 })
        _ = resize(image, width: n / 4, height: n / 4, method: .matlabBicubic)
        let start = DispatchTime.now().uptimeNanoseconds
        let runs = 5
        for _ in 0..<runs { _ = resize(image, width: n / 4, height: n / 4, method: .matlabBicubic) }
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(runs)
        // Generous bound so that debug builds on a busy machine pass; the release figure is far lower.
        #expect(ms < 250, "512x512 RGB matlabBicubic /4 took \(ms) ms")
    }
}
