import Degradations
import Imaging

/// Keeps an upscaled image's colours those of its input: the output's local mean, seen at the input's
/// resolution and smoothed by a Gaussian of `sigma` LR pixels, is replaced by the input's.
///
/// Blur, noise, JPEG and downscaling all keep a picture's local mean colour, so a faithful upscale has
/// the input's local means, and any difference is a shift the network made. A network trained on
/// degraded pairs learns such shifts: noise clipped at black and white makes the LR of a bright area
/// darker than its HR, so it learns to brighten bright areas and darken dark ones, and does so on clean
/// photos too (the default model v2 turned flat (240, 240, 240) into (250, 251, 250) and (20, 40, 200)
/// into (10, 37, 202)). A small `sigma` also puts back detail the network smoothed away and, on noisy
/// input, some of the noise it removed: 2 LR pixels was the largest gain on clean and mild photos
/// that cost nothing on heavily degraded ones (README, "Colour fidelity").
public struct ColourCorrection: Sendable {
    /// Gaussian sigma of the local mean, in LR pixels; 0 turns the correction off.
    public let sigma: Float

    /// A correction over a Gaussian of `sigma` LR pixels (0: off).
    public init(sigma: Float) { self.sigma = sigma }

    /// The default `sigma`.
    public static let defaultSigma: Float = 2

    /// Whether it changes anything.
    public var isOn: Bool { sigma > 0 }

    /// Refuses a sigma no one can mean: negative, not a number, or wider than any image needs.
    public static func validate(_ sigma: Float) throws {
        guard sigma.isFinite, (0...64).contains(sigma) else {
            throw RestorationError("--colour-correction must be 0 (off) or a sigma up to 64 input pixels, not \(sigma)")
        }
    }

    /// Corrects channels `channels` of `output` in place against the same channels of `input`. Works at any
    /// size ratio; holds nothing of the output's size beyond the output itself.
    public func apply(to output: inout Image, channels: Range<Int>, input: Image) {
        guard isOn else { return }
        let (w, h) = (input.width, input.height)
        let seen = resize(output, width: w, height: h, method: .area)
        var difference = Image(width: w, height: h, channels: channels.count, value: 0)
        for (k, c) in channels.enumerated() {
            for i in 0..<(w * h) {
                difference.planes[k * w * h + i] = input.planes[c * w * h + i] - seen.planes[c * w * h + i]
            }
        }
        let radius = max(1, Int((3 * sigma).rounded(.up)))
        let kernel = BlurKernel(KernelParameters(size: 2 * radius + 1,
                                                 shape: .gaussian(sigmaX: Double(sigma), sigmaY: Double(sigma), rotation: 0)))
        let shift = filter(difference, with: kernel)
        addBilinear(shift, to: &output, from: channels.lowerBound)
    }

    /// Adds `low`, upscaled bilinearly (half-pixel centres, clamped edges) to the size of `output`, to
    /// `output`'s channels from `first` on.
    private func addBilinear(_ low: Image, to output: inout Image, from first: Int) {
        let (w, h, W, H) = (low.width, low.height, output.width, output.height)
        func taps(_ i: Int, _ n: Int, _ big: Int) -> (Int, Int, Float) {
            let p = min(max((Float(i) + 0.5) * Float(n) / Float(big) - 0.5, 0), Float(n - 1))
            let i0 = Int(p)
            return (i0, min(i0 + 1, n - 1), p - Float(i0))
        }
        let columns = (0..<W).map { taps($0, w, W) }
        low.planes.withUnsafeBufferPointer { src in
            output.planes.withUnsafeMutableBufferPointer { dst in
                for c in 0..<low.channels {
                    let plane = src.baseAddress! + c * w * h
                    for y in 0..<H {
                        let (y0, y1, fy) = taps(y, h, H)
                        let (r0, r1) = (plane + y0 * w, plane + y1 * w)
                        let row = dst.baseAddress! + ((first + c) * H + y) * W
                        for (x, (x0, x1, fx)) in columns.enumerated() {
                            let top = r0[x0] + (r0[x1] - r0[x0]) * fx, bottom = r1[x0] + (r1[x1] - r1[x0]) * fx
                            row[x] += top + (bottom - top) * fy
                        }
                    }
                }
            }
        }
    }
}
