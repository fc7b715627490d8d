import Dispatch
import SAVL
import SeededRandom
import Tensors

/// `savl bench --model`: the inference time of a SAVL model on one LR image, as a user's upscale runs it
/// (posterior mode, encoder and SR network) but on the whole image at once, so that it is the same work
/// as the PyTorch reference.
public enum ModelInferenceBenchmark {
    /// Median milliseconds, LR megapixels per second and peak memory of `repeats` runs after one warm-up.
    public static func run(model spec: String, size: Int, repeats: Int) throws -> [String: Double] {
        let loaded = try UpscaleModels.load(spec)
        var rng = SeededGenerator(seed: 0)
        let input = Tensor.uniform([1, 3, size, size], using: &rng)
        let model = loaded.model
        func once() throws -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try GradMode.withoutGrad { try model(input) }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        }
        _ = try once()
        let times = try (0..<repeats).map { _ in try once() }
        let median = times.median
        return [
            "infer_ms": median, "lr_megapixels_per_s": Double(size * size) / 1e6 / (median / 1000),
            "params": Double(model.parameterCount), "peak_rss_mb": ProcessMemory.peakResidentMegabytes(), "size": Double(size),
            "scale": Double(model.config.scale),
        ]
    }
}
