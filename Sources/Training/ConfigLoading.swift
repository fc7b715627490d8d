import Degradations
import FileSupport
import Foundation
import SAVL
import Yams

extension TrainingConfig {
    /// Reads a YAML configuration file; see `load(yaml:overrides:source:)`.
    public static func load(contentsOf url: URL, overrides: [String] = []) throws -> TrainingConfig {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw ConfigError("\(url.path): cannot read the configuration: \(FileErrors.reason(error, path: url.path))")
        }
        try StrictConfig.checkNotEmpty(yaml: text, source: url.path)
        return try load(yaml: text, overrides: overrides, source: url.path)
    }

    /// Parses a YAML configuration, applies `overrides` (`key.path=value`, the value in YAML syntax,
    /// e.g. `optimizer.learningRate=1e-4` or `data.folders=[a, b]`), fills every missing key with its
    /// default (the model's from `model.preset` at `model.scale`) and validates the result.
    ///
    /// An unknown key is an error naming it (with the closest known key); so is a value of the wrong type.
    public static func load(yaml: String, overrides: [String] = [], source: String = "configuration") throws -> TrainingConfig {
        let tree = try StrictConfig.tree(yaml: yaml, overrides: overrides, source: source)
        let model = tree["model"] as? [String: Any] ?? [:]
        var defaults = TrainingConfig()
        do {
            defaults.model = try SAVLConfig.preset(model["preset"] as? String ?? "small", scale: model["scale"] as? Int ?? 4)
        } catch let error as SAVLError {
            let message = error.message.hasPrefix("model.") ? error.message : "model.preset: \(error.message)"
            throw ConfigError(message)
        }
        let config = try StrictConfig.decode(TrainingConfig.self, from: tree, over: defaults, enumChoices: enumChoices)
        try config.validate()
        return config
    }

    /// The configuration as YAML, every key spelled out in declaration order, numbers in their
    /// shortest form (`0.0002`, not `1.99999994947575e-4`); `load(yaml:)` reads it back unchanged.
    public func yaml() throws -> String {
        guard let ordered = try Yams.compose(yaml: YAMLEncoder().encode(self)),
              let exact = try Yams.compose(yaml: String(decoding: JSONEncoder().encode(self), as: UTF8.self)) else {
            throw ConfigError("cannot write the configuration as YAML")
        }
        return try Yams.serialize(node: Self.arrange(exact, like: ordered))
    }

    /// `node` (parsed from JSON, exact numbers) with its mappings in `template`'s key order and block style.
    private static func arrange(_ node: Node, like template: Node) -> Node {
        guard case var .mapping(mapping) = node, case let .mapping(order) = template else { return node }
        var pairs: [(Node, Node)] = []
        for (key, value) in order {
            if let match = mapping.first(where: { $0.key.string == key.string }) { pairs.append((key, arrange(match.value, like: value))) }
        }
        mapping = Node.Mapping(pairs)
        mapping.style = .block
        return .mapping(mapping)
    }

    /// The values each enumerated key accepts, for error messages.
    private static let enumChoices: [String: [String]] = [
        "model.blockKind": SAVLConfig.BlockKind.allCases.map(\.rawValue),
        "model.code": SAVLConfig.CodeMode.allCases.map(\.rawValue),
        "model.likelihood": SAVLConfig.Likelihood.allCases.map(\.rawValue),
        "model.upsampler": SAVLConfig.Upsampler.allCases.map(\.rawValue),
        "model.skip": SAVLConfig.Skip.allCases.map(\.rawValue),
        "validation.degradation": DegradationPreset.allCases.map(\.rawValue),
    ]
}
