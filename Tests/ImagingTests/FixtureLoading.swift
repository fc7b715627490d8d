import Foundation
import Testing
@testable import Imaging

/// The manifest written by scripts/make_imaging_fixtures.py.
struct Goldens: Decodable {
    struct Input: Decodable { let file: String; let channels: Int; let height: Int; let width: Int }
    struct ResizeCase: Decodable { let method: String; let input: String; let width: Int; let height: Int; let file: String }
    struct YCbCrCase: Decodable { let input: String; let file: String }
    struct PNGCase: Decodable { let file: String; let expected: String; let channels: Int; let height: Int; let width: Int; let bitDepth: Int }
    let inputs: [String: Input]
    let resize: [ResizeCase]
    let ycbcr: YCbCrCase
    let png: [PNGCase]

    static func load() throws -> Goldens {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/goldens", withExtension: "json"))
        return try JSONDecoder().decode(Goldens.self, from: Data(contentsOf: url))
    }

    /// Reads a planar little-endian float32 fixture file.
    static func floats(_ file: String) throws -> [Float] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/" + file, withExtension: nil))
        let data = try Data(contentsOf: url)
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }

    /// The raw bytes of a fixture file.
    static func bytes(_ file: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/" + file, withExtension: nil))
        return [UInt8](try Data(contentsOf: url))
    }

    func image(_ name: String) throws -> Image {
        let input = try #require(inputs[name])
        return Image(width: input.width, height: input.height, channels: input.channels, planes: try Goldens.floats(input.file))
    }
}

/// Largest absolute difference between two equally long arrays.
func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    var m: Float = 0
    for i in a.indices { m = max(m, abs(a[i] - b[i])) }
    return m
}
