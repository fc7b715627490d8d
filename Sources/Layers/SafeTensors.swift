import FileSupport
import Foundation
import Tensors

/// An error reading or writing a safetensors file, naming the file and, when one is at fault, the tensor.
///
/// ```
/// weights.safetensors: tensor 'x' has shape [3, 4] in file, expected [4, 3]
/// ```
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong.
    public enum Kind: Equatable, Sendable {
        /// The file cannot be read or written (missing, permissions, disk full).
        case io
        /// The file ends before the 8-byte header length, or before the end of a tensor's data.
        case truncated
        /// The header length reaches beyond the end of the file.
        case headerBeyondFile
        /// The header is not JSON, or its fields are missing or of the wrong type.
        case badHeader
        /// Data offsets out of range, overlapping, leaving a gap, or not matching shape and dtype.
        case badOffsets
        /// A dtype other than F32, F16 and BF16 (the name as in the file).
        case unsupportedDType(String)
        /// A tensor looked up by name is not in the file.
        case missingTensor
        /// A tensor looked up by name has another shape than the one expected.
        case shapeMismatch
        /// A tensor name that cannot be written (empty, or `__metadata__`).
        case invalidName
    }

    /// What went wrong.
    public let kind: Kind
    /// The file's path, or a label for bytes decoded from memory.
    public let file: String
    /// The tensor at fault, when there is one.
    public let tensor: String?
    /// The explanation, naming the tensor and its shape, dtype or offsets.
    public let message: String

    public var description: String { "\(file): \(message)" }
}

/// The tensors and string metadata of a safetensors file, with lookups that check names and shapes.
///
/// ```swift
/// let file = try SafeTensorsFile(contentsOf: url)
/// let w = try file.tensor("head.weight", shape: [64, 3, 3, 3])
/// ```
public struct SafeTensorsFile {
    /// The tensors by name, converted to Float32.
    public var tensors: [String: Tensor]
    /// The `__metadata__` string map (empty when the file has none).
    public var metadata: [String: String]
    /// Where the tensors came from, named in errors.
    public let source: String

    /// Reads a file; F32, F16 and BF16 tensors are converted to Float32.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw SafeTensorsError(kind: .io, file: url.path, tensor: nil, message: "cannot read the file: \(FileErrors.reason(error, path: url.path))")
        }
        try self.init(data: data, source: url.path)
    }

    /// Decodes the bytes of a safetensors file; `source` names them in errors.
    public init(data: Data, source: String) throws {
        (tensors, metadata) = try data.withUnsafeBytes { try SafeTensors.decode($0, source: source) }
        self.source = source
    }

    /// The tensor called `name`, or an error naming it (and the name in the file sharing its longest prefix).
    public func tensor(_ name: String) throws -> Tensor {
        if let t = tensors[name] { return t }
        var closest: (name: String, shared: Int)?
        for candidate in tensors.keys.sorted() {
            let shared = candidate.commonPrefix(with: name).count
            if shared > (closest?.shared ?? 0) { closest = (candidate, shared) }
        }
        let hint = " (the file has \(tensors.count) tensors\(closest.map { "; closest name: '\($0.name)'" } ?? ""))"
        throw SafeTensorsError(kind: .missingTensor, file: source, tensor: name, message: "missing tensor '\(name)'\(hint)")
    }

    /// The tensor called `name`, checked to have `shape`.
    public func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        let t = try tensor(name)
        guard t.shape == shape else {
            throw SafeTensorsError(kind: .shapeMismatch, file: source, tensor: name,
                                   message: "tensor '\(name)' has shape \(t.shape) in file, expected \(shape)")
        }
        return t
    }
}

/// Reading and writing the safetensors format, the field's common weight format.
///
/// A file is an 8-byte little-endian header length N, N bytes of JSON mapping each tensor name to
/// `{"dtype", "shape", "data_offsets": [begin, end]}` (plus an optional `"__metadata__"` string map),
/// then the raw little-endian data, which the offsets must cover without gap or overlap.
public enum SafeTensors {
    /// Reads the tensors (F32, F16 or BF16, converted to Float32) and metadata of a file.
    public static func read(from url: URL) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        let file = try SafeTensorsFile(contentsOf: url)
        return (file.tensors, file.metadata)
    }

    /// Writes tensors as F32 with string metadata, atomically: into a temporary file in the same
    /// directory, then renamed over `url`, so a reader never sees a partly written file.
    ///
    /// Names are sorted by their UTF-8 bytes and the header padded to 8 bytes, as the Python package does,
    /// so the same tensors give the same bytes.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
        let (header, order) = try prepare(tensors, metadata: metadata, source: url.path)
        let temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        func ioError(_ what: String) -> SafeTensorsError {
            SafeTensorsError(kind: .io, file: url.path, tensor: nil, message: what)
        }
        guard FileManager.default.createFile(atPath: temp.path, contents: nil) else {
            throw ioError("cannot create a temporary file in \(temp.deletingLastPathComponent().path)")
        }
        do {
            let handle = try FileHandle(forWritingTo: temp)
            do {
                try handle.write(contentsOf: header)
                for name in order { try handle.write(contentsOf: littleEndianBytes(tensors[name]!)) }
                try handle.synchronize()
                try handle.close()
            } catch {
                try? handle.close()
                throw error
            }
            guard rename(temp.path, url.path) == 0 else {
                throw ioError("cannot rename the temporary file into place: \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw error as? SafeTensorsError ?? ioError("cannot write the file: \(FileErrors.reason(error, path: url.path))")
        }
    }

    /// The bytes of a safetensors file holding `tensors` as F32, as `write` would store them.
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:]) throws -> Data {
        var (data, order) = try prepare(tensors, metadata: metadata, source: "<memory>")
        for name in order { data.append(littleEndianBytes(tensors[name]!)) }
        return data
    }
}

// MARK: - Writing

extension SafeTensors {
    /// The header length and padded JSON header, and the order in which the tensors' data follows.
    static func prepare(_ tensors: [String: Tensor], metadata: [String: String], source: String) throws -> (Data, [String]) {
        for name in tensors.keys where name.isEmpty || name == "__metadata__" {
            throw SafeTensorsError(kind: .invalidName, file: source, tensor: name, message: "'\(name)' cannot name a tensor")
        }
        let order = tensors.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { "\(json($0)):\(json(metadata[$0]!))" }
            fields.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for name in order {
            let t = tensors[name]!
            let shape = t.shape.map(String.init).joined(separator: ",")
            fields.append("\(json(name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + 4 * t.count)]}")
            offset += 4 * t.count
        }
        var header = Array("{\(fields.joined(separator: ","))}".utf8)
        // Pad with spaces so the data starts at a multiple of 8 bytes.
        header += [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8)
        var data = Data(capacity: 8 + header.count)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: header)
        return (data, order)
    }

    /// A JSON string literal, escaped as serde_json (and so the Python package) escapes it.
    static func json(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func littleEndianBytes(_ t: Tensor) -> Data {
        #if _endian(little)
        return t.values.withUnsafeBytes { Data($0) }
        #else
        return t.values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Data($0) }
        #endif
    }
}
