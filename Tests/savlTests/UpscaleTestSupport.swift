import Foundation
import TestPhotos
import Testing
@testable import savl

/// Helpers shared by the upscale, inspect and eval tests.

/// Runs `savl` with one compute thread: the suite runs many small jobs at once, and OpenMP threads that
/// wait on each other across busy cores make them many times slower.
func savl(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    try runSavl(arguments + (arguments.contains("--help") ? [] : ["--threads", "1"]))
}

/// A JPEG with an APP1 Exif segment carrying `orientation`, inserted after SOI.
func withExifOrientation(_ jpeg: [UInt8], _ orientation: UInt8) -> [UInt8] {
    let tiff: [UInt8] = [0x4D, 0x4D, 0x00, 0x2A, 0, 0, 0, 8,   // big-endian TIFF header, IFD0 at 8
                         0, 1,                                 // one entry
                         0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0,  // Orientation, SHORT, 1 value
                         0, 0, 0, 0]                           // no next IFD
    let payload = Array("Exif".utf8) + [0, 0] + tiff
    let length = payload.count + 2
    return [0xFF, 0xD8, 0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + payload + Array(jpeg[2...])
}

/// A minimal ICC profile header that PNG and JPEG writers accept (display class, RGB, XYZ, D50), plus filler.
func testICCProfile() -> [UInt8] {
    var p = [UInt8](repeating: 0, count: 132 + 40)
    func put(_ s: String, at o: Int) { for (i, b) in s.utf8.enumerated() { p[o + i] = b } }
    func put32(_ v: UInt32, at o: Int) { for i in 0..<4 { p[o + i] = UInt8((v >> (24 - 8 * UInt32(i))) & 0xFF) } }
    put32(UInt32(p.count), at: 0)
    p[8] = 4
    put("mntr", at: 12); put("RGB ", at: 16); put("XYZ ", at: 20); put("acsp", at: 36)
    put32(0x0000_F6D6, at: 68); put32(0x0001_0000, at: 72); put32(0x0000_D32D, at: 76)
    for i in 132..<p.count { p[i] = UInt8(i % 251) }
    return p
}
