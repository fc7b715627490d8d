import Foundation
import Layers
import SAVL
import SeededRandom
import Testing
import Tensors

/// The `attention` family block against PyTorch 2.13 (scripts/make_attention_fixtures.py): a reference written
/// from Swin Transformer's code (window partition, relative position bias, cyclic shift with its -100 mask, MLP,
/// LayerNorm) plus DSCA's channel gate from mu and -gamma_h |s_i - s_j| in the logits, with the same weights and
/// inputs, gives the output and the gradients of sum(output * lossWeight) for the input x, mu, the severity map
/// and every parameter. Batch 2, 8 channels, 8 x 12 pixels, window 4, 2 heads; checked on both kernel paths.
///
/// Tolerance: as `GoldenObjectiveTests`, and for the same reasons. The fixture holds float64 results rounded
/// once to float32, and weights and inputs are float16-exact, so both sides start from identical numbers.
/// Each entry must be within `rtol |e| + atolOfMax max|e|` (1e-4 relative, plus 1e-5 of the tensor's largest
/// magnitude for gradient entries that are sums cancelling near zero). PyTorch's own float32 evaluation uses at
/// most 15% of that (the script checks it is under half); a wrong index, shift, mask or scale moves entries by a
/// sizeable fraction of the maximum. No LeakyReLU input and no off-diagonal s_i - s_j lies within 5e-5 of 0.
@Suite(.serialized) struct GoldenAttentionTests {
    /// A fixture `attention_<name>.safetensors`.
    struct Variant: Sendable, CustomTestStringConvertible {
        let name: String
        let shifted: Bool
        /// With mu and the severity map (the DSCA channel gate and the severity weights exist).
        let guided: Bool

        var testDescription: String { name }

        static let all: [Variant] = [
            Variant(name: "window", shifted: false, guided: true),
            Variant(name: "shifted", shifted: true, guided: true),
            Variant(name: "unguided", shifted: true, guided: false),
        ]
    }

    static let paths: [KernelPath] = [.reference, .fast]

    /// The worst entry's error as a fraction of the test's tolerance (below 1 passes), for the printed summary.
    static func toleranceUsed(_ actual: Tensor, _ expected: Tensor) -> Float {
        guard actual.shape == expected.shape else { return .infinity }
        let e = expected.values, floor = GoldenObjectiveTests.atolOfMax * (e.map { Swift.abs($0) }.max() ?? 0)
        return zip(actual.values, e).map { a, e in
            let bound = GoldenObjectiveTests.rtol * Swift.abs(e) + floor
            return a == e ? 0 : (bound > 0 ? Swift.abs(a - e) / bound : .infinity)
        }.max() ?? 0
    }

    @Test(arguments: Variant.all, paths)
    func outputAndGradients(_ variant: Variant, _ path: KernelPath) throws {
        var config = try SAVLConfig.preset("tiny")  // 8 features, d = 4, window 4, 2 heads, MLP ratio 2
        config.blockKind = .attention
        if !variant.guided { config.code = .none }
        var rng = SeededGenerator(seed: 3)
        let block = GuidedAttentionBlock(config, shifted: variant.shifted, rng: &rng)

        let inputs = try GoldenObjectiveTests.fixture("attention_inputs.safetensors")
        let golden = try GoldenObjectiveTests.fixture("attention_\(variant.name).safetensors")
        // The strict load fails on any parameter the block has and the fixture lacks, or the other way round.
        let names = Set(block.namedParameters().map(\.name))
        let state = inputs.tensors.reduce(into: [String: Tensor]()) { state, entry in
            let name = String(entry.key.dropFirst("param.".count))
            if entry.key.hasPrefix("param."), names.contains(name) { state[name] = entry.value }
        }
        try block.load(stateDict: state)

        let x = try inputs.tensor("x", shape: [2, 8, 8, 12]).requiringGrad()
        let mean = try inputs.tensor("mean", shape: [2, 4, 8, 12]).requiringGrad()
        let severity = try inputs.tensor("severity", shape: [2, 1, 8, 12]).requiringGrad()
        let lossWeight = try inputs.tensor("lossWeight", shape: [2, 8, 8, 12])
        let guidance = variant.guided ? Guidance(mean: mean, severity: severity) : Guidance(mean: nil, severity: nil)

        let output = try Kernel.with(path) {
            let output = try block(x, guidance)
            try (output * lossWeight).sum().backward()
            return output
        }

        let label = "attention \(variant.name) [\(path)]"
        var compared = [(String, Tensor, Tensor)]()
        compared.append(("output", output, try golden.tensor("output", shape: [2, 8, 8, 12])))
        var gradients: [(String, Tensor)] = [("x", x)]
        if variant.guided { gradients += [("mean", mean), ("severity", severity)] }
        gradients += block.namedParameters().map { ($0.name, $0.parameter.value) }
        for (name, tensor) in gradients {
            guard let expected = golden.tensors["grad.\(name)"] else {
                Issue.record("\(label): the fixture has no gradient of \(name)")
                continue
            }
            guard let gradient = tensor.grad else {
                Issue.record("\(label): no gradient reached \(name)")
                continue
            }
            compared.append(("gradient of \(name)", gradient, expected))
        }
        var worst: (what: String, used: Float) = ("", 0)
        for (what, actual, expected) in compared {
            GoldenObjectiveTests.expectMatchesPyTorch(actual, expected, "\(label) \(what)")
            let used = Self.toleranceUsed(actual, expected)
            if used > worst.used { worst = (what, used) }
        }
        print("\(label): \(compared.count) tensors, worst \(worst.what) at \(worst.used) of the tolerance")

        // Every tensor of the fixture was compared.
        let keys = Set(["output"] + gradients.map { "grad.\($0.0)" })
        for key in golden.tensors.keys.sorted() where !keys.contains(key) {
            Issue.record("\(label): fixture tensor \(key) matches nothing of the block")
        }
    }

    /// Every attention fixture the script wrote has a variant here.
    @Test func everyFixtureVariantIsTested() throws {
        let folder = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        let written = Set(files.filter { $0.hasPrefix("attention_") && $0.hasSuffix(".safetensors") && $0 != "attention_inputs.safetensors" }
            .map { String($0.dropFirst("attention_".count).dropLast(".safetensors".count)) })
        #expect(written == Set(Variant.all.map(\.name)))
    }
}
