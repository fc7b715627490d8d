import Foundation
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
