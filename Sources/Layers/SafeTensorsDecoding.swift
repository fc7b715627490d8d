import Foundation
import Tensors

// MARK: - Reading

extension SafeTensors {
    /// The element types this reader converts, with their sizes in bytes.
    enum DType: String {
        case f32 = "F32", f16 = "F16", bf16 = "BF16"

        var size: Int { self == .f32 ? 4 : 2 }
    }

    /// A tensor's entry in the header, checked against its shape and dtype.
    struct Entry {
        let name: String
        let dtype: DType
        let shape: [Int]
        let count: Int
        let begin: Int
        let end: Int
    }

    /// The header as JSON: tensor entries by name and the optional metadata.
    struct Header: Decodable {
        struct Info: Decodable {
            let dtype: String
            let shape: [Integer]
            let data_offsets: [Integer]
        }

        /// A JSON integer. Foundation reports a fraction or a number beyond Int in an Int field as
        /// "not valid JSON", without saying where; this names the field and the number.
        struct Integer: Decodable {
            let value: Int

            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                do {
                    value = try c.decode(Int.self)
                } catch {
                    guard let number = try? c.decode(Double.self) else { throw error }
                    throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected an integer, found \(number)")
                }
            }
        }

        struct Key: CodingKey {
            let stringValue: String
            init(stringValue: String) { self.stringValue = stringValue }
            var intValue: Int? { nil }
            init?(intValue: Int) { nil }
        }

        var infos: [(String, Info)] = []
        var metadata: [String: String] = [:]

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            for key in c.allKeys {
                if key.stringValue == "__metadata__" {
                    metadata = try c.decodeIfPresent([String: String].self, forKey: key) ?? [:]
                } else {
                    infos.append((key.stringValue, try c.decode(Info.self, forKey: key)))
                }
            }
        }
    }

    /// Makes errors that name the file being read.
    struct Blame {
        let source: String

        func callAsFunction(_ kind: SafeTensorsError.Kind, tensor: String? = nil, _ message: String) -> SafeTensorsError {
            SafeTensorsError(kind: kind, file: source, tensor: tensor, message: message)
        }
    }

    static func decode(_ raw: UnsafeRawBufferPointer, source: String) throws -> ([String: Tensor], [String: String]) {
        let fail = Blame(source: source)
        guard raw.count >= 8 else {
            throw fail(.truncated, "the file is \(raw.count) bytes, too short for the 8-byte header length: truncated or empty")
        }
        let headerLength = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(raw.count - 8) else {
            throw fail(.headerBeyondFile, "the header length \(headerLength) reaches beyond the end of the file (\(raw.count) bytes): truncated, or not a safetensors file")
        }
        let dataStart = 8 + Int(headerLength)
        guard headerLength > 0, raw[8] == UInt8(ascii: "{") else {
            throw fail(.badHeader, "the header does not start with '{': not a safetensors file")
        }
        let header = try parseHeader(Data(raw[8..<dataStart]), fail)
        let entries = try header.infos.map { try entry($0.0, $0.1, fail) }
        let dataLength = raw.count - dataStart
        try checkCoverage(entries, dataLength: dataLength, fail)
        var tensors: [String: Tensor] = [:]
        for e in entries {
            tensors[e.name] = Tensor(shape: e.shape, values: convert(raw, from: dataStart + e.begin, e.dtype, e.count))
        }
        return (tensors, header.metadata)
    }

    static func parseHeader(_ json: Data, _ fail: Blame) throws -> Header {
        do {
            return try JSONDecoder().decode(Header.self, from: json)
        } catch let error as DecodingError {
            let (tensor, text) = explain(error)
            throw fail(.badHeader, tensor: tensor, "the header is not valid\(text)")
        } catch {
            throw fail(.badHeader, "the header is not valid: \(error)")
        }
    }

    /// The tensor whose entry is at fault, if any, and where and why decoding failed.
    static func explain(_ error: DecodingError) -> (tensor: String?, text: String) {
        let context: DecodingError.Context
        var why: String
        switch error {
        case .keyNotFound(let key, let c): (context, why) = (c, "missing field '\(key.stringValue)'")
        case .typeMismatch(_, let c), .valueNotFound(_, let c): (context, why) = (c, c.debugDescription)
        case .dataCorrupted(let c):
            (context, why) = (c, c.debugDescription)
            if let underlying = c.underlyingError { why += " (\(underlying))" }
        default: return (nil, ": \(error)")
        }
        let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "'\($0.stringValue)'" }.joined(separator: " ")
        let tensor = context.codingPath.first.map(\.stringValue).flatMap { $0 == "__metadata__" ? nil : $0 }
        return (tensor, path.isEmpty ? ": \(why)" : " at \(path): \(why)")
    }

    static func entry(_ name: String, _ info: Header.Info, _ fail: Blame) throws -> Entry {
        guard let dtype = DType(rawValue: info.dtype) else {
            throw fail(.unsupportedDType(info.dtype), tensor: name, "tensor '\(name)' has dtype \(info.dtype), which is not supported (F32, F16 and BF16 are)")
        }
        let shape = info.shape.map(\.value), offsets = info.data_offsets.map(\.value)
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw fail(.badHeader, tensor: name, "tensor '\(name)' has a negative dimension in shape \(shape)")
        }
        let (count, overflow) = shape.reduce((1, false)) { acc, d in
            let (p, o) = acc.0.multipliedReportingOverflow(by: d)
            return (p, acc.1 || o)
        }
        let (bytes, overflowBytes) = count.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, !overflowBytes else {
            throw fail(.badHeader, tensor: name, "tensor '\(name)' has shape \(shape), too many elements to address")
        }
        guard offsets.count == 2 else {
            throw fail(.badHeader, tensor: name, "tensor '\(name)' has data_offsets \(offsets); expected [begin, end]")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin >= 0, end >= begin else {
            throw fail(.badOffsets, tensor: name, "tensor '\(name)' has data_offsets [\(begin), \(end)], which is not a range")
        }
        guard end - begin == bytes else {
            throw fail(.badOffsets, tensor: name, "tensor '\(name)' (\(dtype.rawValue), shape \(shape)) needs \(bytes) bytes, but its data_offsets [\(begin), \(end)] span \(end - begin)")
        }
        return Entry(name: name, dtype: dtype, shape: shape, count: count, begin: begin, end: end)
    }

    /// Checks that the entries tile the data section exactly, as the format requires.
    static func checkCoverage(_ entries: [Entry], dataLength: Int, _ fail: Blame) throws {
        let sorted = entries.sorted { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var position = 0
        var previous: Entry?
        for e in sorted {
            if e.begin < position, let p = previous {
                throw fail(.badOffsets, tensor: e.name, "tensor '\(e.name)' data_offsets [\(e.begin), \(e.end)] overlap those of tensor '\(p.name)' [\(p.begin), \(p.end)]")
            }
            if e.begin > position {
                throw fail(.badOffsets, tensor: e.name, "data bytes \(position)..<\(e.begin) before tensor '\(e.name)' belong to no tensor")
            }
            position = e.end
            previous = e
        }
        if position > dataLength, let cut = sorted.first(where: { $0.end > dataLength }) {
            throw fail(.truncated, tensor: cut.name, "tensor '\(cut.name)' data_offsets [\(cut.begin), \(cut.end)] reach beyond the \(dataLength) data bytes in the file: truncated")
        }
        if position < dataLength {
            throw fail(.badOffsets, "the last \(dataLength - position) data bytes belong to no tensor")
        }
    }

    /// `count` values of `dtype` at `offset`, little-endian, as Float32.
    static func convert(_ raw: UnsafeRawBufferPointer, from offset: Int, _ dtype: DType, _ count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            switch dtype {
            case .f32:
                for i in 0..<count {
                    out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4 * i, as: UInt32.self)))
                }
            case .f16:
                for i in 0..<count {
                    out[i] = HalfPrecision.float(fromHalf: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 2 * i, as: UInt16.self)))
                }
            case .bf16:
                for i in 0..<count {
                    out[i] = HalfPrecision.float(fromBFloat16: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 2 * i, as: UInt16.self)))
                }
            }
            initialized = count
        }
    }
}
