import Foundation
import TestPhotos
import Testing
@testable import savl

/// A 2-rank batch of `savl upscale` under mpirun.
struct UpscaleRanksTests {
    @Test(arguments: ["dynamic", "static"])
    func twoRanksUpscaleAFolderAndReportItWhole(distribution: String) throws {
        let dir = try temporaryDirectory("ranks-upscale-\(distribution)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let photos = dir.appendingPathComponent("in"), out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        for (i, side) in [24, 40, 16, 32].enumerated() {
            try writePNG(width: side, height: side, channels: 3, to: photos.appendingPathComponent("p\(i).png"))
        }
        try Data("not an image".utf8).write(to: photos.appendingPathComponent("broken.png"))
        let result = try runMPI(ranks: 2, ["upscale", photos.path, "-o", out.path, "--threads", "1", "--progress", "json",
                                                "--distribution", distribution])
        #expect(result.status == 1, "a failed file fails the batch on every rank: \(result.stderr)")
        let done = result.stderr.split(separator: "\n").filter { $0.contains("\"event\":\"done\"") }
        #expect(done.count == 1 && done[0].contains("\"failed\":1") && done[0].contains("\"written\":4"), "\(result.stderr)")
        #expect(result.stderr.contains("broken.png"), "the failure is named: \(result.stderr)")
        for i in 0..<4 { #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("p\(i).png").path), "p\(i).png") }
        #expect(!result.stderr.contains("dealt statically"), "Open MPI allows calls from several threads: \(result.stderr)")
    }

    /// Each file is done once, by one rank, however the queue hands them out (`--progress json` of every
    /// rank: only rank 0 reports, so the files are counted in the output folder and in the totals).
    @Test func theQueueHandsOutEachFileOnce() throws {
        let dir = try temporaryDirectory("ranks-queue")
        defer { try? FileManager.default.removeItem(at: dir) }
        let photos = dir.appendingPathComponent("in"), out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        for i in 0..<9 { try writePNG(width: 12 + 4 * i, height: 16, channels: 3, to: photos.appendingPathComponent("q\(i).png")) }
        let result = try runMPI(ranks: 2, ["upscale", photos.path, "-o", out.path, "--threads", "1", "--progress", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let done = result.stderr.split(separator: "\n").filter { $0.contains("\"event\":\"done\"") }
        #expect(done.count == 1 && done[0].contains("\"written\":9") && done[0].contains("\"failed\":0"), "\(result.stderr)")
        let written = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasSuffix(".png") }
        #expect(written.sorted() == (0..<9).map { "q\($0).png" })
    }
}
