import Degradations
import Foundation

extension DegradationConfig {
    /// Reads a degradation configuration (YAML, or JSON, which is YAML) laid over `base`, with the strict
    /// reader of training configurations: keys left out keep `base`'s values, an unknown key or a value of
    /// the wrong type is an error naming the dotted key, and the result is validated.
    ///
    /// ```swift
    /// let config = try DegradationConfig.load(yaml: "final: {jpegQuality: [60, 90]}", over: .preset(.realesrgan))
    /// ```
    public static func load(yaml: String, over base: DegradationConfig, source: String = "configuration") throws -> DegradationConfig {
        let tree = try StrictConfig.tree(yaml: yaml, source: source)
        var defaults = try StrictConfig.tree(of: base)
        // `heterogeneity` is absent from a homogeneous base: naming it adds it (a mapping) or keeps it off (null).
        if let given = tree["heterogeneity"], defaults["heterogeneity"] == nil {
            defaults["heterogeneity"] = given is [String: Any] ? try StrictConfig.tree(of: HeterogeneityConfig()) : NSNull()
        }
        let fractional = StrictConfig.fractionalKeys(of: base)
            .union(StrictConfig.fractionalKeys(of: HeterogeneityConfig(), path: "heterogeneity"))
        let config = try StrictConfig.decode(DegradationConfig.self, from: tree, overTree: defaults,
                                             enumChoices: ["pipeline": PipelineKind.allCases.map(\.rawValue)], fractional: fractional)
        do {
            try config.validate()
        } catch let error as ConfigurationError {
            throw ConfigError("\(source): \(error.description)")
        }
        return config
    }
}
