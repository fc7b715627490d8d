import Foundation
import Testing
@testable import Layers
import Tensors

/// The files under Tests/LayersTests/Fixtures, written by scripts/make_tensor_fixtures.py.
enum Fixtures {
    static func url(_ name: String) throws -> URL {
        let folder = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return folder.appendingPathComponent(name)
    }

    static func load(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(contentsOf: url(name))
    }
}

/// A fresh directory, removed after `body`.
private func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("savl-safetensors-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    return try body(dir)
}

/// The bytes of a safetensors file with a header and `dataBytes` zero bytes of data.
private func file(_ header: String, dataBytes: Int) -> Data {
    var data = Data()
    withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
    data.append(contentsOf: Array(header.utf8))
    data.append(Data(count: dataBytes))
    return data
}

/// The error decoding `data` throws, or nil (recorded as an issue) when it decodes.
private func decodingError(_ data: Data, sourceLocation: SourceLocation = #_sourceLocation) -> SafeTensorsError? {
    do {
        _ = try SafeTensorsFile(data: data, source: "bad.safetensors")
        Issue.record("decoded without error", sourceLocation: sourceLocation)
    } catch let error as SafeTensorsError {
        return error
    } catch {
        Issue.record("unexpected error type: \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// Bit-exact equality, NaN payloads and the sign of zero included.
private func sameBits(_ a: [Float], _ b: [Float]) -> Bool {
    a.map(\.bitPattern) == b.map(\.bitPattern)
}

/// Equality that tells -0 from 0 but takes any NaN for any other: conversions differ in NaN payloads
/// (PyTorch turns the half NaN 0x7E00 into 0x7FFFFFFF, F16C hardware and Swift's Float16 into 0x7FC00000).
private func sameValues(_ a: [Float], _ b: [Float]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.isNaN ? $1.isNaN : $0.bitPattern == $1.bitPattern }
}

@Suite struct SafeTensorsTests {
    @Test func roundTripThroughAFile() throws {
        let conv = try conv2d(Tensor(shape: [1, 2, 3, 3], values: (0..<18).map { Float($0) / 7 }),
                              weight: Tensor(shape: [8, 2, 1, 1], values: (0..<16).map { Float($0) - 8 }))
        let tensors: [String: Tensor] = [
            "encoder.body.0.conv1.weight": Tensor(shape: [2, 3, 1, 2], values: (0..<12).map { Float($0) * 0.37 - 2 }),
            "scalar": Tensor(-1.5),
            "empty": Tensor.zeros([0, 4]),
            "specials": Tensor(shape: [5], values: [.infinity, -.infinity, .nan, -0.0, .leastNonzeroMagnitude]),
            "blocked layout": conv,
            "naïve \"name\"\n": Tensor(shape: [1], values: [7]),
        ]
        let metadata = ["arch": "savl", "preset": "x4 \"light\" \\ é\u{01}", "": "empty key"]
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("weights.safetensors")
            try SafeTensors.write(["old": Tensor(1)], to: url)
            try SafeTensors.write(tensors, metadata: metadata, to: url)
            let (read, readMetadata) = try SafeTensors.read(from: url)
            #expect(readMetadata == metadata)
            #expect(Set(read.keys) == Set(tensors.keys))
            for (name, t) in tensors {
                #expect(read[name]?.shape == t.shape, "\(name)")
                #expect(sameBits(read[name]?.values ?? [], t.values), "\(name)")
            }
            // The temporary file was renamed over the old one.
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["weights.safetensors"])
            #expect(try Data(contentsOf: url) == SafeTensors.encode(tensors, metadata: metadata))
        }
    }

    @Test func headerIsSortedAndPadded() throws {
        let data = try SafeTensors.encode(["b": Tensor(shape: [2], values: [1, 2]), "a": Tensor(3), "B": Tensor(4)],
                                          metadata: ["k": "v"])
        let length = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        #expect(length % 8 == 0)
        let header = String(decoding: data[8..<(8 + length)], as: UTF8.self)
        #expect(header == #"{"__metadata__":{"k":"v"},"B":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[],"data_offsets":[4,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#
                + String(repeating: " ", count: length - 184))
        #expect(data.count == 8 + length + 16)
    }

    /// A state_dict saved by Python's `safetensors` package re-encodes to the same bytes.
    @Test func encodingMatchesThePythonPackage() throws {
        let url = try Fixtures.url("golden_convnet_weights.safetensors")
        let (tensors, metadata) = try SafeTensors.read(from: url)
        #expect(metadata == ["format": "pt"])
        #expect(tensors["body.1.conv2.weight"]?.shape == [8, 8, 3, 3])
        #expect(try SafeTensors.encode(tensors, metadata: metadata) == Data(contentsOf: url))
    }

    @Test func readsPythonF32F16AndBF16() throws {
        let file = try Fixtures.load("python_dtypes.safetensors")
        #expect(file.metadata == ["note": "quote \" backslash \\ tab \t é"])
        #expect(try file.tensor("f32", shape: [3, 4]).values == (0..<12).map { Float($0) / 8 - 0.5 })
        #expect(try file.tensor("scalar", shape: []).values == [3.25])
        #expect(try file.tensor("empty", shape: [0, 3]).values.isEmpty)
        let half = try file.tensor("half", shape: [11]).values
        let bf16 = try file.tensor("bf16", shape: [13]).values
        // The F32 copies PyTorch made of the 16-bit tensors agree.
        #expect(sameValues(half, try file.tensor("half.as_f32").values))
        #expect(sameValues(bf16, try file.tensor("bf16.as_f32").values))
        // 0, -0, 1, -2.5, max half, smallest subnormal half, a subnormal, 0.1 rounded, inf, -inf, NaN.
        #expect(sameBits(Array(half[0..<10]), [0, -0.0, 1, -2.5, 65504, 0x1p-24, -503 * 0x1p-24, 0.0999755859375, .infinity, -.infinity]))
        #expect(half[10].isNaN)
        #expect(sameBits(Array(bf16[0..<10]), [0, -0.0, 1, -2.5, 65536, Float(bitPattern: 0x3381_0000), Float(bitPattern: 0xB7FC_0000), 0.10009765625, .infinity, -.infinity]))
        #expect(bf16[10].isNaN)
        #expect(bf16[12] == Float(bitPattern: 0x000B_0000), "a Float32 subnormal")
    }

    #if !(os(macOS) && arch(x86_64))
    @Test func halfConversionMatchesFloat16ForEveryBitPattern() {
        var mismatches: [UInt16] = []
        for bits in UInt16.min...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let actual = HalfPrecision.float(fromHalf: bits)
            let same = expected.isNaN ? actual.isNaN && actual.sign == expected.sign : actual.bitPattern == expected.bitPattern
            if !same { mismatches.append(bits) }
        }
        #expect(mismatches.isEmpty, "first mismatching patterns: \(mismatches.prefix(5))")
    }
    #endif

    @Test func everyTruncationIsAnError() throws {
        let data = try Data(contentsOf: Fixtures.url("python_dtypes.safetensors"))
        let headerEnd = 8 + Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        for length in 0..<data.count {
            guard let error = decodingError(data.prefix(length)) else { continue }
            switch length {
            case 0..<8: #expect(error.kind == .truncated, "at \(length): \(error)")
            case 8..<headerEnd: #expect(error.kind == .headerBeyondFile, "at \(length): \(error)")
            default:
                #expect(error.kind == .truncated && error.tensor != nil, "at \(length): \(error)")
                #expect(error.description.hasPrefix("bad.safetensors: tensor '"), "\(error)")
            }
        }
        // From a file, the error names its path.
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("cut.safetensors")
            try data.prefix(data.count - 3).write(to: url)
            #expect {
                try SafeTensors.read(from: url)
            } throws: { error in
                let e = error as? SafeTensorsError
                return e?.kind == .truncated && e?.tensor == "half" && e?.file == url.path
                    && e?.description == "\(url.path): tensor 'half' data_offsets [174, 196] reach beyond the 193 data bytes in the file: truncated"
            }
        }
    }

    @Test func corruptHeadersGiveNamedErrors() throws {
        func entry(_ name: String = "a", dtype: String = "F32", shape: String = "[2]", offsets: String = "[0,8]") -> String {
            #""\#(name)":{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":\#(offsets)}"#
        }
        // The unbroken file decodes.
        #expect(try SafeTensorsFile(data: file("{\(entry())}", dataBytes: 8), source: "ok").tensor("a", shape: [2]).values == [0, 0])

        var huge = Data(repeating: 0xFF, count: 8)
        huge.append(contentsOf: Array("{}".utf8))
        let cases: [(Data, SafeTensorsError.Kind, tensor: String?, mentions: String)] = [
            (huge, .headerBeyondFile, nil, "header length 18446744073709551615"),
            (file("[1, 2]", dataBytes: 0), .badHeader, nil, "does not start with '{'"),
            (file("", dataBytes: 4), .badHeader, nil, "does not start with '{'"),
            (file("{\"a\": ", dataBytes: 0), .badHeader, nil, "not valid"),
            (file("{\"a\": \u{FF}}", dataBytes: 0), .badHeader, nil, "not valid"),
            (file(#"{"a":{"shape":[2],"data_offsets":[0,8]}}"#, dataBytes: 8), .badHeader, "a", "missing field 'dtype'"),
            (file("{\(entry(shape: "[2, -1]"))}", dataBytes: 8), .badHeader, "a", "negative dimension in shape [2, -1]"),
            (file("{\(entry(shape: "[1.5]"))}", dataBytes: 8), .badHeader, "a", "at 'a' 'shape' [0]: expected an integer, found 1.5"),
            (file("{\(entry(shape: "[4294967296, 4294967296]"))}", dataBytes: 8), .badHeader, "a", "too many elements"),
            (file("{\(entry(offsets: "[0]"))}", dataBytes: 8), .badHeader, "a", "expected [begin, end]"),
            (file("{\(entry(offsets: "[0, 18446744073709551615]"))}", dataBytes: 8), .badHeader, "a", "'data_offsets'"),
            (file("{\(entry(offsets: "[8, 0]"))}", dataBytes: 8), .badOffsets, "a", "[8, 0], which is not a range"),
            (file("{\(entry(offsets: "[0, 12]"))}", dataBytes: 12), .badOffsets, "a", "(F32, shape [2]) needs 8 bytes, but its data_offsets [0, 12] span 12"),
            (file("{\(entry(dtype: "I64"))}", dataBytes: 16), .unsupportedDType("I64"), "a", "dtype I64"),
            (file("{\(entry()),\(entry("b", offsets: "[4,12]"))}", dataBytes: 12), .badOffsets, "b", "overlap those of tensor 'a' [0, 8]"),
            (file("{\(entry()),\(entry("b", offsets: "[12,20]"))}", dataBytes: 20), .badOffsets, "b", "data bytes 8..<12 before tensor 'b'"),
            (file("{\(entry())}", dataBytes: 9), .badOffsets, nil, "the last 1 data bytes belong to no tensor"),
            (file("{\(entry()),\(entry("b", offsets: "[8,16]"))}", dataBytes: 12), .truncated, "b", "tensor 'b' data_offsets [8, 16] reach beyond the 12 data bytes"),
            (file(#"{"__metadata__":{"epoch":3},"# + entry() + "}", dataBytes: 8), .badHeader, nil, "'__metadata__' 'epoch'"),
        ]
        for (data, kind, tensor, mentions) in cases {
            guard let error = decodingError(data) else { continue }
            #expect(error.kind == kind, "\(error)")
            #expect(error.tensor == tensor, "\(error)")
            #expect(error.description.hasPrefix("bad.safetensors: "), "\(error)")
            #expect(error.description.contains(mentions), "\(error) should mention \(mentions)")
        }
    }

    /// Random byte changes in the header of a valid file either still decode or throw, never crash.
    @Test func scrambledHeadersNeverCrash() throws {
        let original = try Data(contentsOf: Fixtures.url("python_dtypes.safetensors"))
        let headerEnd = 8 + Int(original.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        let digits = Array("0123456789-[]{},:\"".utf8)
        var failures = 0
        for _ in 0..<400 {
            var data = original
            for _ in 0..<(1 + next(3)) {
                let at = next(headerEnd)
                data[at] = next(2) == 0 ? UInt8(next(256)) : digits[next(digits.count)]
            }
            do { _ = try SafeTensorsFile(data: data, source: "scrambled") } catch is SafeTensorsError { failures += 1 }
        }
        #expect(failures > 200, "most scrambled headers are invalid")
    }

    @Test func lookupErrorsNameTheTensorAndShapes() throws {
        let data = try SafeTensors.encode(["x": Tensor.zeros([3, 4]), "encoder.body.0.conv1.weight": Tensor.zeros([1])])
        let file = try SafeTensorsFile(data: data, source: "weights.safetensors")
        #expect {
            try file.tensor("x", shape: [4, 3])
        } throws: { error in
            let e = error as? SafeTensorsError
            return e?.kind == .shapeMismatch && e?.description == "weights.safetensors: tensor 'x' has shape [3, 4] in file, expected [4, 3]"
        }
        #expect {
            try file.tensor("encoder.body.0.weight")
        } throws: { error in
            let e = error as? SafeTensorsError
            return e?.kind == .missingTensor && e?.tensor == "encoder.body.0.weight"
                && e?.description == "weights.safetensors: missing tensor 'encoder.body.0.weight' (the file has 2 tensors; closest name: 'encoder.body.0.conv1.weight')"
        }
        #expect {
            try file.tensor("decoder.weight")
        } throws: { error in
            (error as? SafeTensorsError)?.description == "weights.safetensors: missing tensor 'decoder.weight' (the file has 2 tensors)"
        }
    }

    @Test func fileErrorsNameThePathAndLeaveNoFile() throws {
        try withTemporaryDirectory { dir in
            let absent = dir.appendingPathComponent("absent.safetensors")
            #expect {
                try SafeTensors.read(from: absent)
            } throws: { error in
                let e = error as? SafeTensorsError
                return e?.kind == .io && e?.description.hasPrefix("\(absent.path): cannot read the file") == true
            }
            let missing = dir.appendingPathComponent("no/such/dir/w.safetensors")
            #expect {
                try SafeTensors.write(["a": Tensor(1)], to: missing)
            } throws: { error in
                let e = error as? SafeTensorsError
                return e?.kind == .io && e?.file == missing.path
            }
            let url = dir.appendingPathComponent("w.safetensors")
            #expect(throws: SafeTensorsError.self) { try SafeTensors.write(["__metadata__": Tensor(1)], to: url) }
            #expect(throws: SafeTensorsError.self) { try SafeTensors.write(["": Tensor(1)], to: url) }
            let left = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            #expect(left.isEmpty)
        }
    }
}
