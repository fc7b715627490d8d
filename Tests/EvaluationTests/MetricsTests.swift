import Foundation
import Imaging
import Testing
@testable import Evaluation

/// The integer-defined pair of scripts/make_imaging_fixtures.py (`synthetic_pair`), as images.
func syntheticPair(width: Int, height: Int, channels: Int) -> (Image, Image) {
    var a = [Float](), b = [Float]()
    for c in 0..<channels {
        for y in 0..<height {
            for x in 0..<width {
                let va = (x * 37 + y * 91 + c * 53 + (x * y) % 17) % 256
                let noise = (x * 13 + y * 7 + c * 3 + (x * y) % 5) % 51 - 25
                a.append(Float(va) / 255)
                b.append(Float(min(255, max(0, va + noise))) / 255)
            }
        }
    }
    return (Image(width: width, height: height, channels: channels, planes: a),
            Image(width: width, height: height, channels: channels, planes: b))
}

@Suite struct MetricsTests {
    @Test(arguments: [3, 1])
    func matchesBasicSRDefinitions(channels: Int) throws {
        let (a, b) = syntheticPair(width: 40, height: 32, channels: channels)
        for border in [0, 4] {
            let golden = try #require(metricGoldens["y\(channels)c40x32b\(border)"])
            #expect(abs(try psnr(a, b, border: border, channel: .y) - golden.psnr) < 1e-9)
            #expect(abs(try ssim(a, b, border: border, channel: .y) - golden.ssim) < 1e-9)
        }
        let golden = try #require(metricGoldens["rgb\(channels)c40x32b2"])
        #expect(abs(try psnr(a, b, border: 2, channel: .rgb) - golden.psnr) < 1e-9)
        #expect(abs(try ssim(a, b, border: 2, channel: .rgb) - golden.ssim) < 1e-9)
    }

    @Test func identicalImagesArePerfect() throws {
        let (a, _) = syntheticPair(width: 20, height: 20, channels: 3)
        #expect(try psnr(a, a) == .infinity)
        #expect(abs(try ssim(a, a) - 1) < 1e-12)
    }

    @Test func valuesAreRoundedTo8BitsFirst() throws {
        let (a, b) = syntheticPair(width: 24, height: 24, channels: 3)
        var nudged = a
        nudged.planes = a.planes.map { $0 + 0.4 / 255 }  // rounds back to the same bytes
        #expect(try psnr(nudged, b) == (try psnr(a, b)))
        #expect(try ssim(nudged, b) == (try ssim(a, b)))
    }

    /// The mean shift is the SR image's mean minus the HR image's, per channel, in 8-bit levels, inside the border.
    @Test func meanShiftShowsAColourCast() throws {
        let hr = Image(width: 16, height: 16, channels: 3, planes: (0..<768).map { Float(20 + $0 % 200) / 255 })
        var sr = hr
        for i in 0..<256 { sr.planes[512 + i] += 6 / 255 }
        for i in 0..<256 { sr.planes[i] -= 3 / 255 }
        let shift = try meanShift(sr, hr, border: 4)
        #expect(abs(shift[0] + 3) < 1e-9 && shift[1] == 0 && abs(shift[2] - 6) < 1e-9, "\(shift)")
        #expect(try meanShift(hr, hr, border: 2) == [0, 0, 0])
    }

    @Test func alphaIsIgnored() throws {
        let (a, b) = syntheticPair(width: 16, height: 16, channels: 3)
        let alpha = [Float](repeating: 0.5, count: 256)
        let a4 = Image(width: 16, height: 16, channels: 4, planes: a.planes + alpha)
        #expect(try psnr(a4, b) == (try psnr(a, b)))
    }

    @Test func mismatchedOrTooSmallImagesThrow() {
        let (a, _) = syntheticPair(width: 16, height: 16, channels: 3)
        let (small, _) = syntheticPair(width: 15, height: 16, channels: 3)
        let (gray, _) = syntheticPair(width: 16, height: 16, channels: 1)
        #expect(throws: MetricError.self) { try psnr(a, small) }
        #expect(throws: MetricError.self) { try psnr(a, gray) }
        #expect(throws: MetricError.self) { try ssim(a, a, border: 3) }  // 10x10 left < 11
        #expect(throws: MetricError.self) { try psnr(a, a, border: 8) }
    }
}
