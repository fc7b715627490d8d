import Foundation
import Imaging
import Layers
import SAVL
import SeededRandom
import Tensors
import Testing
@testable import savl

/// Helpers shared by the upscale, inspect and eval tests.

/// Runs `savl` with one compute thread: the suite runs many small jobs at once, and OpenMP threads that
/// wait on each other across busy cores make them many times slower.
func savl(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    try runSavl(arguments + (arguments.contains("--help") ? [] : ["--threads", "1"]))
}

/// Writes a tiny-preset model file with random weights; `edit` may change its weights.
func makeModelFile(in dir: URL, name: String = "tiny.safetensors", scale: Int = 4, seed: UInt64 = 1, metadata: [String: String] = [:],
                   edit: (inout [String: Tensor]) -> Void = { _ in }) throws -> URL {
    var rng = SeededGenerator(seed: seed)
    let model = SAVLModel(try .preset("tiny", scale: scale), rng: &rng)
    var weights = model.stateDict()
    edit(&weights)
    let url = dir.appendingPathComponent(name)
    try ModelFile.save(model, weights: weights, extraMetadata: metadata, to: url)
    return url
}

/// A smooth picture with edges and some texture, values in [0, 1] (alpha, if any, a gradient).
func photo(width: Int, height: Int, channels: Int, seed: UInt64) -> Image {
    var rng = SeededGenerator(seed: seed)
    var planes = [Float](repeating: 0, count: width * height * channels)
    for c in 0..<channels {
        for y in 0..<height {
            for x in 0..<width {
                let v: Float
                if c == 3 {
                    v = Float(x + y) / Float(width + height)
                } else {
                    let wave = 0.5 + 0.3 * sin(Float(x) * 0.21 + Float(c)) * cos(Float(y) * 0.17)
                    let edge: Float = (x + 2 * y) % 37 < 18 ? 0.15 : -0.1
                    v = min(1, max(0, wave + edge + Float.random(in: -0.05...0.05, using: &rng)))
                }
                planes[(c * height + y) * width + x] = v
            }
        }
    }
    return Image(width: width, height: height, channels: channels, planes: planes).quantized()
}

/// What the tiled pipeline computes, on the whole image at once: the model on the image with `margin` pixels
/// mirrored beyond each edge, cropped back (no colour correction).
func wholeImageOutput(_ model: SAVLModel, _ image: Image, margin: Int) throws -> [Float] {
    let (w, h, m, s) = (image.width, image.height, margin, model.config.scale)
    let padded = image.croppedReflecting(x: -m, y: -m, width: w + 2 * m, height: h + 2 * m)
    let out = try GradMode.withoutGrad { try model(Tensor(shape: [1, 3, h + 2 * m, w + 2 * m], values: padded.planes)) }
    return try out.sliced(axis: 2, (m * s)..<((m + h) * s)).sliced(axis: 3, (m * s)..<((m + w) * s)).values
}

/// PSNR in dB between two arrays of values in [0, 1].
func psnr(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count)
    let mse = zip(a, b).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +) / Double(a.count)
    return mse == 0 ? .infinity : 10 * log10(1 / mse)
}

/// A JPEG with an APP1 Exif segment carrying `orientation`, inserted after SOI.
func withExifOrientation(_ jpeg: [UInt8], _ orientation: UInt8) -> [UInt8] {
    let tiff: [UInt8] = [0x4D, 0x4D, 0x00, 0x2A, 0, 0, 0, 8,   // big-endian TIFF header, IFD0 at 8
                         0, 1,                                 // one entry
                         0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0,  // Orientation, SHORT, 1 value
                         0, 0, 0, 0]                           // no next IFD
    let payload = Array("Exif".utf8) + [0, 0] + tiff
    let length = payload.count + 2
    return [0xFF, 0xD8, 0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + payload + Array(jpeg[2...])
}

/// A minimal ICC profile header that PNG and JPEG writers accept (display class, RGB, XYZ, D50), plus filler.
func testICCProfile() -> [UInt8] {
    var p = [UInt8](repeating: 0, count: 132 + 40)
    func put(_ s: String, at o: Int) { for (i, b) in s.utf8.enumerated() { p[o + i] = b } }
    func put32(_ v: UInt32, at o: Int) { for i in 0..<4 { p[o + i] = UInt8((v >> (24 - 8 * UInt32(i))) & 0xFF) } }
    put32(UInt32(p.count), at: 0)
    p[8] = 4
    put("mntr", at: 12); put("RGB ", at: 16); put("XYZ ", at: 20); put("acsp", at: 36)
    put32(0x0000_F6D6, at: 68); put32(0x0001_0000, at: 72); put32(0x0000_D32D, at: 76)
    for i in 132..<p.count { p[i] = UInt8(i % 251) }
    return p
}
