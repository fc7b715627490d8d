import Foundation
import Layers
import SAVL
import SeededRandom
import Testing
import Tensors

/// The memory of one attention block's training step, counted by `StorageMeter` (bytes of tensor storage,
/// not the process's resident memory): the `small` preset's attention block (48 features, window 8, 4 heads)
/// on a 16 x 16 crop, 4 windows of 64 tokens.
///
/// The block's largest tensors are its attention logits, (4 windows, 4 heads, 64, 64) floats; the tape keeps
/// the bytes of 10-13 of them (three or four tensors of that size, the rest token tensors), and backward
/// 3-4 more at once. A tensor of windows x heads x 64^3 floats would be 64 logits alone.
@Suite struct AttentionMemoryTests {
    static let logitsBytes = 4 * 4 * 64 * 64 * MemoryLayout<Float>.size

    @Test(arguments: [false, true])
    func oneStepFreesEverythingAndStaysNearTheLogitsSize(shifted: Bool) throws {
        var config = try SAVLConfig.preset("small")
        config.blockKind = .attention
        config.code = .none
        var rng = SeededGenerator(seed: 1)
        let block = GuidedAttentionBlock(config, shifted: shifted, rng: &rng)
        var taped = 0
        let meter = try StorageMeter.measure { meter in
            var rng = SeededGenerator(seed: 2)
            let x = Tensor.normal([1, 48, 16, 16], using: &rng, requiresGrad: true)
            let y = try block(x, Guidance(mean: nil, severity: nil))
            taped = meter.liveBytes
            try (y * y).mean().backward()
            #expect(x.grad != nil)
        }
        let peak = meter.peakBytes
        block.zeroGrad()
        print(String(format: "attention block (shifted: %@): %.2f MB on the tape after forward, %.2f MB at the peak of backward, %d bytes left",
                     "\(shifted)", Double(taped) / 1e6, Double(peak) / 1e6, meter.liveBytes))
        #expect(meter.liveBytes == 0, "\(meter.liveBytes) bytes of the step are still allocated after its tensors and the gradients went away")
        #expect(taped <= 16 * Self.logitsBytes, "the tape holds \(taped) bytes after forward")
        #expect(peak <= 24 * Self.logitsBytes, "\(peak) bytes at once during the step")
    }
}
