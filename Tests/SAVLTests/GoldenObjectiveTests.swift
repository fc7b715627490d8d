import Foundation
import Layers
import SAVL
import SeededRandom
import Testing
import Tensors

/// The whole stage-1 objective of the `tiny` preset against PyTorch 2.13 (scripts/make_savl_fixtures.py):
/// a PyTorch re-implementation of the model with the same weights, inputs and noise eps gives the terms
/// L1(SR, HR), L_rec, KL and total = L1 + alpha L_rec + beta KL (alpha 1, beta 0.01), and the gradient of
/// total for every parameter. Checked on both kernel paths, for the preset and three ablations.
///
/// The fixture's values are computed in float64 and rounded once to float32, and every weight and input is
/// exactly representable in float16, so both sides start from identical numbers. No LeakyReLU, clamp or
/// |.| input lies within 5e-5 of its kink (the script picks its seed for that), so float32 rounding cannot
/// switch a branch.
@Suite(.serialized) struct GoldenObjectiveTests {
    /// A variant of the `tiny` preset whose stage-1 objective has a fixture `savl_objective_<name>.safetensors`.
    struct Variant: Sendable, CustomTestStringConvertible {
        let name: String
        /// The changes to the `tiny` preset.
        let configure: @Sendable (inout SAVLConfig) -> Void
        /// Prefix of the parameters whose gradient the variant leaves unchanged: its fixture omits them and the
        /// preset's fixture holds them (the script checks, in float64, that they are bitwise equal).
        let sharedWithPreset: String?

        var testDescription: String { name }

        static let all: [Variant] = [
            Variant(name: "tiny", configure: { _ in }, sharedWithPreset: nil),
            // Only the decoder changes: the SR network reads the same posterior mean and severity map.
            Variant(name: "heteroscedastic", configure: { $0.likelihood = .heteroscedastic }, sharedWithPreset: "sr."),
            Variant(name: "deterministic", configure: { $0.code = .deterministic }, sharedWithPreset: nil),
            Variant(name: "global", configure: { $0.code = .global }, sharedWithPreset: nil),
            Variant(name: "smooth", configure: { $0.codeWindow = 5 }, sharedWithPreset: nil),
        ]
    }

    static let paths: [KernelPath] = [.reference, .fast]

    /// Relative tolerance on every entry.
    static let rtol: Float = 1e-4
    /// Absolute floor, as a fraction of the largest magnitude of the tensor compared. A gradient entry is a sum
    /// over pixels and batch of products the size of the tensor's largest entries; where the sum cancels to near
    /// zero its float32 rounding error stays on the scale of those terms, not of the result, so a purely relative
    /// bound fails on rounding alone: PyTorch's own float32 gradients have entries 1e-5 of the maximum that are
    /// off by up to 5e-4 relative. The floor is still far below any real error (a wrong op, a flipped branch or
    /// a missing path shifts entries by a sizeable fraction of the maximum), and PyTorch in float32 stays within
    /// 5% of the whole tolerance (the script prints it).
    static let atolOfMax: Float = 1e-5

    /// The file `name` of Tests/SAVLTests/Fixtures.
    static func fixture(_ name: String) throws -> SafeTensorsFile {
        let folder = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return try SafeTensorsFile(contentsOf: folder.appendingPathComponent(name))
    }

    /// Whether `actual` matches `expected` in shape and, entry by entry, within
    /// `rtol * |expected| + atolOfMax * max|expected|`; records the worst entry and the count of failing ones otherwise.
    @discardableResult
    static func expectMatchesPyTorch(_ actual: Tensor, _ expected: Tensor, _ what: String,
                                     sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        guard actual.shape == expected.shape else {
            Issue.record("\(what): shape \(actual.shape), PyTorch has \(expected.shape)", sourceLocation: sourceLocation)
            return false
        }
        let a = actual.values, e = expected.values
        let floor = atolOfMax * (e.map { Swift.abs($0) }.max() ?? 0)
        var worst: (index: Int, ratio: Float)?
        var failing = 0
        for i in e.indices {
            let error = Swift.abs(a[i] - e[i]), bound = rtol * Swift.abs(e[i]) + floor
            guard !(error <= bound) else { continue }
            failing += 1
            let ratio = error.isNaN ? Float.infinity : (bound > 0 ? error / bound : .infinity)
            if ratio > (worst?.ratio ?? -1) { worst = (i, ratio) }
        }
        guard let worst else { return true }
        Issue.record("""
            \(what): \(failing) of \(e.count) entries off; worst entry \(worst.index) is \(a[worst.index]), \
            PyTorch has \(e[worst.index]) (\(worst.ratio) times the tolerance)
            """, sourceLocation: sourceLocation)
        return false
    }

    @Test(arguments: Variant.all, paths)
    func objectiveAndGradients(_ variant: Variant, _ path: KernelPath) throws {
        var config = try SAVLConfig.preset("tiny")
        variant.configure(&config)
        var rng = SeededGenerator(seed: 7)
        let model = SAVLModel(config, rng: &rng)

        // The preset's weights, with the variant's parameters of another shape in their place; the strict
        // load fails on any name the model has and the fixture lacks, or the other way round.
        let golden = try Self.fixture("savl_objective_\(variant.name).safetensors")
        var state = try Self.fixture("savl_tiny_weights.safetensors").tensors
        for (key, tensor) in golden.tensors where key.hasPrefix("param.") {
            let name = String(key.dropFirst("param.".count))
            #expect(state[name] != nil, "\(key) replaces no parameter of the preset")
            state[name] = tensor
        }
        try model.load(stateDict: state)

        let inputs = try Self.fixture("savl_tiny_inputs.safetensors")
        let lr = try inputs.tensor("lr", shape: [2, 3, 12, 12])
        let hr = try inputs.tensor("hr", shape: [2, 3, 48, 48])
        let content = try inputs.tensor("content", shape: [2, 3, 12, 12])
        let noise = config.code == .global
            ? try inputs.tensor("noise_global", shape: [2, config.latentDim, 1, 1])
            : try inputs.tensor("noise", shape: [2, config.latentDim, 12, 12])

        let objective = try Kernel.with(path) {
            let objective = try model.objective(lr: lr, hr: hr, content: content, weights: ObjectiveWeights(alpha: 1, beta: 0.01),
                                                stage: 1, noise: noise, rng: &rng)
            try objective.total.backward()
            return objective
        }

        let label = "\(variant.name) [\(path)]"
        let terms = [("total", objective.total), ("srL1", objective.srL1), ("reconstruction", objective.reconstruction), ("kl", objective.kl)]
        for (term, value) in terms {
            try Self.expectMatchesPyTorch(value.reshaped([]), golden.tensor(term, shape: []), "\(label) \(term)")
        }

        let preset = variant.sharedWithPreset == nil ? golden : try Self.fixture("savl_objective_tiny.safetensors")
        let parameters = model.namedParameters()
        for (name, parameter) in parameters {
            let shared = variant.sharedWithPreset.map { name.hasPrefix($0) } ?? false
            guard let expected = (shared ? preset : golden).tensors["grad.\(name)"] else {
                Issue.record("\(label): the fixture has no gradient of \(name)")
                continue
            }
            guard let gradient = parameter.value.grad else {
                Issue.record("\(label): no gradient reached \(name)")
                continue
            }
            Self.expectMatchesPyTorch(gradient, expected, "\(label) gradient of \(name)")
        }

        // Every tensor of the fixture is a term, the gradient of a parameter the variant computes, or a weight.
        let names = Set(parameters.map(\.name))
        for key in golden.tensors.keys.sorted() where !terms.contains(where: { $0.0 == key }) {
            if key.hasPrefix("grad."), case let name = String(key.dropFirst("grad.".count)), names.contains(name),
               !(variant.sharedWithPreset.map { name.hasPrefix($0) } ?? false) { continue }
            if key.hasPrefix("param."), names.contains(String(key.dropFirst("param.".count))) { continue }
            Issue.record("\(label): fixture tensor \(key) matches nothing of the model")
        }
    }

    /// Every objective fixture the script wrote has a variant here.
    @Test func everyFixtureVariantIsTested() throws {
        let folder = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        let written = Set(files.filter { $0.hasPrefix("savl_objective_") && $0.hasSuffix(".safetensors") }
            .map { String($0.dropFirst("savl_objective_".count).dropLast(".safetensors".count)) })
        #expect(written == Set(Variant.all.map(\.name)))
    }
}
