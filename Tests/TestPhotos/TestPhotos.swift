import Foundation
import Imaging
import Layers
import SAVL
import SeededRandom
import Tensors

/// Test photos, model files and comparisons shared by the test targets.

/// A new empty folder under the temporary directory.
public func temporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("savl-\(label)-\(UInt64.random(in: 0...UInt64.max))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes a tiny-preset model file with random weights; `configure` may change its configuration, `edit` its weights.
public func makeModelFile(in dir: URL, name: String = "tiny.safetensors", scale: Int = 4, seed: UInt64 = 1, metadata: [String: String] = [:],
                   configure: (inout SAVLConfig) -> Void = { _ in }, edit: (inout [String: Tensor]) -> Void = { _ in }) throws -> URL {
    var rng = SeededGenerator(seed: seed)
    var config = try SAVLConfig.preset("tiny", scale: scale)
    configure(&config)
    let model = SAVLModel(config, rng: &rng)
    var weights = model.stateDict()
    edit(&weights)
    let url = dir.appendingPathComponent(name)
    try ModelFile.save(model, weights: weights, extraMetadata: metadata, to: url)
    return url
}

/// A smooth picture with edges and some texture, values in [0, 1] (alpha, if any, a gradient).
public func photo(width: Int, height: Int, channels: Int, seed: UInt64) -> Image {
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
public func wholeImageOutput(_ model: SAVLModel, _ image: Image, margin: Int) throws -> [Float] {
    let (w, h, m, s) = (image.width, image.height, margin, model.config.scale)
    let padded = image.croppedReflecting(x: -m, y: -m, width: w + 2 * m, height: h + 2 * m)
    let out = try GradMode.withoutGrad { try model(Tensor(shape: [1, 3, h + 2 * m, w + 2 * m], values: padded.planes)) }
    return try out.sliced(axis: 2, (m * s)..<((m + h) * s)).sliced(axis: 3, (m * s)..<((m + w) * s)).values
}

/// PSNR in dB between two arrays of values in [0, 1].
public func psnr(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count)
    let mse = zip(a, b).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +) / Double(a.count)
    return mse == 0 ? .infinity : 10 * log10(1 / mse)
}

/// The `savl` executable built next to this test bundle.
public func savlExecutable() throws -> URL {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("savl")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "savl executable near \(CommandLine.arguments[0])"])
}

/// Runs `savl` with `arguments`, capturing its exit status and output.
public func runSavl(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = try savlExecutable()
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read before waiting, so a full pipe cannot block the child.
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}
