import ArgumentParser
import Foundation
import Imaging
import Tensors

/// `savl bench-imaging`: the speed of the image codecs and of resizing, on one thread. These figures were
/// wall-clock bounds in the tests; they are a benchmark's job (see BENCHMARKS.md).
struct BenchImagingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-imaging",
        abstract: "Measure image I/O and resizing: JPEG and PNG encode/decode and a bicubic downscale of a --size image.",
        discussion: """
            Each figure is the median over --repeats runs after one warm-up run, in milliseconds, on a smooth \
            synthetic RGB picture: a JPEG round trip at quality 75 (encode + decode), a PNG decode and encode \
            (8-bit), and a MATLAB-bicubic downscale by 4.
            """)

    @Option(parsing: .unconditional, help: "Side of the square test image in pixels.")
    var size = 512

    @Option(parsing: .unconditional, help: "Timed runs of each operation (the median is reported).")
    var repeats = 9

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        guard size >= 16 else { throw ValidationError("--size must be at least 16, not \(size)") }
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1, not \(repeats)") }
    }

    func run() throws {
        let n = size
        var planes = [Float](repeating: 0, count: 3 * n * n)
        for c in 0..<3 {
            for y in 0..<n {
                for x in 0..<n {
                    let u = Float(x) / Float(n), v = Float(y) / Float(n)
                    planes[(c * n + y) * n + x] = 0.5 + 0.3 * sin(9 * u + Float(c)) * cos(7 * v) + 0.1 * u * v
                }
            }
        }
        let image = Image(width: n, height: n, channels: 3, planes: planes).quantized()
        let png = try PNG.encode(image)
        func median(_ body: () throws -> Void) rethrows -> Double { try medianMilliseconds(repeats: repeats, body) }
        let result: [String: Double] = [
            "jpeg_roundtrip_ms": try median { _ = try JPEG.decode(JPEG.encode(image, quality: 75)) },
            "png_decode_ms": try median { _ = try PNG.decode(png) },
            "png_encode_ms": try median { _ = try PNG.encode(image) },
            "downscale_x4_ms": median { _ = resize(image, width: n / 4, height: n / 4, method: .matlabBicubic) },
            "size": Double(n),
        ]
        if json {
            let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for key in result.keys.sorted() { print(key.padding(toLength: 20, withPad: " ", startingAt: 0), String(format: "%.2f", result[key]!)) }
        }
    }
}
