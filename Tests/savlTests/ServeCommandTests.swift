import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Tensors
import TestPhotos
import Testing
@testable import savl

/// `savl serve` from the command line: its help says what binding elsewhere exposes, bad options are
/// refused before anything listens, and a started server answers on its port.
@Suite struct ServeCommandTests {
    @Test func helpNamesTheDefaultsAndWhatBindingElsewhereExposes() throws {
        let help = try savl(["serve", "--help"])
        #expect(help.status == 0)
        for text in ["--host", "127.0.0.1", "--port", "8080", "no authentication", "--queue", "--keep-minutes", "/api/upscale", "--precision"] {
            #expect(help.stdout.contains(text), "help lacks \(text)")
        }
    }

    @Test func badOptionsAreRefused() throws {
        for (arguments, message) in [(["--port", "0"], "--port must be in 1...65535"), (["--jobs", "0"], "--jobs must be at least 1"),
                                     (["--max-upload", "0"], "--max-upload must be in"), (["--model", "missing.safetensors"], "no such file")] {
            let run = try savl(["serve"] + arguments)
            #expect(run.status != 0 && run.stderr.contains(message), "\(arguments): \(run.stderr)")
        }
    }

    @Test func aStartedServerAnswersItsHealth() async throws {
        let dir = try temporaryDirectory("serve-command")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try makeModelFile(in: dir)
        let port = 20_000 + Int.random(in: 0..<20_000)
        let process = Process()
        process.executableURL = try savlExecutable()
        process.arguments = ["serve", "--port", "\(port)", "--model", model.path, "--threads", "1"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { process.terminate(); process.waitUntilExit() }
        var answer = ""
        for _ in 0..<100 where answer.isEmpty {
            try await Task.sleep(for: .milliseconds(200))
            if let (data, _) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/api/health")!) {
                answer = String(decoding: data, as: UTF8.self)
            }
        }
        #expect(answer.contains("\"status\":\"ok\"") && answer.contains("tiny x4"), "health: \(answer)")
        #expect(answer.contains("per job, \(Engine.resolve(.auto))"), "the default precision is auto's choice: \(answer)")
    }
}
