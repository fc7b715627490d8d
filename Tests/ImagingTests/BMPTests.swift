import Foundation
import Testing
@testable import Imaging

/// BMP files written byte by byte, as Windows' writers lay them out.
@Suite struct BMPTests {
    /// A BMP of `rows` (top row first, each row's bytes unpadded) with a 40-byte header, or `header` bytes of V4/V5.
    func bmp(width: Int, height: Int, bits: Int, rows: [[UInt8]], palette: [[UInt8]] = [], compression: UInt32 = 0,
             masks: [UInt32] = [], topDown: Bool = false, header: Int = 40) -> [UInt8] {
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
        func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
        let stride = (width * bits + 31) / 32 * 4
        var info: [UInt8] = le32(UInt32(header))
        info += le32(UInt32(width))
        info += le32(UInt32(bitPattern: Int32(topDown ? -height : height)))
        info += le16(1)
        info += le16(UInt16(bits))
        info += le32(compression)
        info += le32(UInt32(stride * height))
        info += le32(2835)
        info += le32(2835)
        info += le32(UInt32(palette.count))
        info += le32(0)
        var maskBytes: [UInt8] = []
        for mask in masks { maskBytes += le32(mask) }
        if header > 40 { info += maskBytes + [UInt8](repeating: 0, count: header - 40 - 4 * masks.count) }
        let extra: [UInt8] = header == 40 ? maskBytes : []
        var table: [UInt8] = []
        for entry in palette { table += [entry[2], entry[1], entry[0], 0] }
        let offset = 14 + info.count + extra.count + table.count
        var pixels: [UInt8] = []
        for row in (topDown ? rows : rows.reversed()) { pixels += row + [UInt8](repeating: 0, count: stride - row.count) }
        var file: [UInt8] = Array("BM".utf8)
        file += le32(UInt32(offset + pixels.count))
        file += le32(0)
        file += le32(UInt32(offset))
        file += info
        file += extra
        file += table
        file += pixels
        return file
    }

    func bytes(_ image: Image) -> [[UInt8]] {
        (0..<image.channels).map { c in image.planes[(c * image.pixelCount)..<((c + 1) * image.pixelCount)].map { UInt8(($0 * 255).rounded()) } }
    }

    @Test func twentyFourBitRowsArePaddedAndBottomUp() throws {
        // 3x2: top row red, green, blue; bottom row white, black, gray (BGR order in the file).
        let file = bmp(width: 3, height: 2, bits: 24, rows: [[0, 0, 255, 0, 255, 0, 255, 0, 0], [255, 255, 255, 0, 0, 0, 128, 128, 128]])
        let image = try decodeImage(file)
        #expect(image.width == 3 && image.height == 2 && image.channels == 3 && image.bitDepth == 8)
        #expect(bytes(image) == [[255, 0, 0, 255, 0, 128], [0, 255, 0, 255, 0, 128], [0, 0, 255, 255, 0, 128]])
    }

    @Test func thirtyTwoBitWithMasksAndAlphaTopDown() throws {
        let masks: [UInt32] = [0x00FF_0000, 0x0000_FF00, 0x0000_00FF, 0xFF00_0000]
        let file = bmp(width: 2, height: 1, bits: 32, rows: [[10, 20, 30, 255, 40, 50, 60, 0]], compression: 3, masks: masks, topDown: true, header: 108)
        let image = try BMP.decode(file)
        #expect(image.channels == 4 && bytes(image) == [[30, 60], [20, 50], [10, 40], [255, 0]])
        // An alpha byte that is zero everywhere is padding: RGB.
        let padded = try BMP.decode(bmp(width: 1, height: 1, bits: 32, rows: [[1, 2, 3, 0]]))
        #expect(padded.channels == 3 && bytes(padded) == [[3], [2], [1]])
    }

    @Test func palettesGiveGrayOrColour() throws {
        let grays = (0..<256).map { [UInt8($0), UInt8($0), UInt8($0)] }
        let gray = try BMP.decode(bmp(width: 3, height: 1, bits: 8, rows: [[0, 100, 255]], palette: grays))
        #expect(gray.channels == 1 && bytes(gray) == [[0, 100, 255]])
        let colour = try BMP.decode(bmp(width: 9, height: 1, bits: 1, rows: [[0b1010_0000, 0b1000_0000]], palette: [[0, 0, 0], [255, 0, 0]]))
        #expect(colour.channels == 3 && bytes(colour)[0] == [255, 0, 255, 0, 0, 0, 0, 0, 255])
    }

    @Test func damagedAndUnsupportedFilesSaySo() throws {
        let file = bmp(width: 4, height: 4, bits: 24, rows: [[UInt8]](repeating: [UInt8](repeating: 9, count: 12), count: 4))
        for length in [20, 40, 70] {
            let error = try #require(throws: ImageError.self) { try decodeImage(Array(file[..<length])) }
            #expect(error.reason.contains("truncated BMP") || error.reason.contains("damaged BMP"), "\(length): \(error.reason)")
        }
        let rle = try #require(throws: ImageError.self) { try BMP.decode(bmp(width: 1, height: 1, bits: 8, rows: [[0]], palette: [[0, 0, 0]], compression: 1)) }
        #expect(rle.kind == .unsupportedFormat && rle.reason.contains("RLE"))
        let huge = try #require(throws: ImageError.self) { try BMP.decode(file, maxPixels: 15) }
        #expect(huge.kind == .badSize)
    }
}
