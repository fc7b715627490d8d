import Foundation

/// The first file of a `multipart/form-data` body (RFC 7578): its bytes and the file name the browser
/// gave, which is only ever used as a label, never as a path.
struct MultipartFile {
    var bytes: [UInt8]
    var fileName: String?

    /// The boundary of a `multipart/form-data` content type, or nil for another type.
    static func boundary(contentType: String) -> String? {
        let parts = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.first?.lowercased() == "multipart/form-data" else { return nil }
        for part in parts.dropFirst() where part.lowercased().hasPrefix("boundary=") {
            let value = part.dropFirst("boundary=".count)
            return String(value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2 ? value.dropFirst().dropLast() : value)
        }
        return nil
    }

    /// Finds the first part with a `filename` (or, failing that, the first part) in `body`.
    static func first(in body: [UInt8], boundary: String) throws -> MultipartFile {
        let delimiter = Array("--\(boundary)".utf8)
        var starts: [Int] = []
        var i = 0
        while let at = find(delimiter, in: body, from: i) {
            starts.append(at)
            i = at + delimiter.count
        }
        guard starts.count >= 2 else { throw ServeError(.badRequest, "the multipart body has no parts (boundary \(boundary))") }
        var fallback: MultipartFile?
        for (a, b) in zip(starts, starts.dropFirst()) {
            let partStart = a + delimiter.count + 2  // the CRLF after the delimiter
            guard partStart <= b, let headerEnd = find(Array("\r\n\r\n".utf8), in: body, from: partStart), headerEnd < b else { continue }
            let headers = String(decoding: body[partStart..<headerEnd], as: UTF8.self)
            let contentEnd = max(headerEnd + 4, b - 2)  // the CRLF before the next delimiter
            let file = MultipartFile(bytes: Array(body[(headerEnd + 4)..<contentEnd]), fileName: fileName(headers))
            if file.fileName != nil { return file }
            if fallback == nil { fallback = file }
        }
        guard let fallback else { throw ServeError(.badRequest, "the multipart body has no file part") }
        return fallback
    }

    private static func fileName(_ headers: String) -> String? {
        for line in headers.split(separator: "\r\n") where line.lowercased().hasPrefix("content-disposition:") {
            guard let range = line.range(of: "filename=\"") else { continue }
            let rest = line[range.upperBound...]
            return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
        }
        return nil
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard needle.count <= haystack.count, start <= haystack.count - needle.count else { return nil }
        var i = start
        while i <= haystack.count - needle.count {
            if haystack[i] == needle[0] && haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
