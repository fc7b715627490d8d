import Foundation
import SeededRandom
import Testing
@testable import Layers
@testable import SAVL
@testable import Tensors

/// Cross-content re-degradation and the oracle: the objective reads what it should, and nothing else.
@Suite struct CodeRecipeTests {
    /// With `crossContent` the likelihood term is the decoder's re-creation of y_B from (z_B, r_A),
    /// where r_A is the sample of the posterior of y_A; without it, of y_A from (z_A, r_A).
    @Test(arguments: [false, true]) func reconstructionTargetsThePartner(crossContent: Bool) throws {
        var rng = SeededGenerator(seed: 11)
        let model = SAVLModel(try .preset("tiny"), rng: &rng)
        let lr = Tensor.uniform([2, 3, 8, 8], using: &rng), hr = Tensor.uniform([2, 3, 32, 32], using: &rng)
        let content = Tensor.uniform([2, 3, 8, 8], using: &rng)
        let partner = Partner(lr: Tensor.uniform([2, 3, 8, 8], using: &rng), content: Tensor.uniform([2, 3, 8, 8], using: &rng))
        let eps = Tensor.normal([2, model.config.latentDim, 8, 8], using: &rng)
        let weights = ObjectiveWeights(crossContent: crossContent)
        let objective = try model.objective(lr: lr, hr: hr, content: content, weights: weights, partner: partner, noise: eps, rng: &rng)

        let expected = try GradMode.withoutGrad { () -> Float in
            let code = try model.encoder!(lr).sample(noise: eps, rng: &rng)
            let (target, z) = crossContent ? (partner.lr, partner.content) : (lr, content)
            let (reconstruction, _) = try model.decoder!(content: z, code: code)
            return try l1Loss(reconstruction, target).item()
        }
        #expect(Swift.abs(try objective.reconstruction.item() - expected) < 1e-6)
        try objective.total.backward()
        #expect(model.encoder!.head.weight.value.grad?.values.contains { $0 != 0 } == true, "r_A is trained through B's likelihood")
    }

    @Test func crossContentNeedsThePartnerInStageOne() throws {
        var rng = SeededGenerator(seed: 12)
        let model = SAVLModel(try .preset("tiny"), rng: &rng)
        let lr = Tensor.uniform([1, 3, 8, 8], using: &rng), hr = Tensor.uniform([1, 3, 32, 32], using: &rng)
        let weights = ObjectiveWeights(crossContent: true)
        #expect(throws: SAVLError("cross-content re-degradation needs the partner crop B in stage 1")) {
            try model.objective(lr: lr, hr: hr, content: lr, weights: weights, rng: &rng)
        }
        let small = Partner(lr: Tensor.zeros([1, 3, 4, 4]), content: Tensor.zeros([1, 3, 4, 4]))
        #expect(throws: SAVLError.self) { try model.objective(lr: lr, hr: hr, content: lr, weights: weights, partner: small, rng: &rng) }
        // Stage 2 trains the SR network alone and needs no partner.
        _ = try model.objective(lr: lr, hr: hr, content: lr, weights: weights, stage: 2, rng: &rng)
    }

    /// The oracle has no encoder or decoder; its guidance modules read the maps, zero-padded to d channels.
    @Test func oracleIsGuidedByTheMaps() throws {
        var rng = SeededGenerator(seed: 13)
        var config = try SAVLConfig.preset("tiny")
        config.code = .oracle
        #expect(throws: SAVLError("model.latentDim: must be at least 6 for the oracle (the maps it reads), got 4")) { try config.validate() }
        config.latentDim = 8
        try config.validate()
        let model = SAVLModel(config, rng: &rng)
        #expect(model.encoder == nil && model.decoder == nil)
        let lr = Tensor.uniform([2, 3, 8, 8], using: &rng), hr = Tensor.uniform([2, 3, 32, 32], using: &rng)
        let maps = Tensor.uniform([2, SAVLConfig.oracleChannels, 8, 8], using: &rng)

        #expect(throws: SAVLError("an oracle model reads ground-truth degradation maps; none were given")) { try model(lr) }
        #expect(throws: SAVLError("maps have shape [2, 3, 8, 8]; expected [2, 6, 8, 8]")) { try model(lr, maps: lr) }
        let objective = try model.objective(lr: lr, hr: hr, content: lr, weights: ObjectiveWeights(), maps: maps, rng: &rng)
        #expect(objective.total.values == objective.srL1.values)
        try objective.total.backward()
        let guide = try #require((model.sr.groups[0].blocks[0] as? GuidedConvBlock)?.guide)
        #expect(guide.channel1.weight.value.grad?.values.contains { $0 != 0 } == true)
        #expect(guide.spatial?.weight.value.grad?.values.contains { $0 != 0 } == true)

        let out = try GradMode.withoutGrad { try model(lr, maps: maps) }
        let other = try GradMode.withoutGrad { try model(lr, maps: maps * 0.5) }
        #expect(out.shape == [2, 3, 32, 32] && out.values != other.values)
    }

    @Test func oracleGuidanceLayout() throws {
        let maps = Tensor(shape: [1, 2, 1, 2], values: [0, 1, 0, 3])  // channel mean per pixel: 0, 2
        let guidance = try Guidance.oracle(maps: maps, latentDim: 4)
        #expect(guidance.mean?.shape == [1, 4, 1, 2] && guidance.mean?.values == [0, 1, 0, 3, 0, 0, 0, 0])
        let s = try #require(guidance.severity).values
        #expect(s[0] > 0.99 && s[1] < -0.99, "the more degraded pixel is the less mild")
        #expect(try Guidance.oracle(maps: Tensor.zeros([1, 6, 3, 3]), latentDim: 6).severity?.values.allSatisfy { $0 == 0 } == true)
    }

    @Test func crossContentOfOlderCheckpointsIsOff() throws {
        let old = try JSONDecoder().decode(ObjectiveWeights.self, from: Data(#"{"alpha": 1, "beta": 0.01, "srTrainsEncoder": true}"#.utf8))
        #expect(old.crossContent == false && old.freeBits == 0)
        let new = ObjectiveWeights(crossContent: true)
        #expect(try JSONDecoder().decode(ObjectiveWeights.self, from: JSONEncoder().encode(new)) == new)
    }

    /// Free bits: each channel's KL (mean over batch and pixels) counts as at least λ, with no gradient
    /// below it; above λ in every channel it is the plain KL. Checked by hand and by finite differences.
    @Test func freeBitsFloorEachChannelsKL() throws {
        // Channel 0: mu 1, log var 0 -> KL 0.5 per value; channel 1: mu 0.1, log var 0 -> KL 0.005.
        let mean = Tensor(shape: [1, 2, 1, 2], values: [1, 1, 0.1, 0.1], requiresGrad: true)
        let logVariance = Tensor(shape: [1, 2, 1, 2], values: [0, 0, 0, 0], requiresGrad: true)
        let post = Posterior(mean: mean, logVariance: logVariance)
        #expect(Swift.abs(try post.klToStandardNormal().item() - 0.505) < 1e-6)
        let floored = try post.klWithFreeBits(0.1)
        #expect(Swift.abs(try floored.item() - 0.6) < 1e-6, "0.5 + max(0.005, 0.1)")
        try floored.backward()
        let g = try #require(mean.grad).values
        #expect(Swift.abs(g[0] - 0.5) < 1e-6 && Swift.abs(g[1] - 0.5) < 1e-6, "d/d mu of mean(mu^2 / 2) over 2 pixels")
        #expect(g[2] == 0 && g[3] == 0, "a channel under the floor gets no gradient")
        #expect(Swift.abs(try post.klWithFreeBits(0.001).item() - 0.505) < 1e-6)

        // Finite differences through the floor's active branch.
        func value(_ mu: [Float], _ lv: [Float]) throws -> Float {
            try Posterior(mean: Tensor(shape: [1, 2, 1, 2], values: mu), logVariance: Tensor(shape: [1, 2, 1, 2], values: lv))
                .klWithFreeBits(0.1).item()
        }
        let mu: [Float] = [1, 0.5, 0.1, 0.1], lv: [Float] = [0.3, -0.2, 0, 0]
        let m = Tensor(shape: [1, 2, 1, 2], values: mu, requiresGrad: true), l = Tensor(shape: [1, 2, 1, 2], values: lv, requiresGrad: true)
        try Posterior(mean: m, logVariance: l).klWithFreeBits(0.1).backward()
        let h: Float = 1e-3
        for i in 0..<2 {
            var up = lv, down = lv
            up[i] += h
            down[i] -= h
            let numeric = (try value(mu, up) - value(mu, down)) / (2 * h)
            #expect(Swift.abs(numeric - l.grad!.values[i]) < 1e-3, "log variance \(i): \(numeric) vs \(l.grad!.values[i])")
        }
    }

    /// The objective's total uses the floored KL; the KL it reports is the plain one.
    @Test func objectiveReportsThePlainKLWithFreeBits() throws {
        var rng = SeededGenerator(seed: 4)
        let model = SAVLModel(try .preset("tiny"), rng: &rng)
        let lr = Tensor.uniform([2, 3, 8, 8], using: &rng), hr = Tensor.uniform([2, 3, 32, 32], using: &rng)
        let content = Tensor.uniform([2, 3, 8, 8], using: &rng)
        let noise = Tensor.zeros([2, model.config.latentDim, 8, 8])
        var r1 = SeededGenerator(seed: 1), r2 = SeededGenerator(seed: 1)
        let plain = try model.objective(lr: lr, hr: hr, content: content, weights: ObjectiveWeights(beta: 1), noise: noise, rng: &r1)
        let free = try model.objective(lr: lr, hr: hr, content: content, weights: ObjectiveWeights(beta: 1, freeBits: 10), noise: noise, rng: &r2)
        #expect(try free.kl.item() == plain.kl.item())
        let d = Float(model.config.latentDim)
        #expect(Swift.abs(try free.total.item() - (plain.total.item() - plain.kl.item() + 10 * d)) < 1e-3)
    }
}
