import Foundation
import Yams

/// The strict YAML reader behind every savl configuration (`savl train --config`, `savl degrade --config`).
///
/// A file is laid over the defaults of its type: keys left out keep their defaults, an unknown key is an
/// error naming it (with the closest known key), a value of the wrong type is an error naming the dotted
/// key and what was expected. JSON is YAML, so JSON files are read the same way.
///
/// ```swift
/// let tree = try StrictConfig.tree(yaml: text, source: "my.yml")
/// let config = try StrictConfig.decode(DegradationConfig.self, from: tree, over: .preset(.realesrgan))
/// ```
public enum StrictConfig {
    /// Parses YAML into a tree of string-keyed mappings, then applies `overrides` (`key.path=value`).
    public static func tree(yaml: String, overrides: [String] = [], source: String) throws -> [String: Any] {
        var tree: [String: Any]
        do {
            let parsed = try Yams.load(yaml: yaml)
            if parsed == nil {
                tree = [:]
            } else if let map = normalised(parsed) as? [String: Any] {
                tree = map
            } else {
                throw ConfigError("\(source): the top level must be a mapping of keys to values")
            }
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError("\(source): not valid YAML: \(error)")
        }
        for override in overrides { try apply(override: override, to: &tree) }
        return tree
    }

    /// Refuses a configuration file with no keys (empty, or only comments): a file given on purpose that
    /// sets nothing is a mistake, not a request for every default.
    public static func checkNotEmpty(yaml: String, source: String) throws {
        let parsed: Any?
        do { parsed = try Yams.load(yaml: yaml) } catch { return }  // `tree(yaml:)` reports the syntax error
        if parsed == nil || (parsed as? [AnyHashable: Any])?.isEmpty == true {
            throw ConfigError("\(source): empty configuration (no keys); set at least one, e.g. 'model: {preset: small}', or start from a file in configs/")
        }
    }

    /// `value` as a tree, as `tree(yaml:)` would read it back.
    public static func tree<T: Encodable>(of value: T) throws -> [String: Any] {
        // Through YAML rather than JSONSerialization, whose numbers pass `is Bool` on Linux.
        try Yams.load(yaml: String(decoding: JSONEncoder().encode(value), as: UTF8.self)) as! [String: Any]
    }

    /// `user` laid over `defaults` and decoded; `enumChoices` names the values of enumerated keys for messages.
    public static func decode<T: Codable>(_ type: T.Type, from user: [String: Any], over defaults: T,
                                          enumChoices: [String: [String]] = [:]) throws -> T {
        try decode(type, from: user, overTree: tree(of: defaults), enumChoices: enumChoices, fractional: fractionalKeys(of: defaults))
    }

    /// The dotted keys of the Float and Double properties of `value`, nested structures followed.
    static func fractionalKeys(of value: Any, path: String = "") -> Set<String> {
        var keys = Set<String>()
        for child in Mirror(reflecting: value).children {
            guard let label = child.label else { continue }
            let dotted = path.isEmpty ? label : "\(path).\(label)"
            var inner = child.value
            if Mirror(reflecting: inner).displayStyle == .optional, let some = Mirror(reflecting: inner).children.first {
                inner = some.value
            }
            switch inner {
            case is Float, is Double, is Float?, is Double?: keys.insert(dotted)
            default: keys.formUnion(fractionalKeys(of: inner, path: dotted))
            }
        }
        return keys
    }

    /// `user` laid over a defaults tree and decoded.
    static func decode<T: Decodable>(_ type: T.Type, from user: [String: Any], overTree defaults: [String: Any],
                                     enumChoices: [String: [String]], fractional: Set<String> = []) throws -> T {
        let merged = try merge(user, into: defaults, path: "", fractional: fractional)
        do {
            return try JSONDecoder().decode(type, from: JSONSerialization.data(withJSONObject: merged))
        } catch let error as DecodingError {
            throw ConfigError(describe(error, in: merged, enumChoices: enumChoices))
        }
    }

    /// Sets `key.path=value` in `tree`, creating the mappings on the way.
    static func apply(override: String, to tree: inout [String: Any]) throws {
        guard let equals = override.firstIndex(of: "="), equals != override.startIndex else {
            throw ConfigError("--set \(override): expected key=value, e.g. optimizer.learningRate=1e-4")
        }
        let keys = override[..<equals].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard keys.allSatisfy({ !$0.isEmpty }) else { throw ConfigError("--set \(override): empty key in '\(override[..<equals])'") }
        let text = String(override[override.index(after: equals)...])
        let value: Any
        do {
            value = normalised(try Yams.load(yaml: text)) ?? NSNull()
        } catch {
            throw ConfigError("--set \(override): the value is not valid YAML: \(error)")
        }
        func set(_ map: inout [String: Any], _ index: Int) throws {
            let key = keys[index]
            if index == keys.count - 1 { map[key] = value; return }
            var child: [String: Any]
            switch map[key] {
            case nil: child = [:]
            case let existing as [String: Any]: child = existing
            default: throw ConfigError("--set \(override): '\(keys[...index].joined(separator: "."))' is not a mapping")
            }
            try set(&child, index + 1)
            map[key] = child
        }
        try set(&tree, 0)
    }

    /// `user` laid over `defaults`: every user key must exist in the defaults.
    /// `user` laid over `defaults`; `fractional` names the dotted keys of Float and Double values, whose
    /// whole-number defaults (freeBits: 0) read back from JSON as integers.
    static func merge(_ user: [String: Any], into defaults: [String: Any], path: String,
                      fractional: Set<String> = []) throws -> [String: Any] {
        var out = defaults
        for key in user.keys.sorted() {
            let dotted = path.isEmpty ? key : "\(path).\(key)"
            guard let fallback = defaults[key] else {
                let hint = closest(to: key, among: Array(defaults.keys)).map { " (did you mean '\($0)'?)" } ?? ""
                let known = defaults.keys.sorted().joined(separator: ", ")
                throw ConfigError("\(dotted): unknown key\(hint); known keys\(path.isEmpty ? "" : " of \(path)"): \(known)")
            }
            let value = user[key]!
            if let nested = fallback as? [String: Any] {
                guard let given = value as? [String: Any] else {
                    throw ConfigError("\(dotted): expected a mapping of \(nested.keys.sorted().joined(separator: ", ")), got \(show(value))")
                }
                out[key] = try merge(given, into: nested, path: dotted, fractional: fractional)
            } else if fallback is [Any], !(value is [Any]), !(value is NSNull) {
                out[key] = [value]  // one folder needs no list brackets
            } else if fallback is String, value is Int || value is Double {
                out[key] = "\(value)"  // a folder named 2020
            } else if let text = value as? String, isNumber(fallback), let number = Double(text), number.isFinite {
                out[key] = number  // 2e-4, which YAML 1.1 reads as text
            } else if fallback is Int, let number = value as? Double, !fractional.contains(dotted) {
                guard number.rounded() == number, abs(number) < 1e15 else { throw ConfigError("\(dotted): expected an integer, got \(number)") }
                out[key] = Int(number)
            } else {
                out[key] = value
            }
        }
        return out
    }

    /// A message for a decoding failure, naming the dotted key.
    static func describe(_ error: DecodingError, in tree: [String: Any], enumChoices: [String: [String]]) -> String {
        func key(_ path: [CodingKey]) -> String {
            path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().replacingOccurrences(of: "^\\.", with: "", options: .regularExpression)
        }
        func value(at path: [CodingKey]) -> Any? {
            var node: Any? = tree
            for k in path {
                if let i = k.intValue { node = (node as? [Any]).flatMap { i < $0.count ? $0[i] : nil } } else { node = (node as? [String: Any])?[k.stringValue] }
            }
            return node
        }
        switch error {
        case let .typeMismatch(type, context):
            let expected: String
            switch type {
            case is Int.Type: expected = "an integer"
            case is Float.Type, is Double.Type: expected = "a number"
            case is Bool.Type: expected = "true or false"
            case is String.Type: expected = "text"
            case is [Any].Type: expected = "a list"
            default: expected = "a \(type)"
            }
            return "\(key(context.codingPath)): expected \(expected), got \(show(value(at: context.codingPath)))"
        case let .valueNotFound(_, context):
            return "\(key(context.codingPath)): a value is needed"
        case let .keyNotFound(missing, context):
            return "\(key(context.codingPath + [missing])): missing"
        case let .dataCorrupted(context):
            let dotted = key(context.codingPath)
            let given = value(at: context.codingPath)
            if let choices = enumChoices[dotted] {
                return "\(dotted): \(show(given)) is not one of \(choices.joined(separator: ", "))"
            }
            return "\(dotted): invalid value \(show(given)) (\(context.debugDescription))"
        @unknown default:
            return "\(error)"
        }
    }

    /// YAML's parse tree with string keys and JSON-compatible scalars.
    static func normalised(_ value: Any?) -> Any? {
        switch value {
        case let map as [AnyHashable: Any]:
            var out: [String: Any] = [:]
            for (k, v) in map { out["\(k.base)"] = normalised(v) ?? NSNull() }
            return out
        case let list as [Any]:
            return list.map { normalised($0) ?? NSNull() }
        case let date as Date:
            return ISO8601DateFormatter().string(from: date)
        case nil:
            return nil
        default:
            return value
        }
    }

    private static func show(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: return "nothing"
        case let text as String: return "'\(text)'"
        case let map as [String: Any]: return "a mapping (\(map.keys.sorted().joined(separator: ", ")))"
        case let list as [Any]: return "a list of \(list.count)"
        default: return "\(value!)"
        }
    }

    /// The candidate within a small edit distance of `key`, if any.
    private static func closest(to key: String, among candidates: [String]) -> String? {
        var best: (name: String, distance: Int)?
        for candidate in candidates.sorted() {
            let distance = editDistance(key.lowercased(), candidate.lowercased())
            if distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
        }
        guard let best, best.distance <= max(2, key.count / 3) else { return nil }
        return best.name
    }

    /// Whether a default value (from JSONSerialization) is a number rather than a boolean.
    private static func isNumber(_ value: Any) -> Bool {
        !(value is Bool) && (value is Int || value is Double)
    }

    /// Levenshtein distance.
    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}
