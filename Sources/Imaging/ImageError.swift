import Foundation

/// Why an image could not be read, decoded, encoded or written; names the file when one is involved.
public struct ImageError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Broad classes of failure, for callers that react differently (e.g. skip vs abort).
    public enum Kind: String, Sendable {
        /// The file does not exist or cannot be opened or read.
        case unreadable
        /// The content is not an image format savl reads (or is empty).
        case unsupportedFormat
        /// The content claims to be PNG, JPEG, WebP or BMP but is damaged or truncated.
        case corrupt
        /// The image is zero-sized or larger than the pixel limit.
        case badSize
        /// The image or the parameters cannot be encoded (e.g. quality out of range).
        case invalidArgument
        /// The output could not be written.
        case writeFailed
    }

    /// The file involved, if any.
    public var file: String?
    /// The class of failure.
    public var kind: Kind
    /// A human-readable explanation.
    public var reason: String

    /// Creates an error.
    public init(_ kind: Kind, _ reason: String, file: String? = nil) {
        self.kind = kind
        self.reason = reason
        self.file = file
    }

    public var description: String {
        if let file { return "\(file): \(reason)" }
        return reason
    }

    /// The same error, naming `file` (keeps a file already named).
    func naming(_ file: String) -> ImageError {
        var copy = self
        if copy.file == nil { copy.file = file }
        return copy
    }
}

/// Limits that protect decoders from absurd sizes, checked before any pixel memory is allocated.
public enum ImageLimits {
    /// The default largest number of pixels a decoder accepts: 20000 x 20000 (400 megapixels,
    /// 4.8 GB as planar Float32 RGB).
    public static let defaultMaxPixels = 20_000 * 20_000

    private static let lock = NSLock()
    nonisolated(unsafe) private static var storedMaxPixels = defaultMaxPixels

    /// The process-wide pixel limit used when a decoder is not given one; adjustable
    /// (e.g. `savl --max-pixels`). Thread-safe.
    public static var maxPixels: Int {
        get { lock.withLock { storedMaxPixels } }
        set { lock.withLock { storedMaxPixels = max(1, newValue) } }
    }

    /// Throws `.badSize` unless `width` x `height` is positive and within `maxPixels`.
    static func check(width: Int, height: Int, maxPixels: Int) throws {
        guard width > 0, height > 0 else {
            throw ImageError(.badSize, "image has zero size (\(width)x\(height))")
        }
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, pixels <= maxPixels else {
            throw ImageError(.badSize, "image is \(width)x\(height), over the limit of \(maxPixels) pixels")
        }
    }
}
