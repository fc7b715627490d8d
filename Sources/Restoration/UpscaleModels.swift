import Foundation
import Layers
import SAVL
#if canImport(CSAVLModels)
import CSAVLModels
#endif

/// The models `--model` can name, and loading a model by name or path.
///
/// Embedded models are safetensors files assembled into the binary (`.incbin` in the `CSAVLModels`
/// target), so an installed `savl` finds them without any path configuration. A build without that
/// target has none, and `--model` must then be a path.
public enum UpscaleModels {
    /// The name of the model used when `--model` is not given.
    public static let defaultName = "default"

    /// Names and bytes of the models in this binary.
    public static var embedded: [(name: String, bytes: UnsafeRawBufferPointer)] {
        #if canImport(CSAVLModels)
        return (0..<savl_embedded_model_count()).map { i in
            let model = savl_embedded_model_at(i)
            return (String(cString: model.name), UnsafeRawBufferPointer(start: model.bytes, count: Int(model.size)))
        }
        #else
        return []
        #endif
    }

    /// A loaded model, what it is called and its metadata.
    public struct Loaded {
        /// The model.
        public var model: SAVLModel
        /// The file's metadata (`clean_code`, provenance).
        public var metadata: [String: String]
        /// The path, or `embedded model NAME`.
        public var source: String

        /// What to call it in reports: `small x4 (embedded model default)`.
        public var summary: String { "\(model.config.preset) x\(model.config.scale) (\(source))" }

        /// The code of a clean image: the `clean_code` metadata (comma-separated floats, d of them),
        /// or the prior mean, zero, when the file has none.
        public func cleanCode() throws -> [Float] {
            let d = model.config.latentDim
            guard let text = metadata["clean_code"] else { return [Float](repeating: 0, count: d) }
            let fields = text.split(separator: ",", omittingEmptySubsequences: false)
            let code = fields.compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
            guard fields.count == d, code.count == d, code.allSatisfy(\.isFinite) else {
                throw SAVLError("\(source): the metadata 'clean_code' must be \(d) comma-separated numbers, got '\(text.prefix(80))'")
            }
            return code
        }
    }

    /// Loads `--model`: a path to a savl model file, or the name of an embedded model (nil: the default).
    /// An `oracle` model, which needs ground-truth maps, is refused unless `allowOracle` (`savl eval --oracle-maps`).
    public static func load(_ spec: String?, allowOracle: Bool = false) throws -> Loaded {
        let name = spec ?? defaultName
        let looksLikePath = spec.map { $0.contains("/") || $0.hasSuffix(".safetensors") || FileManager.default.fileExists(atPath: $0) } ?? false
        if !looksLikePath, let entry = embedded.first(where: { $0.name == name }) {
            return try loadEmbedded(name: entry.name, bytes: entry.bytes)
        }
        guard looksLikePath else {
            let known = embedded.map(\.name)
            let list = known.isEmpty ? "this build has no embedded models" : "embedded models: \(known.joined(separator: ", "))"
            if spec == nil {
                throw SAVLError("no --model given and \(list); pass --model PATH to a savl model file")
            }
            throw SAVLError("--model \(name): no such file, and no embedded model of that name (\(list))")
        }
        guard FileManager.default.fileExists(atPath: name) else { throw SAVLError("--model \(name): no such file") }
        let (model, metadata) = try ModelFile.load(from: URL(fileURLWithPath: name))
        guard model.config.code != .oracle || allowOracle else {
            throw SAVLError("--model \(name) is an oracle model: it reads ground-truth degradation maps that photos do not have (a research bound, not a model for photos)")
        }
        return Loaded(model: model, metadata: metadata, source: name)
    }

    private static func loadEmbedded(name: String, bytes: UnsafeRawBufferPointer) throws -> Loaded {
        // The bytes live in the binary for the whole run: no copy needed.
        let data = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: bytes.baseAddress!), count: bytes.count, deallocator: .none)
        let file = try SafeTensorsFile(data: data, source: "embedded model \(name)")
        let (model, metadata) = try ModelFile.load(file)
        return Loaded(model: model, metadata: metadata, source: file.source)
    }
}
