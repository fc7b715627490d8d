import ArgumentParser
import Tensors

/// The engine's precision, visible to every command's file (not all of them import Tensors).
typealias Precision = Tensors.Precision

extension Precision: ExpressibleByArgument {
    /// The help text of `--precision`, shared by the commands that take it.
    static let help = ArgumentHelp(
        "Arithmetic of convolutions and matrix products: f32, bf16 (mixed precision: bf16 inputs, f32 accumulation, weights and outputs; needs AMX or avx512_core_bf16) or auto (bf16 where the CPU has AMX, where it measured 1.5-3.6x faster training and 2.6x faster inference than f32; f32 elsewhere, bit for bit as before).")
}
