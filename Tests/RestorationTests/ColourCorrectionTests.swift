import Foundation
import Imaging
import TestPhotos
import Testing
@testable import Restoration

/// The colour correction of the pipeline on its own.
@Suite struct ColourCorrectionTests {
    /// The correction itself: a colour cast and a bias near the edges added to a faithful upscale are
    /// taken out; detail finer than sigma is left alone; sigma 0 changes nothing.
    @Test func correctionRemovesACastAndKeepsDetail() throws {
        let lr = photo(width: 24, height: 20, channels: 3, seed: 5)
        let faithful = resize(lr, width: 96, height: 80, method: .matlabBicubic)
        var cast = faithful
        for c in 0..<3 {
            for i in 0..<faithful.pixelCount { cast.planes[c * faithful.pixelCount + i] += [0.04, -0.02, 0.03][c] }
        }
        var corrected = cast
        ColourCorrection(sigma: 2).apply(to: &corrected, channels: 0..<3, input: lr)
        #expect(psnr(cast.planes, faithful.planes) < 32)
        #expect(psnr(corrected.planes, faithful.planes) > 45, "\(psnr(corrected.planes, faithful.planes)) dB")
        var untouched = cast
        ColourCorrection(sigma: 0).apply(to: &untouched, channels: 0..<3, input: lr)
        #expect(untouched.planes == cast.planes)
    }
}
