import Foundation
import Hummingbird
import HummingbirdTesting
import Imaging
import Restoration
import TestPhotos
import Testing
@testable import WebServer

/// The JSON API of `savl serve`, in process: uploads, polling, results equal to `savl upscale`'s, the
/// inspect pictures, errors, the queue's bound and the expiry of results.
@Suite struct APITests {
    /// A server over a tiny random model, with the default threads (every core, as `savl upscale` without
    /// `--threads`). The caller stops its queue.
    func server(_ edit: (inout ServeSettings) -> Void = { _ in }, start: Bool = true) throws -> (ServeApplication, URL, URL) {
        let dir = try temporaryDirectory("serve-api")
        let modelURL = try makeModelFile(in: dir)
        var settings = ServeSettings()
        edit(&settings)
        let app = ServeApplication(model: try UpscaleModels.load(modelURL.path), settings: settings)
        if start { app.queue.start() }
        return (app, dir, modelURL)
    }

    func png(_ width: Int, _ height: Int, seed: UInt64 = 1, channels: Int = 3) throws -> [UInt8] {
        try encodeImage(photo(width: width, height: height, channels: channels, seed: seed), format: .png)
    }

    func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any], "\(String(buffer: response.body))")
    }

    /// Uploads `bytes` and returns the job's id.
    func upload(_ client: some TestClientProtocol, _ bytes: [UInt8], query: String = "") async throws -> String {
        try await client.execute(uri: "/api/upscale?" + query, method: .post, body: ByteBuffer(bytes: bytes)) { response in
            #expect(response.status == .accepted, "\(String(buffer: response.body))")
            return try #require(try json(response)["id"] as? String)
        }
    }

    /// Polls a job until it is done or failed and returns its last status. The bound is generous (five
    /// minutes) because this suite shares the test process and its two cores with every other suite: a
    /// tiny job has waited over a minute for the CPU there.
    func finished(_ client: some TestClientProtocol, _ id: String) async throws -> [String: Any] {
        for _ in 0..<3000 {
            let status = try await client.execute(uri: "/api/jobs/\(id)", method: .get) { try json($0) }
            if let state = status["state"] as? String, state == "done" || state == "failed" { return status }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("job \(id) did not finish within five minutes")
        return [:]
    }

    @Test func resultEqualsSavlUpscaleBitForBitAndInspectHasPictures() async throws {
        let (serve, dir, modelURL) = try server()
        defer { serve.queue.stop(); try? FileManager.default.removeItem(at: dir) }
        let photoBytes = try png(40, 30)
        try Data(photoBytes).write(to: dir.appendingPathComponent("in.png"))
        let cases = [("scale=4&strength=1&format=png", ["--scale", "4", "--strength", "1", "--format", "png"], "png"),
                     ("scale=2.5&strength=0.5&format=jpg&quality=90", ["--scale", "2.5", "--strength", "0.5", "--format", "jpg", "--quality", "90"], "jpg"),
                     ("scale=2&format=webp&quality=80", ["--scale", "2", "--format", "webp", "--quality", "80"], "webp")]
        try await Application(router: serve.router()).test(.router) { client in
            for (query, flags, ext) in cases {
                let id = try await upload(client, photoBytes, query: query)
                let status = try await finished(client, id)
                #expect(status["state"] as? String == "done", "\(status)")
                let served = try await client.execute(uri: "/api/jobs/\(id)/result", method: .get) { response in
                    #expect(response.headers[.contentType] == ["png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"][ext])
                    return [UInt8](buffer: response.body)
                }
                let out = dir.appendingPathComponent("out.\(ext)")
                let run = try runSavl(["upscale", dir.appendingPathComponent("in.png").path, "-o", out.path, "--model", modelURL.path,
                                       "--progress", "none", "--precision", "f32"] + flags)  // the library's default, as in this process
                #expect(run.status == 0, "\(run.stderr)")
                #expect(served == [UInt8](try Data(contentsOf: out)), "\(query): the served result differs from savl upscale's")
            }
            // The pictures of inspect, at the input's size, and its report.
            let id = try await upload(client, photoBytes, query: "scale=2")
            _ = try await finished(client, id)
            let inspect = try await client.execute(uri: "/api/jobs/\(id)/inspect", method: .get) { try json($0) }
            let pictures = try #require(inspect["pictures"] as? [String: String])
            #expect(((inspect["report"] as? [String: Any])?["code"] as? [String: Any])?["channels"] as? Int == 4)
            for name in ["code", "severity"] {
                let bytes = try await client.execute(uri: try #require(pictures[name]), method: .get) { [UInt8](buffer: $0.body) }
                let picture = try decodeImage(bytes)
                #expect(picture.height >= 30 && picture.width >= 40 && picture.channels == 3, "\(name)")
            }
        }
    }

    @Test func multipartUploadsWork() async throws {
        let (serve, dir, _) = try server()
        defer { serve.queue.stop(); try? FileManager.default.removeItem(at: dir) }
        let boundary = "----savl-test-boundary"
        let body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--\(boundary)\r\n".utf8)
            + Array("Content-Disposition: form-data; name=\"photo\"; filename=\"../../etc/holiday.png\"\r\nContent-Type: image/png\r\n\r\n".utf8)
            + (try png(24, 20)) + Array("\r\n--\(boundary)--\r\n".utf8)
        try await Application(router: serve.router()).test(.router) { client in
            let id = try await client.execute(uri: "/api/upscale?scale=2", method: .post,
                                              headers: [.contentType: "multipart/form-data; boundary=\(boundary)"],
                                              body: ByteBuffer(bytes: body)) { response in
                #expect(response.status == .accepted, "\(String(buffer: response.body))")
                return try #require(try json(response)["id"] as? String)
            }
            let status = try await finished(client, id)
            #expect(status["state"] as? String == "done" && status["outputWidth"] as? Int == 48 && status["name"] as? String == "holiday.png")
            try await client.execute(uri: "/api/jobs/\(id)/result", method: .get) { response in
                #expect(response.headers[.contentDisposition] == "attachment; filename=\"holiday-savl.png\"")
            }
        }
    }

    @Test func badRequestsGetA4xxNamingTheReason() async throws {
        let (serve, dir, _) = try server { $0.maxUploadBytes = 4000 }
        defer { serve.queue.stop(); try? FileManager.default.removeItem(at: dir) }
        let small = try png(12, 10)
        let cases: [(String, [UInt8], HTTPResponse.Status, String)] = [
            ("", [], .badRequest, "the upload is empty"),
            ("", Array("just some text, not a picture".utf8), .unsupportedMediaType, "not a PNG, JPEG, WebP or BMP image"),
            ("", Array(small.prefix(60)), .badRequest, "the upload:"),
            ("", [UInt8](repeating: 7, count: 5000), .contentTooLarge, "at most 4000 bytes"),
            ("scale=0", small, .badRequest, "scale must be in (0, 32]"),
            ("scale=4&width=100", small, .badRequest, "give scale or width/height, not both"),
            ("strength=strong", small, .badRequest, "strength=strong is not a number"),
            ("format=gif", small, .badRequest, "format=gif: use png, jpg, webp or auto"),
            ("zoom=2", small, .badRequest, "unknown parameter 'zoom'"),
            ("depth=16&format=jpg", small, .badRequest, "JPEG is 8-bit only"),
            ("width=30000&height=30000", small, .badRequest, "over the limit of"),
        ]
        try await Application(router: serve.router()).test(.router) { client in
            for (query, body, status, reason) in cases {
                try await client.execute(uri: "/api/upscale?" + query, method: .post, body: ByteBuffer(bytes: body)) { response in
                    #expect(response.status == status, "\(query) \(body.count) bytes: \(String(buffer: response.body))")
                    let error = try json(response)["error"] as? String ?? ""
                    #expect(error.contains(reason), "\(query): \(error)")
                }
            }
            for uri in ["/api/jobs/0f00", "/api/jobs/0f00/result", "/api/jobs/0f00/inspect"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .notFound)
                    let error = try json(response)["error"] as? String ?? ""
                    #expect(error.contains("no job 0f00"), "\(error)")
                }
            }
            let health = try await client.execute(uri: "/api/health", method: .get) { try json($0) }
            #expect(health["status"] as? String == "ok" && (health["queue"] as? [String: Any])?["queued"] as? Int == 0)
        }
    }

    /// With one job at a time and two places in the queue, the second job waits for the first, and a
    /// fourth upload is refused with 503 while three are waiting or running.
    @Test func theQueueIsBounded() async throws {
        let (serve, dir, _) = try server({ $0.queueCapacity = 2 }, start: false)
        defer { serve.queue.stop(); try? FileManager.default.removeItem(at: dir) }
        let photoBytes = try png(48, 40)
        try await Application(router: serve.router()).test(.router) { client in
            let first = try await upload(client, photoBytes), second = try await upload(client, photoBytes)
            try await client.execute(uri: "/api/upscale", method: .post, body: ByteBuffer(bytes: photoBytes)) { response in
                #expect(response.status == .serviceUnavailable && response.headers[.retryAfter] != nil)
                let error = try json(response)["error"] as? String ?? ""
                #expect(error.contains("the queue is full"), "\(error)")
            }
            let waiting = try await client.execute(uri: "/api/jobs/\(second)", method: .get) { try json($0) }
            #expect(waiting["state"] as? String == "queued" && waiting["position"] as? Int == 2)
            try await client.execute(uri: "/api/jobs/\(second)/result", method: .get) { #expect($0.status == .conflict) }
            serve.queue.start()
            let a = try await finished(client, first), b = try await finished(client, second)
            #expect(a["state"] as? String == "done" && b["state"] as? String == "done")
            // The second started only once the first had finished.
            #expect(try #require(b["startedAt"] as? Double) >= (try #require(a["finishedAt"] as? Double)), "\(a) \(b)")
            _ = try await upload(client, photoBytes)
        }
    }

    @Test func finishedResultsExpireByCount() async throws {
        let (serve, dir, _) = try server { $0.keepResults = 1 }
        defer { serve.queue.stop(); try? FileManager.default.removeItem(at: dir) }
        let photoBytes = try png(16, 12)
        try await Application(router: serve.router()).test(.router) { client in
            let first = try await upload(client, photoBytes)
            _ = try await finished(client, first)
            let second = try await upload(client, photoBytes)
            _ = try await finished(client, second)
            try await client.execute(uri: "/api/jobs/\(first)/result", method: .get) { response in
                #expect(response.status == .notFound, "only the newest result is kept")
                let error = try json(response)["error"] as? String ?? ""
                #expect(error.contains("expired"), "\(error)")
            }
            try await client.execute(uri: "/api/jobs/\(second)/result", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test func finishedResultsExpireByTime() async throws {
        // Kept 20 s: under load a poll can come seconds after the last, and must still see the job done.
        let (serve, dir, _) = try server { $0.keepSeconds = 20 }
        defer { serve.queue.stop(); try? FileManager.default.removeItem(at: dir) }
        try await Application(router: serve.router()).test(.router) { client in
            let id = try await upload(client, try png(16, 12))
            // Seen done: kept once finished.
            #expect(try await finished(client, id)["state"] as? String == "done")
            try await Task.sleep(for: .seconds(21))
            try await client.execute(uri: "/api/jobs/\(id)", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/api/jobs/\(id)/result", method: .get) { #expect($0.status == .notFound) }
        }
    }

    @Test func thePageIsServedWhole() async throws {
        let (serve, dir, _) = try server()
        defer { serve.queue.stop(); try? FileManager.default.removeItem(at: dir) }
        try await Application(router: serve.router()).test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                let page = String(buffer: response.body)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(page.contains("<script>") && page.contains("/api/upscale") && !page.contains("http://") && !page.contains("https://"),
                        "the page must work offline: no external address")
            }
        }
    }
}
