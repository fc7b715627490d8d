import Foundation
import Imaging
import SAVL
import SeededRandom
import Tensors
import Testing
@testable import Training

/// The SR network's bicubic skip: an untrained network is the field's bicubic interpolation, and files
/// written before the skip was a choice still load as bilinear.
@Suite struct BicubicSkipTests {
    /// `resize2d(.bicubic)` agrees with Imaging's MATLAB bicubic (written and tested independently, against
    /// MATLAB's numbers) at x2, x3 and x4 on odd sizes, edges included.
    @Test(arguments: [2, 3, 4]) func tensorBicubicIsMatlabBicubic(scale: Int) throws {
        var rng = SeededGenerator(seed: UInt64(scale))
        let (w, h) = (7, 5)
        let x = Tensor.uniform([1, 3, h, w], using: &rng)
        let image = Image(width: w, height: h, channels: 3, planes: x.values)
        let expected = resize(image, width: w * scale, height: h * scale, method: .matlabBicubic).planes
        let got = try resize2d(x, height: h * scale, width: w * scale, mode: .bicubic).values
        let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 1e-5, "largest difference \(worst)")
    }

    @Test func bicubicRefusesToShrink() throws {
        #expect(throws: TensorError.self) { try resize2d(Tensor.zeros([1, 1, 8, 8]), height: 4, width: 8, mode: .bicubic) }
    }

    /// With the last conv at zero, every preset's fresh network returns bicubic interpolation exactly,
    /// with or without a code.
    @Test(arguments: [("tiny", SAVLConfig.CodeMode.variational, 4), ("tiny", .none, 2), ("small", .none, 4), ("small", .variational, 4)])
    func freshNetworkIsBicubicInterpolation(preset: String, code: SAVLConfig.CodeMode, scale: Int) throws {
        var config = try SAVLConfig.preset(preset, scale: scale)
        config.code = code
        config.skip = .bicubic
        var rng = SeededGenerator(seed: 3)
        let model = SAVLModel(config, rng: &rng)
        let x = Tensor.uniform([1, 3, 9, 11], using: &rng)
        let out = try GradMode.withoutGrad { try model(x) }
        let bicubic = try resize2d(x, height: 9 * scale, width: 11 * scale, mode: .bicubic)
        #expect(out.values == bicubic.values)
    }

    @Test func skipRoundTripsAndOldFilesReadAsBilinear() throws {
        var config = try SAVLConfig.preset("tiny")
        config.skip = .bicubic
        let json = try JSONEncoder().encode(config)
        #expect(try JSONDecoder().decode(SAVLConfig.self, from: json) == config)
        var fields = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        fields["skip"] = nil
        let old = try JSONDecoder().decode(SAVLConfig.self, from: JSONSerialization.data(withJSONObject: fields))
        #expect(old.skip == .bilinear)
        #expect(try TrainingConfig.load(yaml: "", overrides: ["model.skip=bicubic"]).model.skip == .bicubic)
        #expect(try TrainingConfig.load(yaml: "").model.skip == .bilinear)
    }
}
