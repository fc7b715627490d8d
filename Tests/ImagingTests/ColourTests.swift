import Foundation
import Testing
@testable import Imaging

@Suite struct ColourTests {
    @Test func matchesMatlabRgb2ycbcrGolden() throws {
        let goldens = try Goldens.load()
        let rgb = try goldens.image(goldens.ycbcr.input)
        let expected = try Goldens.floats(goldens.ycbcr.file)
        let ycc = rgbToYCbCr(rgb)
        #expect(maxAbsDifference(ycc.planes, expected) < 1e-6)
        #expect(maxAbsDifference(yCbCrToRGB(ycc).planes, rgb.planes) < 1e-6)
    }

    @Test func rangeEndpointsAreMatlabs() {
        let black = rgbToYCbCr(Image(width: 1, height: 1, channels: 3, value: 0))
        let white = rgbToYCbCr(Image(width: 1, height: 1, channels: 3, value: 1))
        #expect(abs(black.planes[0] * 255 - 16) < 1e-4 && abs(white.planes[0] * 255 - 235) < 1e-4)
        #expect(abs(white.planes[1] * 255 - 128) < 1e-3 && abs(white.planes[2] * 255 - 128) < 1e-3)
        let blue = rgbToYCbCr(Image(width: 1, height: 1, channels: 3, planes: [0, 0, 1]))
        #expect(abs(blue.planes[1] * 255 - 240) < 1e-4)
    }

    @Test func alphaIsCarried() {
        let rgba = TestImages.exact(width: 4, height: 3, channels: 4, bitDepth: 8)
        let ycc = rgbToYCbCr(rgba)
        #expect(ycc.channels == 4 && Array(ycc.planes[36...]) == Array(rgba.planes[36...]))
    }

    @Test func yChannelOfGrayIsTheGrayItself() {
        let gray = TestImages.exact(width: 5, height: 4, channels: 2, bitDepth: 8)
        let y = yChannel(gray)
        #expect(y.channels == 1 && y.planes == Array(gray.planes[0..<20]))
        let rgb = TestImages.exact(width: 5, height: 4, channels: 3, bitDepth: 8)
        #expect(maxAbsDifference(yChannel(rgb).planes, Array(rgbToYCbCr(rgb).planes[0..<20])) < 1e-7)
    }

    @Test func cropsRemovesAlphaAndQuantizes() {
        let image = Image(width: 4, height: 3, channels: 2, planes: (0..<24).map { Float($0) / 23 })
        let crop = image.cropped(x: 1, y: 1, width: 2, height: 2)
        #expect(crop.planes == [5, 6, 9, 10, 17, 18, 21, 22].map { Float($0) / 23 })
        #expect(image.removingAlpha().channels == 1 && image.removingAlpha().planes == Array(image.planes[0..<12]))
        let q = Image(width: 3, height: 1, channels: 1, planes: [-0.2, 0.5, 1.3]).quantized()
        #expect(q.planes == [0, 128 / 255, 1] && q.bitDepth == 8)
        #expect(q.planes8() == [0, 128, 255])
    }

    /// Outside the image, a reflecting crop mirrors about the edge pixels without repeating them (PyTorch's `reflect`).
    @Test func reflectingCropsMirrorAboutTheEdges() {
        let image = Image(width: 4, height: 3, channels: 1, planes: (0..<12).map { Float($0) })
        let crop = image.croppedReflecting(x: -2, y: -1, width: 8, height: 5)
        #expect(Array(crop.planes[0..<8]) == [6, 5, 4, 5, 6, 7, 6, 5])   // row -1 is row 1
        #expect(Array(crop.planes[8..<16]) == [2, 1, 0, 1, 2, 3, 2, 1])  // row 0
        #expect(Array(crop.planes[32..<40]) == [6, 5, 4, 5, 6, 7, 6, 5]) // row 3 is row 1
        #expect(image.croppedReflecting(x: 1, y: 1, width: 2, height: 2).planes == image.cropped(x: 1, y: 1, width: 2, height: 2).planes)
        #expect(reflectIndex(-1, 1) == 0 && reflectIndex(5, 4) == 1 && reflectIndex(-7, 4) == 1)
    }
}
