import Foundation
import TestPhotos
import Testing
@testable import savl

/// A 2-rank batch of `savl upscale` under mpirun.
struct UpscaleRanksTests {
    @Test func twoRanksUpscaleAFolderAndReportItWhole() throws {
        let dir = try temporaryDirectory("ranks-upscale")
        defer { try? FileManager.default.removeItem(at: dir) }
        let photos = dir.appendingPathComponent("in"), out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        for (i, side) in [24, 40, 16, 32].enumerated() {
            try writePNG(width: side, height: side, channels: 3, to: photos.appendingPathComponent("p\(i).png"))
        }
        try Data("not an image".utf8).write(to: photos.appendingPathComponent("broken.png"))
        let result = try runMPI(ranks: 2, ["upscale", photos.path, "-o", out.path, "--threads", "1", "--progress", "json"])
        #expect(result.status == 1, "a failed file fails the batch on every rank: \(result.stderr)")
        let done = result.stderr.split(separator: "\n").filter { $0.contains("\"event\":\"done\"") }
        #expect(done.count == 1 && done[0].contains("\"failed\":1") && done[0].contains("\"written\":4"), "\(result.stderr)")
        #expect(result.stderr.contains("broken.png"), "the failure is named: \(result.stderr)")
        for i in 0..<4 { #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("p\(i).png").path), "p\(i).png") }
    }
}
