import Foundation
import Imaging
import SeededRandom
import Testing
@testable import Degradations

@Suite("Configuration validation")
struct ConfigurationTests {
    @Test("every preset is valid and survives a JSON round trip", arguments: DegradationPreset.allCases)
    func presets(preset: DegradationPreset) throws {
        let config = DegradationConfig.preset(preset)
        try config.validate()
        #expect(try JSONDecoder().decode(DegradationConfig.self, from: JSONEncoder().encode(config)) == config)
    }

    @Test("mild: light blur, low noise, JPEG 75-95, and a LR that stays close to the bicubic one")
    func mildIsMild() throws {
        let sampler = try DegradationSampler(config: .preset(.mild))
        let realesrgan = try DegradationSampler(config: .preset(.realesrgan))
        func shade(_ i: Int) -> Float {
            let x = Float(i % 64), y = Float(i / 64 % 64)
            return 0.5 + 0.3 * sin(x / 6) * cos(y / 9)
        }
        let hr = Image(width: 64, height: 64, channels: 3, planes: (0..<(3 * 64 * 64)).map(shade))
        let bicubic = resize(hr, width: 16, height: 16, method: .matlabBicubic).planes
        func distance(_ lr: Image) -> Float { zip(lr.planes, bicubic).map { Swift.abs($0 - $1) }.reduce(0, +) / Float(bicubic.count) }
        var mild: [Float] = [], strong: [Float] = []
        for seed in 0..<40 {
            var rng = SeededGenerator(seed: UInt64(seed))
            let p = sampler.sample(hrWidth: 64, hrHeight: 64, scale: 4, using: &rng)
            let first = try #require(p.first), second = try #require(p.second), final = try #require(p.final)
            for stage in [first, second] {
                #expect(stage.noise.strength.levels.allSatisfy { $0 <= (stage.noise.kind == .gaussian ? 5 : 0.5) })
                #expect(stage.jpegQuality >= 75)
                if let blur = stage.blur { #expect(BlurKernel(blur.base).width <= 1.0 + 1e-9) }
            }
            #expect(final.jpeg.levels.allSatisfy { $0 >= 75 } && p.masks.isEmpty)
            mild.append(distance(try degrade(hr, parameters: p, generator: &rng).lr))
            var other = SeededGenerator(seed: UInt64(seed))
            strong.append(distance(try realesrgan.degrade(hr, scale: 4, using: &other).result.lr))
        }
        #expect(mild.reduce(0, +) < 0.5 * strong.reduce(0, +), "mild \(mild.reduce(0, +) / 40), realesrgan \(strong.reduce(0, +) / 40)")
    }

    @Test("invalid probabilities and ranges are all reported, each by its field")
    func invalid() {
        var config = DegradationConfig.preset(.heterogeneous)
        config.first.noise.grayProbability = 1.5
        config.second.resize.up = 0.5
        config.first.blur.sizes = 8...8
        config.final.jpegQuality = 0...120
        config.first.blur.kinds.isotropic = 0.9
        config.heterogeneity?.masks.blobs = -0.1
        config.first.resize.modes = []
        let error = #expect(throws: ConfigurationError.self) { try config.validate() }
        let problems = error?.problems ?? []
        for field in ["first.noise.grayProbability", "second.resize.up/down/keep", "first.blur.sizes", "final.jpegQuality",
                      "first.blur.kinds", "heterogeneity.masks.blobs", "first.resize.modes"] {
            #expect(problems.contains { $0.hasPrefix(field) }, "no problem reported for \(field): \(problems)")
        }
        #expect(error?.description.contains("1.5 is not a probability") == true)
    }

    @Test("the sampler refuses an invalid configuration before any work starts")
    func samplerValidates() {
        var config = DegradationConfig.preset(.realesrgan)
        config.second.noise.sigma = -3...25
        #expect(throws: ConfigurationError.self) { try DegradationSampler(config: config) }
        var bicubic = DegradationConfig.preset(.bicubic)
        bicubic.heterogeneity = HeterogeneityConfig()
        #expect(throws: ConfigurationError.self) { try bicubic.validate() }
    }

    @Test("a range with its bounds reversed fails to decode with a clear message")
    func reversedRange() throws {
        var json = String(decoding: try JSONEncoder().encode(DegradationConfig.preset(.realesrgan)), as: UTF8.self)
        json = json.replacingOccurrences(of: "\"jpegQuality\":[30,95]", with: "\"jpegQuality\":[95,30]")
        #expect(json.contains("[95,30]"))
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(DegradationConfig.self, from: Data(json.utf8)) }
    }
}
