import Foundation
import Hummingbird
import Imaging
import Restoration
import Tensors

/// An error answered with an HTTP status and a JSON body `{"error": "..."}` that names the reason.
struct ServeError: Error, CustomStringConvertible {
    var status: HTTPResponse.Status
    var description: String

    init(_ status: HTTPResponse.Status, _ description: String) {
        self.status = status
        self.description = description
    }
}

/// `savl serve`: the page, the JSON API and the job queue in one process, with the model loaded once.
public final class ServeApplication: Sendable {
    /// The queue of upscaling jobs.
    public let queue: JobQueue<UpscaleInput, UpscaleResult>
    /// The model and the pipeline.
    public let service: UpscaleService
    let settings: ServeSettings
    /// The backend line, e.g. `oneDNN 2.6.3 on CPU (avx2), 2 threads per job, f32`.
    public let backend: String
    /// Uploads are decoded one at a time in the request path, so that checking them holds at most one
    /// decoded image.
    private let checking = DispatchQueue(label: "savl-serve-upload-check")

    /// An application over a loaded model; its queue's workers start with `queue.start()` (`run` starts them).
    public init(model: UpscaleModels.Loaded, settings: ServeSettings) {
        let service = UpscaleService(model: model, settings: settings)
        self.service = service
        self.settings = settings
        let threads = settings.threads ?? Engine.threads
        backend = "oneDNN \(Engine.version) on CPU (\(Engine.cpuISA)), \(threads) thread\(threads == 1 ? "" : "s") per job, \(Engine.precision)"
        queue = JobQueue(settings: settings) { input, report in try service.run(input, report: report) }
    }

    /// The routes: `/` (the page), `/api/upscale`, `/api/jobs/{id}`, its `result` and `inspect`, `/api/health`.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/") { _, _ in Self.response(.ok, Array(Page.html.utf8), type: "text/html; charset=utf-8") }
        router.get("/api/health") { _, _ in self.health() }
        router.post("/api/upscale") { request, _ in await self.answer { try await self.upscale(request) } }
        router.get("/api/jobs/:id") { _, context in
            await self.answer {
                let status = try self.status(context)
                return try Self.json(.ok, status)
            }
        }
        router.get("/api/jobs/:id/result") { _, context in
            await self.answer {
                let result = try self.finished(context)
                return Self.response(.ok, result.bytes, type: result.format.mediaType,
                                     headers: [.contentDisposition: "attachment; filename=\"\(result.fileName)\""])
            }
        }
        router.get("/api/jobs/:id/inspect") { _, context in
            await self.answer {
                let id = try self.status(context).id
                let result = try self.finished(context)
                guard let report = result.report else { throw ServeError(.notFound, "job \(id): this model has no degradation code to inspect") }
                var links = ["code": "/api/jobs/\(id)/inspect/code"]
                if result.severity != nil { links["severity"] = "/api/jobs/\(id)/inspect/severity" }
                let body = try JSONSerialization.jsonObject(with: Data(report))
                return Self.response(.ok, [UInt8](try JSONSerialization.data(withJSONObject: ["pictures": links, "report": body],
                                                                             options: [.sortedKeys, .withoutEscapingSlashes])),
                                     type: "application/json")
            }
        }
        router.get("/api/jobs/:id/inspect/:picture") { _, context in
            await self.answer {
                let result = try self.finished(context)
                let picture = context.parameters.get("picture") ?? ""
                let bytes: [UInt8]?
                switch picture {
                case "code": bytes = result.code
                case "severity": bytes = result.severity
                default: throw ServeError(.notFound, "no picture '\(picture)': there are code and severity")
                }
                guard let bytes else { throw ServeError(.notFound, "this model's code has no \(picture) picture") }
                return Self.response(.ok, bytes, type: "image/png")
            }
        }
        return router
    }

    /// Serves on `host`:`port` until the process is interrupted (SIGINT or SIGTERM); `ready` is called once listening.
    public func run(host: String, port: Int, ready: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        queue.start()
        defer { queue.stop() }
        let app = Application(router: router(), configuration: .init(address: .hostname(host, port: port), serverName: "savl"),
                              onServerRunning: { _ in ready("\(host):\(port)") })
        try await app.runService()
    }

    // MARK: - Handlers

    private func upscale(_ request: Request) async throws -> Response {
        var request = request
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > settings.maxUploadBytes {
            throw Self.tooLarge(length, settings.maxUploadBytes)
        }
        let query = request.uri.queryParameters.map { (String($0.key), String($0.value)) }
        let parameters = try UpscaleRequest(query: query)
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: settings.maxUploadBytes)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            throw Self.tooLarge(nil, settings.maxUploadBytes)
        }
        var bytes = [UInt8](buffer: body)
        var fileName = parameters.name
        if let type = request.headers[.contentType], let boundary = MultipartFile.boundary(contentType: type) {
            let file = try MultipartFile.first(in: bytes, boundary: boundary)
            bytes = file.bytes
            fileName = fileName ?? file.fileName
        }
        guard !bytes.isEmpty else { throw ServeError(.badRequest, "the upload is empty: send a PNG, JPEG, WebP or BMP image as the body or a multipart file") }
        let input = UpscaleInput(bytes: bytes, name: Self.label(fileName ?? "photo"), request: parameters)
        // Decoding takes a while for a large photo: off the threads that serve requests.
        try await offloaded { _ = try self.service.check(input) }
        let (id, position) = try queue.submit(name: input.name, input: input)
        let answer: [String: JSONValue] = ["id": .string(id), "state": .string(JobState.queued.rawValue), "position": .int(position)]
        return try Self.json(.accepted, answer,
                             headers: [.location: "/api/jobs/\(id)"])
    }

    private func status(_ context: BasicRequestContext) throws -> JobStatus {
        let id = context.parameters.get("id") ?? ""
        guard let status = queue.status(id) else {
            throw ServeError(.notFound, "no job \(id): unknown, or its result has expired (results are kept "
                + "\(Self.minutes(settings.keepSeconds)) and the last \(settings.keepResults))")
        }
        return status
    }

    private func finished(_ context: BasicRequestContext) throws -> UpscaleResult {
        let status = try status(context)
        guard let result = queue.output(status.id) else {
            if status.state == .failed { throw ServeError(.conflict, "job \(status.id) failed: \(status.error ?? "")") }
            throw ServeError(.conflict, "job \(status.id) is \(status.state.rawValue), not done yet")
        }
        return result
    }

    private func health() -> Response {
        let counts = queue.counts
        let config = service.model.model.config
        let body: [String: Any] = [
            "status": "ok", "model": service.model.summary, "scale": config.scale, "backend": backend,
            "queue": ["queued": counts.queued, "running": counts.running, "finishedKept": counts.kept,
                      "capacity": settings.queueCapacity, "concurrentJobs": settings.concurrentJobs],
            "limits": ["maxUploadBytes": settings.maxUploadBytes, "maxPixels": ImageLimits.maxPixels,
                       "memoryBudgetBytes": settings.memoryBudget, "keepSeconds": settings.keepSeconds, "keepResults": settings.keepResults],
        ]
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Self.response(.ok, [UInt8](data), type: "application/json")
    }

    // MARK: - Helpers

    /// Runs a handler and turns its errors into JSON answers: 4xx for what the request got wrong, 503 when
    /// the queue is full, 500 for anything else.
    private func answer(_ handler: () async throws -> Response) async -> Response {
        do {
            return try await handler()
        } catch let error as ServeError {
            return Self.errorResponse(error.status, error.description)
        } catch let error as QueueFull {
            return Self.errorResponse(.serviceUnavailable, error.description, headers: [.retryAfter: "5"])
        } catch let error as ImageError {
            let status: HTTPResponse.Status = switch error.kind {
            case .unsupportedFormat: .unsupportedMediaType
            case .badSize: .contentTooLarge
            default: .badRequest
            }
            return Self.errorResponse(status, "the upload: \(error.reason)")
        } catch let error as RestorationError {
            return Self.errorResponse(.badRequest, error.description)
        } catch {
            return Self.errorResponse(.internalServerError, "\(error)")
        }
    }

    private static func tooLarge(_ length: Int?, _ limit: Int) -> ServeError {
        ServeError(.contentTooLarge, "the upload is " + (length.map { "\($0) bytes" } ?? "larger than the limit")
            + ": at most \(limit) bytes (\(limit >> 20) MB) are accepted")
    }

    /// A name safe to show and to use in a download's file name: letters, digits, `.`, `-` and `_`.
    static func label(_ name: String) -> String {
        let last = name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        let kept = String(last.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0) ? Character($0) : "_" })
        let trimmed = String(kept.prefix(100)).trimmingCharacters(in: CharacterSet(charactersIn: "."))
        return trimmed.isEmpty ? "photo" : trimmed
    }

    private static func minutes(_ seconds: Double) -> String {
        seconds >= 120 ? "\(Int(seconds / 60)) minutes" : "\(Int(seconds)) seconds"
    }

    private func offloaded(_ body: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            checking.async { continuation.resume(with: Result { try body() }) }
        }
    }

    static func response(_ status: HTTPResponse.Status, _ bytes: [UInt8], type: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = type
        fields[.cacheControl] = "no-store"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func json<T: Encodable>(_ status: HTTPResponse.Status, _ value: T, headers: HTTPFields = [:]) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return response(status, [UInt8](try encoder.encode(value)), type: "application/json", headers: headers)
    }

    static func errorResponse(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) -> Response {
        (try? json(status, ["error": message], headers: headers)) ?? Response(status: status)
    }
}

/// A JSON value of the few kinds the API's small answers hold.
enum JSONValue: Encodable {
    case string(String), int(Int)

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let s): try container.encode(s)
        case .int(let n): try container.encode(n)
        }
    }
}
