/// A 5x7 pixel font for the labels of generated pictures (contact sheets, training plots, colour bars):
/// upper-case letters, digits and some punctuation. A character takes 6 font pixels with its spacing.
public enum PixelFont {
    /// Width in pixels of `text` drawn `size` pixels per font pixel.
    public static func width(of text: String, size: Int) -> Int { max(0, text.count * 6 - 1) * size }

    /// Draws `text` (upper-cased; characters without a glyph as `?`) with its top-left corner at (x, y),
    /// `size` pixels per font pixel, in `colour` (one value per channel, the last repeated); pixels
    /// outside the image are skipped.
    public static func draw(_ text: String, into image: inout Image, x: Int, y: Int, size: Int, colour: [Float]) {
        let n = image.pixelCount
        for (i, character) in text.uppercased().enumerated() {
            let rows = glyphs[character] ?? glyphs["?"]!
            for (row, bits) in rows.enumerated() {
                for column in 0..<5 where bits & (0x10 >> column) != 0 {
                    for dy in 0..<size {
                        for dx in 0..<size {
                            let px = x + (i * 6 + column) * size + dx, py = y + row * size + dy
                            guard px >= 0, py >= 0, px < image.width, py < image.height else { continue }
                            for c in 0..<image.channels { image.planes[c * n + py * image.width + px] = colour[min(c, colour.count - 1)] }
                        }
                    }
                }
            }
        }
    }

    /// Rows of each glyph, the most significant of five bits on the left.
    private static let glyphs: [Character: [UInt8]] = [
        "A": [14, 17, 17, 31, 17, 17, 17], "B": [30, 17, 17, 30, 17, 17, 30], "C": [14, 17, 16, 16, 16, 17, 14],
        "D": [28, 18, 17, 17, 17, 18, 28], "E": [31, 16, 16, 30, 16, 16, 31], "F": [31, 16, 16, 30, 16, 16, 16],
        "G": [14, 17, 16, 23, 17, 17, 15], "H": [17, 17, 17, 31, 17, 17, 17], "I": [14, 4, 4, 4, 4, 4, 14],
        "J": [7, 2, 2, 2, 2, 18, 12], "K": [17, 18, 20, 24, 20, 18, 17], "L": [16, 16, 16, 16, 16, 16, 31],
        "M": [17, 27, 21, 21, 17, 17, 17], "N": [17, 17, 25, 21, 19, 17, 17], "O": [14, 17, 17, 17, 17, 17, 14],
        "P": [30, 17, 17, 30, 16, 16, 16], "Q": [14, 17, 17, 17, 21, 18, 13], "R": [30, 17, 17, 30, 20, 18, 17],
        "S": [15, 16, 16, 14, 1, 1, 30], "T": [31, 4, 4, 4, 4, 4, 4], "U": [17, 17, 17, 17, 17, 17, 14],
        "V": [17, 17, 17, 17, 17, 10, 4], "W": [17, 17, 17, 21, 21, 21, 10], "X": [17, 17, 10, 4, 10, 17, 17],
        "Y": [17, 17, 17, 10, 4, 4, 4], "Z": [31, 1, 2, 4, 8, 16, 31],
        "0": [14, 17, 19, 21, 25, 17, 14], "1": [4, 12, 4, 4, 4, 4, 14], "2": [14, 17, 1, 2, 4, 8, 31],
        "3": [31, 2, 4, 2, 1, 17, 14], "4": [2, 6, 10, 18, 31, 2, 2], "5": [31, 16, 30, 1, 1, 17, 14],
        "6": [6, 8, 16, 30, 17, 17, 14], "7": [31, 1, 2, 4, 8, 8, 8], "8": [14, 17, 17, 14, 17, 17, 14],
        "9": [14, 17, 17, 15, 1, 2, 12], ".": [0, 0, 0, 0, 0, 12, 12], "-": [0, 0, 0, 31, 0, 0, 0],
        ":": [0, 12, 12, 0, 12, 12, 0], " ": [0, 0, 0, 0, 0, 0, 0], "(": [2, 4, 8, 8, 8, 4, 2],
        ")": [8, 4, 2, 2, 2, 4, 8], ",": [0, 0, 0, 0, 12, 4, 8], "/": [1, 1, 2, 4, 8, 16, 16],
        "_": [0, 0, 0, 0, 0, 0, 31], "+": [0, 4, 4, 31, 4, 4, 0], "=": [0, 0, 31, 0, 31, 0, 0],
        "?": [14, 17, 1, 2, 4, 0, 4],
    ]
}
