import Foundation
import Testing
@testable import Imaging

@Suite struct AtomicFilesTests {
    func folder(_ label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("savl-atomic-\(label)-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func temporaryNamesAreRecognisedExactly() {
        for _ in 0..<20 { #expect(AtomicFiles.isTemporaryName(AtomicFiles.temporaryName(for: "photo.png"))) }
        #expect(AtomicFiles.isTemporaryName(".a.png.tmp-0"))
        for name in ["photo.png", ".photo.png", "a.png.tmp-1", "..tmp-1", ".a.png.tmp-", ".a.png.tmp-ABC", ".a.png.tmp-12345678901234", ".a.tmp-x.png"] {
            #expect(!AtomicFiles.isTemporaryName(name), "\(name)")
        }
    }

    /// What a kill during a write leaves is removed; a temporary still being written (locked), outputs,
    /// other hidden files and look-alikes are not.
    @Test func onlyStaleTemporariesAreRemoved() throws {
        let dir = try folder("stale")
        defer { try? FileManager.default.removeItem(at: dir) }
        let stale = [".a.png.tmp-3k9x", ".b.jpg.tmp-zz"], kept = ["a.png", ".hidden", "notes.tmp-1", ".c.png.tmp-ABC", ".held.png.tmp-1"]
        for name in stale + kept { try Data([1, 2, 3]).write(to: dir.appendingPathComponent(name)) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent(".d.png.tmp-1"), withIntermediateDirectories: false)
        let held = open(dir.appendingPathComponent(".held.png.tmp-1").path, O_RDONLY)
        #expect(held >= 0 && flock(held, LOCK_EX) == 0)
        defer { close(held) }
        #expect(AtomicFiles.removeStaleTemporaries(in: dir) == stale.sorted())
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == (kept + [".d.png.tmp-1"]).sorted())
    }

    @Test func writesLeaveNoTemporaryAndProbesSayWhatIsWrong() throws {
        let dir = try folder("probe")
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeImage(Image(width: 4, height: 3, channels: 3, value: 0.5), to: dir.appendingPathComponent("x.png"))
        try AtomicFiles.checkWritable(folder: dir.appendingPathComponent("new/deeper"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["new", "x.png"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("new/deeper").path).isEmpty)
        let error = try #require(throws: ImageError.self) { try AtomicFiles.checkWritable(folder: dir.appendingPathComponent("x.png/out")) }
        #expect(error.kind == .writeFailed && error.reason.hasSuffix("x.png is a file, not a folder"), "\(error.reason)")
        #expect(!error.reason.contains("NSCocoaErrorDomain"))
    }
}
