import FileSupport
import Foundation
import Imaging
import Restoration
import TestPhotos
import Testing
@testable import savl

/// The traps around `savl upscale`: leftovers of killed runs, symbolic-link loops, output names, unwritable
/// outputs, small tiles, repeated inputs, negative numbers and files of formats savl does not read.
@Suite struct UpscaleTrapsTests {
    func events(_ stderr: String) -> [[String: Any]] {
        stderr.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// `.NAME.tmp-*` files of a killed run are removed from the output folder at start, and are never
    /// taken for inputs; nothing else there is touched.
    @Test func staleTemporariesAreRemovedAndNeverTakenForInputs() throws {
        let dir = try temporaryDirectory("traps-stale")
        defer { try? FileManager.default.removeItem(at: dir) }
        let modelURL = try makeModelFile(in: dir)
        let input = dir.appendingPathComponent("in"), out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try writeImage(photo(width: 20, height: 16, channels: 3, seed: 1), to: input.appendingPathComponent("a.png"))
        try Data([0x89, 0x50]).write(to: input.appendingPathComponent(".a.png.tmp-1x2y"))
        for name in [".a.png.tmp-3k9x", ".old.jpg.tmp-zz", "notes.tmp-1", ".keep"] {
            try Data([0x89, 0x50, 0x4E]).write(to: out.appendingPathComponent(name))
        }
        let run = try savl(["upscale", input.path, "-o", out.path, "--model", modelURL.path, "--progress", "json"])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(events(run.stderr).first?["files"] as? Int == 1, "one input, not the temporary: \(run.stderr)")
        #expect(run.stderr.contains("removed 2 temporary files left in \(out.path) by an interrupted run"), "\(run.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted() == [".keep", "a.png", "notes.tmp-1"])
    }

    /// A link loop and a second link to a folder are not followed again: each folder is searched once.
    @Test func recursionFollowsEachFolderOnce() throws {
        let dir = try temporaryDirectory("traps-links")
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = dir.appendingPathComponent("root"), outside = dir.appendingPathComponent("outside")
        for folder in [root.appendingPathComponent("sub"), outside] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        for file in [root.appendingPathComponent("a.png"), root.appendingPathComponent("sub/b.png"), outside.appendingPathComponent("c.jpg")] {
            try Data([0]).write(to: file)
        }
        let fm = FileManager.default
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("sub/loop").path, withDestinationPath: root.path)
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("another").path, withDestinationPath: root.appendingPathComponent("sub").path)
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("ext").path, withDestinationPath: outside.path)
        let planner = UpscaleJobPlanner(output: dir.appendingPathComponent("out").path, recursive: true, suffix: "", format: nil)
        let plan = planner.plan(for: [root.path])
        let relative = plan.jobs.map { String($0.output.path.dropFirst(dir.appendingPathComponent("out").path.count + 1)) }
        #expect(relative == ["a.png", "ext/c.jpg", "sub/b.png"], "\(relative)")
        #expect(plan.jobs.allSatisfy { $0.problem == nil })
        #expect(plan.notes.count == 2 && plan.notes.allSatisfy { $0.contains("a folder searched anyway, not followed") }, "\(plan.notes)")
    }

    /// An input given twice (or given and inside a folder given) is done once.
    @Test func anInputGivenTwiceIsDoneOnce() throws {
        let dir = try temporaryDirectory("traps-twice")
        defer { try? FileManager.default.removeItem(at: dir) }
        let modelURL = try makeModelFile(in: dir)
        let folder = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let input = folder.appendingPathComponent("p.png")
        try writeImage(photo(width: 12, height: 10, channels: 3, seed: 2), to: input)
        let planner = UpscaleJobPlanner(output: dir.appendingPathComponent("out").path, recursive: false, suffix: "", format: nil)
        #expect(planner.jobs(for: [input.path, input.path, folder.path, folder.path + "/./p.png"]).count == 1)
        let run = try savl(["upscale", input.path, input.path, "-o", dir.appendingPathComponent("out").path, "--model", modelURL.path])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(try readImage(at: dir.appendingPathComponent("out/p.png")).width == 48)
        let file = try savl(["upscale", input.path, input.path, "-o", dir.appendingPathComponent("one.png").path, "--model", modelURL.path])
        #expect(file.status == 0 && FileManager.default.fileExists(atPath: dir.appendingPathComponent("one.png").path), "\(file.stderr)")
    }

    /// An -o with an image extension is an output file or an error naming the formats; never a folder.
    @Test func anImageExtensionIsNeverAFolder() throws {
        let dir = try temporaryDirectory("traps-ext")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("p.png")
        try writeImage(photo(width: 12, height: 10, channels: 3, seed: 2), to: input)
        let cases: [([String], String, String)] = [
            ([input.path], "res.tiff", "savl writes PNG (.png), JPEG (.jpg, .jpeg) and WebP (.webp), not .tiff"),
            ([input.path], "res.BMP", "not .BMP"),
            ([dir.path], "res.png", "needs exactly one input file"),
            ([input.path, dir.appendingPathComponent("q.png").path], "res.jpg", "needs exactly one input file"),
        ]
        for (inputs, name, message) in cases {
            let run = try savl(["upscale"] + inputs + ["-o", dir.appendingPathComponent(name).path])
            #expect(run.status == 64 && run.stderr.contains(message), "\(name): \(run.status) \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path), "\(name) was created")
        }
    }

    /// An output folder that cannot be written fails its file before any compute, with a plain reason,
    /// and the batch goes on.
    @Test func anUnwritableOutputFailsBeforeTheCompute() throws {
        let dir = try temporaryDirectory("traps-unwritable")
        defer { try? FileManager.default.removeItem(at: dir) }
        let modelURL = try makeModelFile(in: dir)
        let input = dir.appendingPathComponent("in"), out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: input.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try writeImage(photo(width: 20, height: 16, channels: 3, seed: 1), to: input.appendingPathComponent("a.png"))
        try writeImage(photo(width: 20, height: 16, channels: 3, seed: 2), to: input.appendingPathComponent("sub/b.png"))
        try Data("not a folder".utf8).write(to: out.appendingPathComponent("sub"))  // where out/sub/ must go
        let run = try savl(["upscale", input.path, "-o", out.path, "--model", modelURL.path, "--recursive", "--progress", "json"])
        #expect(run.status == 1)
        let all = events(run.stderr)
        #expect(!all.contains { $0["event"] as? String == "tile" && $0["file"] as? String == "b.png" }, "b.png was computed: \(run.stderr)")
        let failure = all.first { $0["status"] as? String == "failed" }?["error"] as? String ?? ""
        #expect(failure.contains("sub/b.png") && failure.contains("\(out.path)/sub is a file, not a folder"), "\(failure)")
        #expect(!run.stderr.contains("NSCocoaErrorDomain"))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("a.png").path))
    }

    /// Small tiles never cost more than 2x the compute: the default overlap shrinks (and a note says so),
    /// an explicit overlap that does not fit is refused with the smallest tile that does.
    @Test func smallTilesAreKeptWithinTwiceTheCompute() throws {
        let dir = try temporaryDirectory("traps-tiles")
        defer { try? FileManager.default.removeItem(at: dir) }
        let modelURL = try makeModelFile(in: dir)
        let input = dir.appendingPathComponent("p.png")
        try writeImage(photo(width: 300, height: 200, channels: 3, seed: 3), to: input)
        for (tile, shrunk) in [("32", true), ("48", true), ("64", true), ("100", false)] {
            let run = try savl(["upscale", input.path, "-o", dir.appendingPathComponent("out").path, "--model", modelURL.path,
                                "--tile", tile, "--dry-run"])
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let compute = run.stdout.components(separatedBy: "compute x").dropFirst().first.flatMap { Double($0.prefix(4)) } ?? .infinity
            #expect(compute <= 2, "--tile \(tile): compute x\(compute)\n\(run.stdout)")
            #expect(run.stdout.contains("note: tiles of") == shrunk && run.stdout.contains("less exact") == shrunk, "--tile \(tile):\n\(run.stdout)")
        }
        let refused = try savl(["upscale", input.path, "-o", dir.appendingPathComponent("out").path, "--model", modelURL.path,
                                "--tile", "32", "--tile-overlap", "24", "--dry-run"])
        #expect(refused.status == 1 && refused.stderr.contains("would cost about") && refused.stderr.contains("use --tile 82 or more"),
                "\(refused.stderr)")
        #expect(TileCost.overhead(tile: 64, overlap: 32) == 4 && TileCost.smallestTile(overlap: 32) == 110)
        let help = try savl(["upscale", "--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for text in ["A tile's side includes its overlap", "tiling never costs more than 2x", "no folder is searched twice"] {
            #expect(help.contains(text), "help lacks \(text)")
        }
    }

    /// Negative numbers reach the option and get a message about the value, not "Missing value".
    @Test func negativeNumbersGetClearMessages() throws {
        let cases: [([String], String)] = [
            (["--tile", "-5"], "--tile must be auto, 0 or a positive number of pixels, not -5"),
            (["--tile-overlap", "-1"], "--tile-overlap must not be negative, not -1"),
            (["--threads", "-2"], "--threads must be at least 1, not -2"),
            (["--width", "-3"], "--width must be positive, not -3"),
            (["--quality", "-1"], "--quality must be in 1...100, not -1"),
            (["--memory", "-64"], "--memory must be at least 16 (MB), not -64"),
            (["--scale", "-2"], "--scale must be in (0, 32], not -2"),
        ]
        for (arguments, message) in cases {
            let run = try runSavl(["upscale", "in.png", "-o", "out"] + arguments)
            #expect(run.status == 64 && run.stderr.contains(message) && !run.stderr.contains("Missing value"), "\(arguments): \(run.stderr)")
        }
        let others: [([String], String)] = [
            (["train", "--resume", "runs/x", "--steps", "-5"], "--steps must be at least 1, got -5"),
            (["bench", "--batch", "-1"], "--steps and --batch must be at least 1"),
            (["eval", "folder", "--scale", "-4"], "--scale must be in 2...16, not -4"),
            (["inspect", "in.png", "-o", "out", "--memory", "-1"], "--memory must be at least 16"),
            (["degrade", "in.png", "-o", "out", "--scale", "-2"], "--scale -2 is not in 1...8"),
            (["bench-degradations", "--pairs", "-3"], "--pairs must be positive"),
        ]
        for (arguments, message) in others {
            let run = try runSavl(arguments)
            #expect(run.status == 64 && run.stderr.contains(message) && !run.stderr.contains("Missing value"), "\(arguments): \(run.stderr)")
        }
    }

    /// Images savl does not read are listed as skipped, in the notes and the summary's count; BMP and WebP
    /// are read (and a BMP written as PNG, a WebP as WebP).
    @Test func unreadFormatsAreListedAsSkipped() throws {
        let dir = try temporaryDirectory("traps-formats")
        defer { try? FileManager.default.removeItem(at: dir) }
        let modelURL = try makeModelFile(in: dir)
        let input = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        try writeImage(photo(width: 12, height: 10, channels: 3, seed: 2), to: input.appendingPathComponent("p.png"))
        try Data(WebP.encode(photo(width: 12, height: 10, channels: 3, seed: 3), quality: 90)).write(to: input.appendingPathComponent("phone.webp"))
        try Data("II*\0".utf8).write(to: input.appendingPathComponent("print.tif"))
        try Data("GIF89a".utf8).write(to: input.appendingPathComponent("anim.gif"))
        try Data("notes".utf8).write(to: input.appendingPathComponent("notes.txt"))
        // A 4x3 24-bit BMP (rows bottom-up, each padded to 12 bytes): read, and written as PNG.
        func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        var file: [UInt8] = Array("BM".utf8)
        for v in [54 + 36, 0, 54, 40, 4, 3] { file += le32(v) }
        file += [1, 0, 24, 0]
        for v in [0, 36, 2835, 2835, 0, 0] { file += le32(v) }
        file += (0..<36).map { UInt8(($0 * 7) % 256) }
        try Data(file).write(to: input.appendingPathComponent("scan.bmp"))
        let run = try savl(["upscale", input.path, "-o", dir.appendingPathComponent("out").path, "--model", modelURL.path, "--progress", "json"])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let all = events(run.stderr)
        let notes = all.compactMap { $0["event"] as? String == "note" ? $0["message"] as? String : nil }
        #expect(notes.contains { $0.contains("print.tif: skipped, savl does not read TIFF") }, "\(notes)")
        #expect(notes.contains { $0.contains("anim.gif: skipped, savl does not read GIF") }, "\(notes)")
        #expect(!notes.contains { $0.contains("notes.txt") })
        let done = all.first { $0["event"] as? String == "done" }
        #expect(done?["written"] as? Int == 3 && done?["skipped"] as? Int == 2, "\(run.stderr)")
        let scan = try readImage(at: dir.appendingPathComponent("out/scan.png"))
        #expect(scan.width == 16 && scan.height == 12)
        let phone = try Array(Data(contentsOf: dir.appendingPathComponent("out/phone.webp")))
        #expect(ImageFormat(signatureOf: phone) == .webp)
        #expect(try decodeImage(phone).width == 48)
    }

    /// Foundation's generic codes become plain reasons.
    @Test func fileErrorsArePlainWords() throws {
        let dir = try temporaryDirectory("traps-errors")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("f")
        try Data([1]).write(to: file)
        let blocked = file.appendingPathComponent("sub").path
        do {
            try FileManager.default.createDirectory(atPath: blocked, withIntermediateDirectories: true)
            Issue.record("creating a folder under a file succeeded")
        } catch {
            #expect(FileErrors.reason(error, path: blocked) == "\(file.path) is a file, not a folder", "\(error)")
        }
        #expect(FileErrors.reason(CocoaError(.fileWriteUnknown), path: blocked) == "\(file.path) is a file, not a folder")
        #expect(FileErrors.reason(CocoaError(.fileWriteOutOfSpace), path: blocked) == "no space left on the device")
        #expect(FileErrors.reason(CocoaError(.fileWriteNoPermission), path: blocked) == "permission denied")
        #expect(FileErrors.describe(errno: ENOSPC, path: blocked) == "no space left on the device")
        #expect(FileErrors.describe(errno: EACCES, path: blocked) == "permission denied")
    }
}
