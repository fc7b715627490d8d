import Imaging

/// Filters every channel of `image` with `kernel` (cross-correlation, as PyTorch's `conv2d`),
/// padding the borders by reflection without repeating the edge pixel (PyTorch's `reflect`).
///
/// Separable kernels run as a horizontal then a vertical 1-D pass; others as a direct 2-D loop.
/// Both vectorise along rows, eight floats at a time.
///
/// ```swift
/// let blurred = filter(image, with: BlurKernel(KernelParameters(size: 21, shape: .gaussian(sigmaX: 2, sigmaY: 2, rotation: 0))))
/// ```
public func filter(_ image: Image, with kernel: BlurKernel) -> Image {
    if kernel.size == 1 {
        var copy = image
        if kernel.weights[0] != 1 { copy.planes = copy.planes.map { $0 * kernel.weights[0] } }
        return copy
    }
    var output = image
    let plane = image.pixelCount
    image.planes.withUnsafeBufferPointer { source in
        output.planes.withUnsafeMutableBufferPointer { destination in
            var scratch = FilterScratch(width: image.width, height: image.height, radius: kernel.size / 2)
            for c in 0..<image.channels {
                scratch.run(source: source.baseAddress! + c * plane, destination: destination.baseAddress! + c * plane, kernel: kernel)
            }
        }
    }
    return output
}

/// Buffers for one filtering call, reused across channels.
private struct FilterScratch {
    let width: Int, height: Int, radius: Int
    /// Output row length rounded up to whole vector blocks.
    let blockedWidth: Int
    /// Row stride of the padded input (blocked width plus both margins).
    let paddedWidth: Int
    var padded: [Float]
    var rowOut: [Float]
    var horizontal: [Float]

    static let block = 32

    init(width: Int, height: Int, radius: Int) {
        self.width = width
        self.height = height
        self.radius = radius
        blockedWidth = (width + Self.block - 1) / Self.block * Self.block
        paddedWidth = blockedWidth + 2 * radius
        padded = [Float](repeating: 0, count: paddedWidth * (height + 2 * radius))
        rowOut = [Float](repeating: 0, count: blockedWidth)
        horizontal = []
    }

    /// Copies a plane into `padded` with reflected margins.
    mutating func pad(_ source: UnsafePointer<Float>) {
        let (w, h, r, pw) = (width, height, radius, paddedWidth)
        padded.withUnsafeMutableBufferPointer { p in
            for py in 0..<(h + 2 * r) {
                let sy = reflectIndex(py - r, h)
                let src = source + sy * w
                let dst = p.baseAddress! + py * pw
                for px in 0..<r { dst[px] = src[reflectIndex(px - r, w)] }
                (dst + r).update(from: src, count: w)
                for px in 0..<r { dst[r + w + px] = src[reflectIndex(w + px, w)] }
            }
        }
    }

    mutating func run(source: UnsafePointer<Float>, destination: UnsafeMutablePointer<Float>, kernel: BlurKernel) {
        pad(source)
        if let factors = kernel.factors {
            separable(destination: destination, column: factors.column, row: factors.row)
        } else {
            direct(destination: destination, weights: kernel.weights)
        }
    }

    /// Direct 2-D correlation: for each block of 32 outputs, all taps accumulate in four vector registers.
    mutating func direct(destination: UnsafeMutablePointer<Float>, weights: [Float]) {
        let (w, h, k, pw, bw) = (width, height, 2 * radius + 1, paddedWidth, blockedWidth)
        padded.withUnsafeBufferPointer { p in
            rowOut.withUnsafeMutableBufferPointer { out in
                weights.withUnsafeBufferPointer { kw in
                    let base = UnsafeRawPointer(p.baseAddress!)
                    let outRaw = UnsafeMutableRawPointer(out.baseAddress!)
                    for y in 0..<h {
                        var x = 0
                        while x < bw {
                            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                            for ky in 0..<k {
                                var q = base + ((y + ky) * pw + x) * 4
                                var t = ky * k
                                for _ in 0..<k {
                                    let c = SIMD8<Float>(repeating: kw[t])
                                    a0 += c * q.loadUnaligned(as: SIMD8<Float>.self)
                                    a1 += c * q.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
                                    a2 += c * q.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
                                    a3 += c * q.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
                                    q += 4
                                    t += 1
                                }
                            }
                            let o = outRaw + x * 4
                            o.storeBytes(of: a0, as: SIMD8<Float>.self)
                            o.storeBytes(of: a1, toByteOffset: 32, as: SIMD8<Float>.self)
                            o.storeBytes(of: a2, toByteOffset: 64, as: SIMD8<Float>.self)
                            o.storeBytes(of: a3, toByteOffset: 96, as: SIMD8<Float>.self)
                            x += Self.block
                        }
                        (destination + y * w).update(from: out.baseAddress!, count: w)
                    }
                }
            }
        }
    }

    /// Horizontal pass over every padded row, then a vertical pass over its result.
    mutating func separable(destination: UnsafeMutablePointer<Float>, column: [Float], row: [Float]) {
        let (w, h, k, pw, bw) = (width, height, 2 * radius + 1, paddedWidth, blockedWidth)
        let rows = h + 2 * radius
        if horizontal.count < rows * bw { horizontal = [Float](repeating: 0, count: rows * bw) }
        padded.withUnsafeBufferPointer { p in
            horizontal.withUnsafeMutableBufferPointer { hb in
                row.withUnsafeBufferPointer { kr in
                    let base = UnsafeRawPointer(p.baseAddress!)
                    let hRaw = UnsafeMutableRawPointer(hb.baseAddress!)
                    for y in 0..<rows {
                        var x = 0
                        while x < bw {
                            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                            var q = base + (y * pw + x) * 4
                            for t in 0..<k {
                                let c = SIMD8<Float>(repeating: kr[t])
                                a0 += c * q.loadUnaligned(as: SIMD8<Float>.self)
                                a1 += c * q.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
                                a2 += c * q.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
                                a3 += c * q.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
                                q += 4
                            }
                            let o = hRaw + (y * bw + x) * 4
                            o.storeBytes(of: a0, as: SIMD8<Float>.self)
                            o.storeBytes(of: a1, toByteOffset: 32, as: SIMD8<Float>.self)
                            o.storeBytes(of: a2, toByteOffset: 64, as: SIMD8<Float>.self)
                            o.storeBytes(of: a3, toByteOffset: 96, as: SIMD8<Float>.self)
                            x += Self.block
                        }
                    }
                }
                rowOut.withUnsafeMutableBufferPointer { out in
                    column.withUnsafeBufferPointer { kc in
                        let hRaw = UnsafeRawPointer(hb.baseAddress!)
                        let outRaw = UnsafeMutableRawPointer(out.baseAddress!)
                        for y in 0..<h {
                            var x = 0
                            while x < bw {
                                var a = SIMD8<Float>()
                                var q = hRaw + (y * bw + x) * 4
                                for t in 0..<k {
                                    a += SIMD8<Float>(repeating: kc[t]) * q.loadUnaligned(as: SIMD8<Float>.self)
                                    q += bw * 4
                                }
                                (outRaw + x * 4).storeBytes(of: a, as: SIMD8<Float>.self)
                                x += 8
                            }
                            (destination + y * w).update(from: out.baseAddress!, count: w)
                        }
                    }
                }
            }
        }
    }
}
