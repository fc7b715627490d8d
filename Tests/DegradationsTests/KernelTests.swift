import Foundation
import Imaging
import SeededRandom
import Testing
@testable import Degradations

@Suite("Blur kernels and filtering")
struct KernelTests {
    @Test("every sampled kernel is odd-sized, 7 to 21, and sums to 1")
    func sampledKernelsSumToOne() throws {
        let sampler = try DegradationSampler(config: .preset(.realesrgan))
        var rng = SeededGenerator(seed: 11)
        var kinds = Set<KernelKind>()
        for _ in 0..<600 {
            let parameters = sampler.sampleKernel(sampler.config.first.blur, &rng)
            let kernel = BlurKernel(parameters)
            #expect(kernel.size % 2 == 1 && (7...21).contains(kernel.size))
            let total = kernel.weights.reduce(0.0) { $0 + Double($1) }
            #expect(abs(total - 1) < 1e-5, "kernel \(parameters) sums to \(total)")
            kinds.insert(parameters.kind)
        }
        #expect(kinds == Set(KernelKind.allCases))
    }

    /// Below σ = 1 the sampled Gaussian's discrete second moment departs from σ² (by 15% at σ = 0.5);
    /// that is why the maps record measured widths, not requested ones.
    @Test("Gaussian kernels have the requested second moments", arguments: [1.0, 1.5, 2.0, 3.0])
    func gaussianWidths(sigma: Double) {
        let iso = BlurKernel(KernelParameters(size: 21, shape: .gaussian(sigmaX: sigma, sigmaY: sigma, rotation: 0)))
        let m = iso.secondMoments
        #expect(abs(m.xx - sigma * sigma) / (sigma * sigma) < 0.01)
        #expect(abs(m.yy - sigma * sigma) / (sigma * sigma) < 0.01)
        #expect(abs(m.xy) < 1e-6)
        #expect(abs(iso.width - sigma) / sigma < 0.01)

        // Anisotropic and rotated: the covariance is R diag(σx², σy²) Rᵀ.
        let (sx, sy, theta) = (sigma, 0.6 * sigma + 0.4, 0.6)
        let aniso = BlurKernel(KernelParameters(size: 21, shape: .gaussian(sigmaX: sx, sigmaY: sy, rotation: theta)))
        let c = cos(theta), s = sin(theta)
        let expected = (xx: c * c * sx * sx + s * s * sy * sy, yy: s * s * sx * sx + c * c * sy * sy, xy: c * s * (sx * sx - sy * sy))
        let a = aniso.secondMoments
        let tolerance = 0.02 * sx * sx
        #expect(abs(a.xx - expected.xx) < tolerance && abs(a.yy - expected.yy) < tolerance && abs(a.xy - expected.xy) < tolerance,
                "measured \(a), expected \(expected)")
    }

    @Test("kernel shapes: β = 1 generalized equals Gaussian, plateau is heavier-tailed, sinc narrows with its cutoff")
    func shapes() {
        let g = BlurKernel(KernelParameters(size: 15, shape: .gaussian(sigmaX: 1.5, sigmaY: 1, rotation: 0.3)))
        let gg = BlurKernel(KernelParameters(size: 15, shape: .generalizedGaussian(sigmaX: 1.5, sigmaY: 1, rotation: 0.3, beta: 1)))
        #expect(zip(g.weights, gg.weights).allSatisfy { abs($0 - $1) < 1e-7 })
        let plateau = BlurKernel(KernelParameters(size: 15, shape: .plateau(sigmaX: 1.5, sigmaY: 1.5, rotation: 0, beta: 1)))
        #expect(plateau.width > BlurKernel(KernelParameters(size: 15, shape: .gaussian(sigmaX: 1.5, sigmaY: 1.5, rotation: 0))).width)
        let wide = BlurKernel(KernelParameters(size: 21, shape: .sinc(cutoff: Double.pi / 4)))
        let narrow = BlurKernel(KernelParameters(size: 21, shape: .sinc(cutoff: Double.pi * 0.9)))
        #expect(wide.weights[10 * 21 + 10] < narrow.weights[10 * 21 + 10])
        #expect(abs(wide.weights.reduce(0, +) - 1) < 1e-5)
    }

    @Test("separability is detected only where it holds")
    func separability() {
        #expect(BlurKernel(KernelParameters(size: 21, shape: .gaussian(sigmaX: 2, sigmaY: 2, rotation: 0))).factors != nil)
        #expect(BlurKernel(KernelParameters(size: 21, shape: .gaussian(sigmaX: 2, sigmaY: 1, rotation: 0))).factors != nil)
        #expect(BlurKernel(KernelParameters(size: 21, shape: .gaussian(sigmaX: 2, sigmaY: 1, rotation: 0.7))).factors == nil)
        #expect(BlurKernel(KernelParameters(size: 11, shape: .sinc(cutoff: 1.5))).factors == nil)
        #expect(BlurKernel(KernelParameters(size: 11, shape: .plateau(sigmaX: 1, sigmaY: 1, rotation: 0, beta: 1.5))).factors == nil)
    }

    @Test("the fast filter matches a plain reference, separable or not, including images smaller than the kernel",
          arguments: [(37, 29), (64, 64), (5, 3), (1, 9)])
    func filterMatchesReference(width: Int, height: Int) {
        var rng = SeededGenerator(seed: UInt64(width * 100 + height))
        let image = randomImage(width: width, height: height, channels: 3, &rng)
        for parameters in [KernelParameters(size: 21, shape: .gaussian(sigmaX: 2.5, sigmaY: 2.5, rotation: 0)),
                           KernelParameters(size: 13, shape: .generalizedGaussian(sigmaX: 2, sigmaY: 0.7, rotation: 1.1, beta: 0.7)),
                           KernelParameters(size: 7, shape: .sinc(cutoff: 2))] {
            let kernel = BlurKernel(parameters)
            let fast = filter(image, with: kernel)
            let slow = referenceFilter(image, kernel)
            let worst = zip(fast.planes, slow.planes).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 2e-5, "\(parameters) on \(width)x\(height): max difference \(worst)")
        }
    }

    @Test("a Gaussian blur removes high-frequency energy in proportion to its width")
    func blurRemovesHighFrequencies() {
        var rng = SeededGenerator(seed: 5)
        let image = randomImage(width: 64, height: 64, channels: 1, &rng)
        let energies = [0.5, 1.0, 2.0].map { sigma in
            laplacianEnergy(filter(image, with: BlurKernel(KernelParameters(size: 21, shape: .gaussian(sigmaX: sigma, sigmaY: sigma, rotation: 0)))).planes,
                            width: 64, height: 64, region: { _, _ in true })
        }
        #expect(energies[0] > 2 * energies[1] && energies[1] > 2 * energies[2], "\(energies)")
    }
}

/// Direct correlation with reflect padding, in Double.
func referenceFilter(_ image: Image, _ kernel: BlurKernel) -> Image {
    var out = image
    let r = kernel.size / 2, (w, h) = (image.width, image.height)
    for c in 0..<image.channels {
        for y in 0..<h {
            for x in 0..<w {
                var acc = 0.0
                for ky in 0..<kernel.size {
                    for kx in 0..<kernel.size {
                        let sy = reflectIndex(y + ky - r, h), sx = reflectIndex(x + kx - r, w)
                        acc += Double(kernel.weights[ky * kernel.size + kx]) * Double(image.planes[c * w * h + sy * w + sx])
                    }
                }
                out.planes[c * w * h + y * w + x] = Float(acc)
            }
        }
    }
    return out
}

func randomImage(width: Int, height: Int, channels: Int, _ rng: inout SeededGenerator) -> Image {
    Image(width: width, height: height, channels: channels, planes: (0..<(width * height * channels)).map { _ in rng.uniform() })
}

/// Mean squared 4-neighbour Laplacian over the interior pixels where `region(x, y)` holds.
func laplacianEnergy(_ plane: [Float], width: Int, height: Int, region: (Int, Int) -> Bool) -> Double {
    var total = 0.0, count = 0
    for y in 1..<(height - 1) {
        for x in 1..<(width - 1) where region(x, y) {
            let i = y * width + x
            let l = Double(4 * plane[i] - plane[i - 1] - plane[i + 1] - plane[i - width] - plane[i + width])
            total += l * l
            count += 1
        }
    }
    return total / Double(max(count, 1))
}
