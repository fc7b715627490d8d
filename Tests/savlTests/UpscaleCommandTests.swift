import Foundation
import Imaging
import Layers
import SAVL
import SeededRandom
import Tensors
import TestPhotos
import Testing
@testable import savl

/// End-to-end tests of `savl upscale`, running the built executable with tiny model files.
@Suite struct UpscaleCommandTests {
    @Test func tiledOutputMatchesTheWholeImageModel() throws {
        let dir = try temporaryDirectory("upscale-tiles")
        defer { try? FileManager.default.removeItem(at: dir) }
        let modelURL = try makeModelFile(in: dir)
        let input = photo(width: 150, height: 110, channels: 3, seed: 1)
        try writeImage(input, to: dir.appendingPathComponent("in.png"))
        let out = dir.appendingPathComponent("out.png")
        let run = try savl(["upscale", dir.appendingPathComponent("in.png").path, "-o", out.path, "--model", modelURL.path,
                               "--tile", "64", "--bit-depth", "16", "--progress", "json", "--colour-correction", "0"])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let tiles = run.stderr.split(separator: "\n").filter { $0.contains("\"phase\":\"upscaling\"") }.count
        #expect(tiles >= 9, "expected several tiles, got \(tiles)")

        let (model, _) = try ModelFile.load(from: modelURL)
        let whole = try wholeImageOutput(model, input, margin: 16)
        let reference = Image(width: 600, height: 440, channels: 3, planes: whole).quantized(bitDepth: 16)
        let tiled = try readImage(at: out)
        #expect(tiled.bitDepth == 16 && tiled.width == 600 && tiled.height == 440)
        #expect(psnr(tiled.planes, reference.planes) > 50)
    }

    /// A model whose SR tail has zero weights and bias outputs exactly its bilinear skip, whatever the
    /// rest of the network does: with it, colour handling can be checked exactly (a random network
    /// shifts colours by design). Tiles are small so that blending is exercised too.
    @Test func flatGrayStaysGrayAndWhiteStays255() throws {
        let dir = try temporaryDirectory("upscale-flat")
        defer { try? FileManager.default.removeItem(at: dir) }
        let modelURL = try makeModelFile(in: dir, name: "bilinear.safetensors") { weights in
            weights["sr.tail.weight"] = Tensor.zeros(weights["sr.tail.weight"]!.shape)
            weights["sr.tail.bias"] = Tensor.zeros(weights["sr.tail.bias"]!.shape)
        }
        let colours: [(String, [Float])] = [("gray", [128, 128, 128]), ("white", [255, 255, 255]), ("red", [255, 0, 0])]
        for (name, rgb) in colours {
            let planes = rgb.flatMap { [Float](repeating: $0 / 255, count: 90 * 70) }
            try writeImage(Image(width: 90, height: 70, channels: 3, planes: planes), to: dir.appendingPathComponent("\(name).png"))
        }
        for scale in ["4", "2.5"] {
            let out = dir.appendingPathComponent("out-\(scale)")
            let run = try savl(["upscale", dir.path, "-o", out.path, "--model", modelURL.path, "--tile", "48", "--scale", scale])
            #expect(run.status == 0, "stderr: \(run.stderr)")
            for (name, rgb) in colours {
                let image = try readImage(at: out.appendingPathComponent("\(name).png"))
                #expect(image.width == Int((90 * Double(scale)!).rounded()) && image.channels == 3)
                for c in 0..<3 {
                    let bytes = Set(image.planes[(c * image.pixelCount)..<((c + 1) * image.pixelCount)].map { ($0 * 255).rounded() })
                    #expect(bytes == [rgb[c]], "\(name) x\(scale) channel \(c): \(bytes.sorted().prefix(5))")
                }
            }
        }
    }

    @Test func grayAlphaAndBitDepthAreKept() throws {
        let dir = try temporaryDirectory("upscale-channels")
        defer { try? FileManager.default.removeItem(at: dir) }
        let modelURL = try makeModelFile(in: dir)
        let rgba = photo(width: 36, height: 28, channels: 4, seed: 6)
        let alphaPlane = Array(rgba.planes[(3 * rgba.pixelCount)...])
        let gray = Image(width: 36, height: 28, channels: 1, planes: Array(rgba.planes[0..<rgba.pixelCount]))
        let grayAsRGB = Image(width: 36, height: 28, channels: 3, planes: gray.planes + gray.planes + gray.planes)
        let alphaAsGray = Image(width: 36, height: 28, channels: 1, planes: alphaPlane)
        var gray16 = gray
        gray16.bitDepth = 16
        try writeImage(rgba, to: dir.appendingPathComponent("rgba.png"))
        try writeImage(Image(width: 36, height: 28, channels: 3, planes: Array(rgba.planes[0..<(3 * rgba.pixelCount)])),
                       to: dir.appendingPathComponent("rgb.png"))
        try writeImage(gray, to: dir.appendingPathComponent("gray.png"))
        try writeImage(grayAsRGB, to: dir.appendingPathComponent("grayrgb.png"), bitDepth: 16)
        try writeImage(alphaAsGray, to: dir.appendingPathComponent("alphagray.png"))
        try writeImage(gray16, to: dir.appendingPathComponent("gray16.png"), bitDepth: 16)

        let out = dir.appendingPathComponent("out"), net = dir.appendingPathComponent("net")
        #expect(try savl(["upscale", dir.path, "-o", out.path, "--model", modelURL.path, "--progress", "none"]).status == 0)
        #expect(try savl(["upscale", dir.appendingPathComponent("rgba.png").path, "-o", net.path, "--model", modelURL.path,
                             "--alpha", "network"]).status == 0)
        func read(_ folder: URL, _ name: String) throws -> Image { try readImage(at: folder.appendingPathComponent(name)) }
        func plane(_ image: Image, _ c: Int) -> [Float] { Array(image.planes[(c * image.pixelCount)..<((c + 1) * image.pixelCount)]) }

        // Alpha: bicubic by default, and the colour channels are those of the same image without alpha.
        let upRGBA = try read(out, "rgba.png"), upRGB = try read(out, "rgb.png")
        #expect(upRGBA.channels == 4 && upRGBA.width == 144 && upRGBA.height == 112)
        #expect(Array(upRGBA.planes[0..<(3 * upRGBA.pixelCount)]) == upRGB.planes)
        let bicubic = resize(Image(width: 36, height: 28, channels: 1, planes: alphaPlane), width: 144, height: 112, method: .matlabBicubic)
        #expect(plane(upRGBA, 3) == bicubic.quantized().planes)
        // Through the network, alpha is what a gray image of the alpha values becomes.
        #expect(plane(try read(net, "rgba.png"), 3) == (try read(out, "alphagray.png")).planes)
        // Gray in, gray out: the mean of the network's output for the gray replicated to RGB.
        let upGray = try read(out, "gray.png"), upGrayRGB = try read(out, "grayrgb.png")
        #expect(upGray.channels == 1 && upGray.bitDepth == 8 && upGrayRGB.bitDepth == 16)
        // (Where a channel was clipped to [0, 1] on writing, the mean of the written channels says nothing.)
        var compared = 0
        for i in 0..<upGray.pixelCount {
            let rgb = (0..<3).map { upGrayRGB.planes[$0 * upGray.pixelCount + i] }
            guard rgb.allSatisfy({ $0 > 0 && $0 < 1 }) else { continue }
            #expect(abs(upGray.planes[i] - rgb.reduce(0, +) / 3) <= 0.5 / 255 + 1e-4)
            compared += 1
        }
        #expect(compared > upGray.pixelCount / 2)
        // 16-bit in, 16-bit out (unless asked otherwise).
        #expect(try read(out, "gray16.png").bitDepth == 16)
        let eight = dir.appendingPathComponent("eight.png")
        #expect(try savl(["upscale", dir.appendingPathComponent("gray16.png").path, "-o", eight.path, "--model", modelURL.path,
                             "--bit-depth", "8"]).status == 0)
        #expect(try readImage(at: eight).bitDepth == 8)
    }

    @Test func jpegOrientationIsAppliedAndICCCarried() throws {
        let dir = try temporaryDirectory("upscale-exif")
        defer { try? FileManager.default.removeItem(at: dir) }
        let modelURL = try makeModelFile(in: dir)
        let stored = photo(width: 30, height: 20, channels: 3, seed: 7)
        let jpeg = try JPEG.encode(stored, quality: 95)
        let rotated = dir.appendingPathComponent("rotated.jpg")
        try Data(withExifOrientation(jpeg, 6)).write(to: rotated)
        let upright = try readImage(at: rotated)
        #expect(upright.width == 20 && upright.height == 30)
        var withProfile = upright
        withProfile.iccProfile = testICCProfile()
        try writeImage(withProfile, to: dir.appendingPathComponent("upright.png"))

        let out = dir.appendingPathComponent("out")
        let run = try savl(["upscale", rotated.path, dir.appendingPathComponent("upright.png").path, "-o", out.path,
                               "--model", modelURL.path, "--format", "png"])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let a = try readImage(at: out.appendingPathComponent("rotated.png")), b = try readImage(at: out.appendingPathComponent("upright.png"))
        #expect(a.width == 80 && a.height == 120)
        #expect(a.planes == b.planes)
        #expect(b.iccProfile == withProfile.iccProfile)
    }

    // MARK: - Strength

    /// With S = 0 the code is r_clean whatever the encoder estimates: two models that differ only in the
    /// encoder's mean give the same output. With S = 1 they differ, and r_clean has no effect.
    @Test func strengthScalesTheCodeAroundTheCleanCode() throws {
        let dir = try temporaryDirectory("upscale-strength")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = try SAVLConfig.preset("tiny").latentDim
        let plain = try makeModelFile(in: dir, name: "a.safetensors")
        let otherMean = try makeModelFile(in: dir, name: "b.safetensors") { weights in
            let w = weights["encoder.out.weight"]!, b = weights["encoder.out.bias"]!
            let perRow = w.count / w.shape[0]
            weights["encoder.out.weight"] = Tensor(shape: w.shape, values: w.values.enumerated().map { $0 < d * perRow ? $1 * -3 + 0.2 : $1 })
            weights["encoder.out.bias"] = Tensor(shape: b.shape, values: b.values.enumerated().map { $0 < d ? $1 + 1 : $1 })
        }
        let clean = try makeModelFile(in: dir, name: "c.safetensors", metadata: ["clean_code": (0..<d).map { _ in "0.8" }.joined(separator: ",")])
        try writeImage(photo(width: 40, height: 32, channels: 3, seed: 9), to: dir.appendingPathComponent("in.png"))
        func upscale(_ model: URL, _ strength: String) throws -> Data {
            let out = dir.appendingPathComponent("out-\(model.lastPathComponent)-\(strength).png")
            let run = try savl(["upscale", dir.appendingPathComponent("in.png").path, "-o", out.path, "--model", model.path,
                                   "--strength", strength])
            #expect(run.status == 0, "stderr: \(run.stderr)")
            return try Data(contentsOf: out)
        }
        #expect(try upscale(plain, "0") == upscale(otherMean, "0"))
        #expect(try upscale(plain, "1") != upscale(otherMean, "1"))
        #expect(try upscale(plain, "1") == upscale(clean, "1"))
        #expect(try upscale(plain, "0") != upscale(clean, "0"))
        #expect(try upscale(plain, "2") != upscale(plain, "1"))
    }

    // MARK: - Batches and files

    @Test func badFilesAreReportedAndTheOthersWritten() throws {
        let dir = try temporaryDirectory("upscale-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let modelURL = try makeModelFile(in: dir)
        let inputs = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        try writeImage(photo(width: 24, height: 20, channels: 3, seed: 2), to: inputs.appendingPathComponent("good.png"))
        let good = try Data(contentsOf: inputs.appendingPathComponent("good.png"))
        try good.prefix(good.count / 2).write(to: inputs.appendingPathComponent("truncated.png"))
        try Data().write(to: inputs.appendingPathComponent("empty.jpg"))
        let notes = dir.appendingPathComponent("notes.txt")
        try Data("not an image".utf8).write(to: notes)
        let out = dir.appendingPathComponent("out")

        let run = try savl(["upscale", inputs.path, notes.path, dir.appendingPathComponent("missing.png").path, "-o", out.path,
                               "--model", modelURL.path])
        #expect(run.status == 1)
        for expected in ["truncated.png: ", "empty.jpg: file is empty", "notes.txt: not a PNG, JPEG, WebP or BMP image", "missing.png: no such file"] {
            #expect(run.stderr.contains(expected), "missing '\(expected)' in:\n\(run.stderr)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path) == ["good.png"])
    }

    @Test func foldersRecurseIntoAMirroredTreeWithSuffixAndSkipExisting() throws {
        let dir = try temporaryDirectory("upscale-tree")
        defer { try? FileManager.default.removeItem(at: dir) }
        let modelURL = try makeModelFile(in: dir)
        let tree = dir.appendingPathComponent("photos")
        for path in ["a.png", "sub/b.jpg", "sub/deeper/c.png"] {
            let url = tree.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try writeImage(photo(width: 16, height: 12, channels: 3, seed: 3), to: url)
        }
        let flat = dir.appendingPathComponent("flat"), mirrored = dir.appendingPathComponent("mirrored")
        #expect(try savl(["upscale", tree.path, "-o", flat.path, "--model", modelURL.path]).status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: flat.path) == ["a.png"])
        #expect(try savl(["upscale", tree.path, "-o", mirrored.path, "--model", modelURL.path, "--recursive", "--suffix", "_x4"]).status == 0)
        for path in ["a_x4.png", "sub/b_x4.jpg", "sub/deeper/c_x4.png"] {
            #expect(try readImage(at: mirrored.appendingPathComponent(path)).width == 64, "\(path)")
        }

        let existing = mirrored.appendingPathComponent("a_x4.png")
        try Data("keep me".utf8).write(to: existing)
        let skip = try savl(["upscale", tree.path, "-o", mirrored.path, "--model", modelURL.path, "--recursive", "--suffix", "_x4",
                                "--skip-existing", "--progress", "json"])
        #expect(skip.status == 0)
        #expect(skip.stderr.contains("\"status\":\"skipped\"") && skip.stderr.contains("\"skipped\":3"), "stderr: \(skip.stderr)")
        #expect(try Data(contentsOf: existing) == Data("keep me".utf8))
        #expect(try savl(["upscale", tree.path, "-o", mirrored.path, "--model", modelURL.path, "--recursive", "--suffix", "_x4"]).status == 0)
        #expect(try readImage(at: existing).width == 64)
    }

    @Test func inputsAreNeverOverwritten() throws {
        let dir = try temporaryDirectory("upscale-inplace")
        defer { try? FileManager.default.removeItem(at: dir) }
        let modelURL = try makeModelFile(in: dir)
        let input = dir.appendingPathComponent("p.png")
        try writeImage(photo(width: 16, height: 16, channels: 3, seed: 1), to: input)
        let before = try Data(contentsOf: input)
        let run = try savl(["upscale", input.path, "-o", dir.path, "--model", modelURL.path])
        #expect(run.status == 1)
        #expect(run.stderr.contains("would overwrite an input"), "stderr: \(run.stderr)")
        #expect(try Data(contentsOf: input) == before)
        #expect(try savl(["upscale", input.path, "-o", dir.path, "--model", modelURL.path, "--suffix", "-x4"]).status == 0)
        #expect(try readImage(at: dir.appendingPathComponent("p-x4.png")).width == 64)
    }

    @Test func sizesByScaleWidthAndHeight() throws {
        let dir = try temporaryDirectory("upscale-sizes")
        defer { try? FileManager.default.removeItem(at: dir) }
        let modelURL = try makeModelFile(in: dir, scale: 2)
        let input = dir.appendingPathComponent("in.png")
        try writeImage(photo(width: 30, height: 20, channels: 3, seed: 5), to: input)
        for (arguments, size) in [([String](), (60, 40)), (["--scale", "3.3"], (99, 66)), (["--width", "45"], (45, 30)),
                                  (["--height", "10"], (15, 10)), (["--width", "50", "--height", "50"], (50, 50))] {
            let out = dir.appendingPathComponent("out.jpg")
            let run = try savl(["upscale", input.path, "-o", out.path, "--model", modelURL.path] + arguments)
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let image = try readImage(at: out)
            #expect(image.width == size.0 && image.height == size.1, "\(arguments)")
        }
    }

    // MARK: - Help, errors, dry run

    @Test func helpDescribesTheOptions() throws {
        let run = try savl(["upscale", "--help"])
        #expect(run.status == 0)
        for text in ["--model", "--scale", "--width", "--strength", "--tile", "--tile-overlap", "--memory", "--format", "--quality",
                     "--bit-depth", "--alpha", "--suffix", "--recursive", "--skip-existing", "--threads", "--progress", "--dry-run",
                     "clean_code", "prior mean", "never overwritten"] {
            #expect(run.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ").contains(text), "help lacks \(text)")
        }
    }

    @Test func badOptionsAndModelsGiveClearErrors() throws {
        let dir = try temporaryDirectory("upscale-errors")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in.png")
        try writeImage(photo(width: 8, height: 8, channels: 3, seed: 1), to: input)
        let notAModel = dir.appendingPathComponent("weights.safetensors")
        try SafeTensors.write(["w": Tensor.zeros([2])], metadata: ["architecture": "esrgan"], to: notAModel)
        let out = dir.appendingPathComponent("out").path
        let cases: [([String], Int32, String)] = [
            (["--scale", "2", "--width", "10"], 64, "give --scale or --width/--height, not both"),
            (["--strength", "-1"], 64, "--strength must be 0 or more"),
            (["--tile", "32", "--tile-overlap", "40"], 64, "must be smaller than the tile"),
            (["--format", "jpg", "--bit-depth", "16"], 64, "JPEG is 8-bit only"),
            (["--tile", "big"], 64, "--tile"),
            (["--model", dir.appendingPathComponent("nope.safetensors").path], 1, "nope.safetensors: no such file"),
            (["--model", notAModel.path], 1, "not a savl model file (architecture 'esrgan'"),
            (["--model", "mystery"], 1, "no embedded model of that name"),
        ]
        for (arguments, status, message) in cases {
            let run = try savl(["upscale", input.path, "-o", out] + arguments)
            #expect(run.status == status && run.stderr.contains(message), "\(arguments): \(run.status) \(run.stderr)")
        }
        #expect(try savl(["upscale", input.path]).stderr.contains("give the output folder (or file) with -o"))
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func dryRunPrintsThePlanAndWritesNothing() throws {
        let dir = try temporaryDirectory("upscale-dry")
        defer { try? FileManager.default.removeItem(at: dir) }
        let modelURL = try makeModelFile(in: dir)
        try writeImage(photo(width: 200, height: 90, channels: 4, seed: 1), to: dir.appendingPathComponent("big.png"))
        let out = dir.appendingPathComponent("out")
        let run = try savl(["upscale", dir.path, "-o", out.path, "--model", modelURL.path, "--tile", "96", "--scale", "3", "--dry-run"])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        for text in ["200x90 RGBA 8-bit -> 600x270", "then bicubic from 800x360", "tiles: 3x1 tiles", "overlap 32 (feathered; exact needs 42)", "memory: about", "oneDNN"] {
            #expect(run.stdout.contains(text), "missing \(text) in:\n\(run.stdout)")
        }
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }
}
