import Evaluation
import Foundation
import Imaging
import Tensors
import TestPhotos
import Testing
@testable import savl

/// `--precision` on the commands: `auto`'s choice, the error where bf16 cannot run, and bf16's output
/// against f32's on a photo.
@Suite struct PrecisionCommandTests {
    static let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("samples/dandelion.jpg")

    /// A 192x128 crop of the sample photo (the dandelion head and the meadow) as PNG in `dir`.
    func crop(in dir: URL) throws -> URL {
        let url = dir.appendingPathComponent("crop.png")
        try writeImage(try readImage(at: Self.sample).cropped(x: 240, y: 100, width: 192, height: 128), to: url)
        return url
    }

    /// The backend line names the precision in effect; without `--precision` it is `auto`'s choice.
    @Test(arguments: [[], ["--precision", "auto"], ["--precision", "f32"]])
    func theBackendLineNamesThePrecision(_ option: [String]) throws {
        let dir = try temporaryDirectory("precision-line")
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try savl(["upscale", try crop(in: dir).path, "-o", dir.appendingPathComponent("out.png").path,
                            "--progress", "json"] + option)
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let expected = option.last == "f32" ? Precision.f32 : Engine.resolve(.auto)
        #expect(run.stderr.contains("\"backend\":\"oneDNN") && run.stderr.contains("thread, \(expected)\""), "\(run.stderr)")
    }

    /// Every command that takes `--precision` defaults to `auto` (on a CPU without AMX, auto's choice is the old default, f32).
    @Test func everyCommandDefaultsToAuto() throws {
        #expect(try UpscaleCommand.parse(["in.png", "-o", "out"]).precision == .auto)
        #expect(try EvalCommand.parse(["Set5"]).precision == .auto)
        #expect(try TrainCommand.parse(["--config", "c.yml"]).precision == .auto)
        #expect(try BenchCommand.parse([]).precision == .auto)
        #expect(try ServeCommand.parse([]).precision == .auto)
    }

    @Test(.enabled(if: !Engine.supportsBF16, "oneDNN has bf16 convolutions on this CPU"))
    func forcingBF16WithoutSupportNamesTheCPU() throws {
        let dir = try temporaryDirectory("precision-error")
        defer { try? FileManager.default.removeItem(at: dir) }
        for command in [["upscale", Self.sample.path, "-o", dir.path], ["bench", "--steps", "1"]] {
            let run = try savl(command + ["--precision", "bf16"])
            #expect(run.status != 0)
            #expect(run.stderr.contains("bf16") && run.stderr.contains("(\(Engine.cpuISA))") && run.stderr.contains("AMX"), "\(run.stderr)")
        }
    }

    /// bf16 changes the upscaled photo by less than 45 dB PSNR (RGB, 8 bits) from the f32 output.
    @Test(.enabled(if: Engine.supportsBF16, "needs AMX / avx512_core_bf16 (oneDNN bf16 convolutions); this CPU: \(Engine.cpuISA)"))
    func bf16UpscalesAPhotoWithin45dBOfF32() throws {
        let dir = try temporaryDirectory("precision-psnr")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try crop(in: dir)
        var outputs: [Image] = []
        for precision in ["f32", "bf16"] {
            let out = dir.appendingPathComponent("\(precision).png")
            let run = try savl(["upscale", input.path, "-o", out.path, "--precision", precision, "--progress", "json"])
            #expect(run.status == 0 && run.stderr.contains("thread, \(precision)\""), "stderr: \(run.stderr)")
            outputs.append(try readImage(at: out))
        }
        let score = try psnr(outputs[1], outputs[0], channel: .rgb)
        #expect(score > 45, "PSNR of bf16 against f32: \(score) dB")
    }
}
