import Foundation
import Testing
import Imaging
import SAVL
@testable import Training

/// The suites that train. They run one test at a time: each test trains, and the convolution kernels
/// already own both cores.
@Suite(.serialized) struct TrainingRuns {}

/// A fresh empty folder under the temporary directory.
func temporaryFolder(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("savl-training-\(label)-\(UInt64.random(in: 0...UInt64.max))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A photo-like test image: smooth shading, edges and fine texture that differ with `variant`.
func syntheticPhoto(width: Int, height: Int, variant: Int, channels: Int = 3) -> Image {
    var planes = [Float](repeating: 0, count: width * height * channels)
    for c in 0..<channels {
        for y in 0..<height {
            for x in 0..<width {
                let position = x + 2 * y + 17 * variant + 40 * c
                let shade = Float(position) / Float(2 * width + 3 * height + 60)
                let edge: Float = (x / (9 + variant) + y / 13) % 2 == 0 ? 0.15 : -0.1
                let phase = Float(x * (3 + variant) + y * 5 + c) * 0.9
                let texture: Float = 0.08 * sin(phase)
                let value: Float = 0.2 + 0.6 * shade.truncatingRemainder(dividingBy: 1) + edge + texture
                planes[(c * height + y) * width + x] = min(1, max(0, value))
            }
        }
    }
    return Image(width: width, height: height, channels: channels, planes: planes).quantized(bitDepth: 8)
}

/// A temporary folder with `photos/` (synthetic PNG photos) beside which runs are made; removed by `remove()`.
struct Workspace {
    let root: URL
    var photos: URL { root.appendingPathComponent("photos") }

    /// `count` photos of about `size` x `size` px.
    init(_ label: String, count: Int = 4, size: Int = 80) throws {
        root = try temporaryFolder(label)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("photos"), withIntermediateDirectories: true)
        for i in 0..<count {
            try writeImage(syntheticPhoto(width: size + 8 * i, height: size, variant: i), to: photos.appendingPathComponent("photo\(i).png"))
        }
    }

    /// A run folder (not created).
    func run(_ name: String) -> URL { root.appendingPathComponent(name) }

    func remove() { try? FileManager.default.removeItem(at: root) }
}

/// The `tiny` x4 model on `photos`, batches of 2 crops of 32 px (8 px LR): fast enough for debug-build tests.
func tinyConfig(photos: URL, steps: Int, stage1Steps: Int, mix: DegradationMix = .only(.bicubic)) throws -> TrainingConfig {
    var config = TrainingConfig()
    config.model = try SAVLConfig.preset("tiny", scale: 4)
    config.steps = steps
    config.stage1Steps = stage1Steps
    config.batchSize = 2
    config.optimizer.learningRate = 2e-3
    config.optimizer.warmupSteps = 3
    config.optimizer.emaDecay = 0.9
    config.data.folders = [photos.path]
    config.data.hrCropSize = 32
    config.data.mix = mix
    config.data.jpegDownscale = 1
    config.validation.folder = photos.path
    config.validation.images = 2
    config.validation.hrCropSize = 32
    config.validation.every = 10
    config.checkpoints.every = 10
    config.checkpoints.keepLast = 2
    config.logging.every = 1
    config.logging.plotAtValidation = false
    try config.validate()
    return config
}
