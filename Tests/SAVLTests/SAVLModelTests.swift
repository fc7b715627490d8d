import Foundation
import SeededRandom
import Testing
@testable import Layers
@testable import SAVL
@testable import Tensors

@Suite struct SAVLModelTests {
    /// Changing a pixel just outside the encoder's window leaves the posterior at the centre unchanged;
    /// a pixel on the window's edge changes it.
    @Test(arguments: [("tiny", 1, 0), ("small", 1, 0), ("tiny", 5, 0), ("tiny", 3, 5)])
    func encoderReceptiveFieldIsAsDocumented(preset: String, codeWindow: Int, highPass: Int) throws {
        var rng = SeededGenerator(seed: 1)
        var config = try SAVLConfig.preset(preset)
        config.codeWindow = codeWindow
        config.encoderHighPass = highPass
        let encoder = DegradationEncoder(config, rng: &rng)
        let size = config.encoderReceptiveField + 6, centre = size / 2, radius = config.encoderReceptiveField / 2
        let base = Tensor.uniform([1, 3, size, size], using: &rng)
        func centreMean(_ x: Tensor) throws -> [Float] {
            let mu = try GradMode.withoutGrad { try encoder(x).mean }
            return (0..<config.latentDim).map { c in mu.values[(c * size + centre) * size + centre] }
        }
        func changed(at y: Int, _ x: Int) throws -> Tensor {
            var v = base.values
            for c in 0..<3 { v[(c * size + y) * size + x] += 0.5 }
            return Tensor(shape: base.shape, values: v)
        }
        let reference = try centreMean(base)
        #expect(try centreMean(changed(at: centre - radius - 1, centre)) == reference)
        #expect(try centreMean(changed(at: centre, centre + radius + 1)) == reference)
        #expect(try centreMean(changed(at: centre + radius, centre - radius)) != reference)
    }

    /// A code window w makes the posterior (mean and log-variance) the w x w mean of the per-pixel one,
    /// averaged over the pixels inside the image at its edges; the weights are the same.
    @Test func smoothCodeIsTheWindowMeanOfThePixelCode() throws {
        var plain = try SAVLConfig.preset("tiny")
        var smooth = plain
        smooth.codeWindow = 5
        var rng1 = SeededGenerator(seed: 4), rng2 = SeededGenerator(seed: 4), rng = SeededGenerator(seed: 5)
        let pixelEncoder = DegradationEncoder(plain, rng: &rng1), smoothEncoder = DegradationEncoder(smooth, rng: &rng2)
        let y = Tensor.uniform([2, 3, 9, 11], using: &rng)
        let (pixel, windowed) = try GradMode.withoutGrad { (try pixelEncoder(y), try smoothEncoder(y)) }
        func boxMean(_ t: Tensor) throws -> Tensor { try avgPool2d(t, kernel: 5, stride: 1, padding: 2, countPadding: false) }
        #expect(maxDifference(windowed.mean, try boxMean(pixel.mean)) < 1e-6)
        #expect(maxDifference(try #require(windowed.logVariance), try boxMean(#require(pixel.logVariance))) < 1e-6)
        #expect(maxDifference(windowed.mean, pixel.mean) > 1e-3, "the window changes the code")

        plain.codeWindow = 4
        #expect(throws: SAVLError("model.codeWindow: must be odd and at least 1, got 4")) { try plain.validate() }
        var written = try JSONSerialization.jsonObject(with: JSONEncoder().encode(smooth)) as! [String: Any]
        #expect(written["codeWindow"] as? Int == 5)
        #expect(try JSONDecoder().decode(SAVLConfig.self, from: JSONEncoder().encode(smooth)) == smooth)
        written["codeWindow"] = nil
        let older = try JSONDecoder().decode(SAVLConfig.self, from: JSONSerialization.data(withJSONObject: written))
        #expect(older.codeWindow == 1, "files written before the key have per-pixel codes")
    }

    /// With `encoderHighPass` w the encoder reads y - mean_w(y): its posterior is the plain encoder's on that
    /// input, and an image plus a constant colour has the same code.
    @Test func highPassEncoderReadsTheDetailOnly() throws {
        var plain = try SAVLConfig.preset("tiny")
        var highPass = plain
        highPass.encoderHighPass = 5
        var rng1 = SeededGenerator(seed: 6), rng2 = SeededGenerator(seed: 6), rng = SeededGenerator(seed: 7)
        let plainEncoder = DegradationEncoder(plain, rng: &rng1), highPassEncoder = DegradationEncoder(highPass, rng: &rng2)
        let y = Tensor.uniform([1, 3, 10, 9], using: &rng)
        let detail = try y - avgPool2d(y, kernel: 5, stride: 1, padding: 2, countPadding: false)
        let (expected, actual, shifted) = try GradMode.withoutGrad {
            (try plainEncoder(detail), try highPassEncoder(y), try highPassEncoder(y + 0.2))
        }
        #expect(maxDifference(actual.mean, expected.mean) < 1e-6)
        #expect(maxDifference(actual.mean, shifted.mean) < 1e-5, "a brighter copy has the same code")
        plain.encoderHighPass = 2
        #expect(throws: SAVLError("model.encoderHighPass: must be 0 (off) or odd and at least 3, got 2")) { try plain.validate() }
    }

    private func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.values, b.values).map { Swift.abs($0 - $1) }.max() ?? .infinity
    }

    @Test func klMatchesItsFormula() throws {
        let mu = Tensor(shape: [1, 2, 1, 2], values: [0.5, -1, 0, 2])
        let logVar = Tensor(shape: [1, 2, 1, 2], values: [0, 1, -2, 0.5])
        let kl = try Posterior(mean: mu, logVariance: logVar).klToStandardNormal().item()
        func term(_ m: Double, _ lv: Double) -> Double { 0.5 * (m * m + exp(lv) - 1 - lv) }
        // Pixel 0: channels (0.5, 0) and (0, -2); pixel 1: (-1, 1) and (2, 0.5); summed over channels, averaged over pixels.
        let expected = ((term(0.5, 0) + term(0, -2)) + (term(-1, 1) + term(2, 0.5))) / 2
        #expect(Swift.abs(Double(kl) - expected) < 1e-6)
        #expect(try Posterior(mean: mu, logVariance: nil).klToStandardNormal().item() == 0)
    }

    @Test func reconstructionLossMatchesItsFormulas() throws {
        let y = Tensor(shape: [1, 1, 1, 2], values: [1, 0]), yHat = Tensor(shape: [1, 1, 1, 2], values: [0.5, 0.25])
        #expect(try LikelihoodDecoder.reconstructionLoss(y, yHat, logScale: nil).item() == 0.375)
        let logB = Tensor(shape: [1, 1, 1, 2], values: [0, Float(log(0.5))])
        let hetero = try LikelihoodDecoder.reconstructionLoss(y, yHat, logScale: logB).item()
        let expected = (0.5 / 1 + 0) / 2 + (0.25 / 0.5 + log(0.5)) / 2
        #expect(Swift.abs(Double(hetero) - expected) < 1e-6)
    }

    @Test func severityIsZScoredAndFlipped() throws {
        let logVar = Tensor(shape: [1, 1, 1, 4], values: [0, 0, 0, Float(log(5.0))])  // variances 1, 1, 1, 5
        let s = try Posterior(mean: Tensor.zeros([1, 1, 1, 4]), logVariance: logVar).severity(height: 1, width: 4).values
        #expect(s[3] < 0 && s[0] > 0)  // the noisiest pixel is the least mild
        #expect(Swift.abs(s.reduce(0, +)) < 1e-5)
        #expect(Swift.abs(s.map { $0 * $0 }.reduce(0, +) / 4 - 1) < 1e-3)
    }

    @Test(arguments: SAVLConfig.CodeMode.allCases) func everyVariantTrainsAStep(code: SAVLConfig.CodeMode) throws {
        var rng = SeededGenerator(seed: 2)
        var config = try SAVLConfig.preset("tiny")
        config.code = code
        if code == .oracle { config.latentDim = SAVLConfig.oracleChannels }
        let model = SAVLModel(config, rng: &rng)
        let lr = Tensor.uniform([2, 3, 8, 8], using: &rng), hr = Tensor.uniform([2, 3, 32, 32], using: &rng)
        let maps = code == .oracle ? Tensor.uniform([2, SAVLConfig.oracleChannels, 8, 8], using: &rng) : nil
        let objective = try model.objective(lr: lr, hr: hr, content: lr, weights: ObjectiveWeights(), maps: maps, rng: &rng)
        try objective.total.backward()
        #expect(model.sr.head.weight.value.grad != nil)
        #expect((model.encoder?.head.weight.value.grad != nil) == (code != .none && code != .oracle))
        #expect(try GradMode.withoutGrad { try model(lr, maps: maps) }.shape == [2, 3, 32, 32])
    }

    @Test func stageTwoLeavesTheEncoderUntouched() throws {
        var rng = SeededGenerator(seed: 3)
        let model = SAVLModel(try .preset("tiny"), rng: &rng)
        let lr = Tensor.uniform([1, 3, 8, 8], using: &rng), hr = Tensor.uniform([1, 3, 32, 32], using: &rng)
        let objective = try model.objective(lr: lr, hr: hr, content: lr, weights: ObjectiveWeights(), stage: 2, rng: &rng)
        try objective.total.backward()
        #expect(model.encoder!.head.weight.value.grad == nil)
        #expect(try objective.kl.item() == 0 && objective.srL1.values == objective.total.values)
    }

    /// Without the SR path into the encoder, the encoder's gradient is that of alpha L_rec + beta KL alone.
    @Test func srLossCanBeKeptOutOfTheEncoder() throws {
        func encoderGradient(srTrainsEncoder: Bool, srOnly: Bool) throws -> [Float] {
            var rng = SeededGenerator(seed: 5)
            let model = SAVLModel(try .preset("tiny"), rng: &rng)
            let lr = Tensor.uniform([1, 3, 8, 8], using: &rng), hr = Tensor.uniform([1, 3, 32, 32], using: &rng)
            let weights = ObjectiveWeights(alpha: 1, beta: 0.01, srTrainsEncoder: srTrainsEncoder)
            let objective = try model.objective(lr: lr, hr: hr, content: lr, weights: weights, rng: &rng)
            try (srOnly ? objective.srL1 : objective.total - objective.srL1).backward()
            return model.encoder!.head.weight.value.grad?.values ?? []
        }
        let joint = try encoderGradient(srTrainsEncoder: true, srOnly: true)
        #expect(!joint.isEmpty && joint.contains { $0 != 0 }, "joint training: the SR loss reaches the encoder")
        #expect(try encoderGradient(srTrainsEncoder: false, srOnly: true).allSatisfy { $0 == 0 })
        let separate = try encoderGradient(srTrainsEncoder: false, srOnly: false)
        #expect(separate == (try encoderGradient(srTrainsEncoder: true, srOnly: false)) && separate.contains { $0 != 0 })
    }

    @Test func objectiveWeightsOfOlderCheckpointsDecode() throws {
        let old = try JSONDecoder().decode(ObjectiveWeights.self, from: Data(#"{"alpha": 1, "beta": 0.001}"#.utf8))
        #expect(old == ObjectiveWeights(alpha: 1, beta: 0.001, srTrainsEncoder: true))
        let new = ObjectiveWeights(alpha: 0.5, beta: 0.01, srTrainsEncoder: false)
        #expect(try JSONDecoder().decode(ObjectiveWeights.self, from: JSONEncoder().encode(new)) == new)
    }

    @Test func scaleTwoAndPresetSizes() throws {
        var rng = SeededGenerator(seed: 4)
        let x2 = SAVLModel(try .preset("tiny", scale: 2), rng: &rng)
        #expect(try GradMode.withoutGrad { try x2(Tensor.zeros([1, 3, 5, 7])) }.shape == [1, 3, 10, 14])
        let small = SAVLModel(try .preset("small"), rng: &rng)
        #expect(small.parameterCount < 1_000_000)
        #expect(small.sr.tail == nil && small.sr.upsample.map(\.weight.value.shape) == [[48, 48, 3, 3]], "direct upsampler: one conv to 3 * 4^2")
        #expect(try GradMode.withoutGrad { try small(Tensor.zeros([1, 3, 6, 5])) }.shape == [1, 3, 24, 20])
        #expect(throws: SAVLError("unknown preset 'huge' (known: tiny, small, paper)")) { try SAVLConfig.preset("huge") }
        var bad = try SAVLConfig.preset("tiny")
        bad.scale = 3
        #expect(throws: SAVLError("model.scale: must be 2 or 4, got 3")) { try bad.validate() }
    }

    /// r_clean is the posterior mean averaged over every pixel of every image, weighted by pixel count.
    @Test func cleanCodeAveragesThePosteriorMean() throws {
        var rng = SeededGenerator(seed: 6)
        let model = SAVLModel(try .preset("tiny"), rng: &rng)
        model.eval()
        let images = [Tensor.uniform([2, 3, 5, 6], using: &rng), Tensor.uniform([1, 3, 9, 4], using: &rng)]
        let code = try #require(try model.cleanCode(of: images))
        let d = model.config.latentDim
        var expected = [Double](repeating: 0, count: d)
        var pixels = 0
        for image in images {
            let mean = try GradMode.withoutGrad { try model.encoder!(image).mean }
            let (n, hw) = (mean.shape[0], mean.shape[2] * mean.shape[3])
            for b in 0..<n { for c in 0..<d { for i in 0..<hw { expected[c] += Double(mean.values[(b * d + c) * hw + i]) } } }
            pixels += n * hw
        }
        for c in 0..<d { #expect(abs(Double(code[c]) - expected[c] / Double(pixels)) < 1e-5) }
        var plain = try SAVLConfig.preset("tiny")
        plain.code = .none
        #expect(try SAVLModel(plain, rng: &rng).cleanCode(of: images) == nil)
    }

    /// The paper preset builds (about 14 M parameters) and runs a forward and backward pass on a small input,
    /// including an input that is not a multiple of the attention window.
    @Test func paperPresetBuildsAndRuns() throws {
        var rng = SeededGenerator(seed: 5)
        let model = SAVLModel(try .preset("paper"), rng: &rng)
        print("paper preset parameters: \(model.parameterCount)")
        #expect(model.parameterCount > 12_000_000 && model.parameterCount < 15_000_000)
        let lr = Tensor.uniform([1, 3, 16, 16], using: &rng), hr = Tensor.uniform([1, 3, 64, 64], using: &rng)
        let objective = try model.objective(lr: lr, hr: hr, content: lr, weights: ObjectiveWeights(), rng: &rng)
        try objective.total.backward()
        let block = model.sr.groups[0].blocks[1] as! GuidedAttentionBlock
        #expect(block.relativePositionBias.value.grad != nil && block.severityWeight!.value.grad != nil)
        #expect(try GradMode.withoutGrad { try model(Tensor.zeros([1, 3, 10, 12])) }.shape == [1, 3, 40, 48])
    }
}

@Suite struct ModelFileTests {
    @Test func roundTripAndErrorsNameTheMismatch() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("savl-modelfile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var rng = SeededGenerator(seed: 9)
        let model = SAVLModel(try .preset("tiny"), rng: &rng)
        let url = dir.appendingPathComponent("tiny.safetensors")
        try ModelFile.save(model, to: url)
        let (loaded, metadata) = try ModelFile.load(from: url)
        #expect(metadata["preset"] == "tiny" && loaded.config == model.config)
        let x = Tensor.uniform([1, 3, 6, 6], using: &rng)
        #expect(try GradMode.withoutGrad { try loaded(x).values == model(x).values })

        var weights = model.stateDict()
        weights["sr.tail.weight"] = Tensor.zeros([3, 8, 1, 1])
        let bad = dir.appendingPathComponent("bad.safetensors")
        try ModelFile.save(model, weights: weights, to: bad)
        #expect(throws: SAVLError("\(bad.path): weights do not match the tiny x4 architecture: parameter 'sr.tail.weight': expected shape [3, 8, 3, 3], got [3, 8, 1, 1]")) {
            try ModelFile.load(from: bad)
        }
        let foreign = dir.appendingPathComponent("foreign.safetensors")
        try SafeTensors.write(["w": Tensor.zeros([1])], metadata: ["architecture": "RRDBNet"], to: foreign)
        #expect(throws: SAVLError("\(foreign.path): not a savl model file (architecture 'RRDBNet'; expected format 'savl-model', architecture 'savl')")) {
            try ModelFile.load(from: foreign)
        }
    }
}
