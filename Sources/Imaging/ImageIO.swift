import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// File formats savl writes (and reads, sniffed from content).
public enum ImageFormat: String, Sendable, CaseIterable {
    /// PNG, 8 or 16 bit, lossless.
    case png
    /// JPEG (baseline, 8 bit), lossy.
    case jpeg
    /// WebP (8 bit), written lossy.
    case webp

    /// The format a file name's extension asks for (`.png`, `.jpg`, `.jpeg`, `.webp`; any case), if any.
    public init?(pathExtension: String) {
        switch pathExtension.lowercased() {
        case "png": self = .png
        case "jpg", "jpeg": self = .jpeg
        case "webp": self = .webp
        default: return nil
        }
    }

    /// The extension savl gives files of this format: `png`, `jpg` or `webp`.
    public var fileExtension: String {
        switch self {
        case .png: "png"
        case .jpeg: "jpg"
        case .webp: "webp"
        }
    }

    /// The media type: `image/png`, `image/jpeg` or `image/webp`.
    public var mediaType: String {
        switch self {
        case .png: "image/png"
        case .jpeg: "image/jpeg"
        case .webp: "image/webp"
        }
    }

    /// Whether the format holds 16-bit samples (PNG only).
    public var holdsSixteenBits: Bool { self == .png }

    /// The format of encoded bytes, by their signature, if savl writes it.
    public init?(signatureOf bytes: [UInt8]) {
        if bytes.starts(with: PNG.signature) { self = .png } else if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { self = .jpeg }
        else if WebP.sniff(bytes) { self = .webp } else { return nil }
    }
}

/// Reads an image file, choosing the decoder from the content (not the extension).
/// Errors name the file and say why (missing, empty, not an image, damaged, too large).
public func readImage(at url: URL, maxPixels: Int = ImageLimits.maxPixels) throws -> Image {
    let path = url.path
    do {
        return try decodeImage(readFileBytes(path), maxPixels: maxPixels)
    } catch let error as ImageError {
        throw error.naming(path)
    }
}

/// Decodes PNG, JPEG, WebP or BMP bytes, recognised by their signature.
public func decodeImage(_ bytes: [UInt8], maxPixels: Int = ImageLimits.maxPixels) throws -> Image {
    if bytes.isEmpty { throw ImageError(.unsupportedFormat, "file is empty") }
    if bytes.starts(with: PNG.signature) { return try PNG.decode(bytes, maxPixels: maxPixels) }
    if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return try JPEG.decode(bytes, maxPixels: maxPixels) }
    if WebP.sniff(bytes) { return try WebP.decode(bytes, maxPixels: maxPixels) }
    if BMP.sniff(bytes) { return try BMP.decode(bytes, maxPixels: maxPixels) }
    throw ImageError(.unsupportedFormat, "not a PNG, JPEG, WebP or BMP image (\(describeUnsupported(bytes)))")
}

/// Whether savl reads files with this extension (`.png`, `.jpg`, `.jpeg`, `.webp`, `.bmp`; any case) when it lists a folder.
public func isReadableImageExtension(_ pathExtension: String) -> Bool {
    ImageFormat(pathExtension: pathExtension) != nil || pathExtension.lowercased() == "bmp"
}

/// Encodes and writes `image` atomically: the bytes go to a temporary file in the same directory,
/// which is renamed over `url` only once complete, so no partial file is ever left behind.
/// - Parameters:
///   - format: the file format; `nil` takes it from the extension (`.png`, `.jpg`, `.jpeg`, `.webp`).
///   - quality: JPEG and WebP quality, 1...100.
///   - bitDepth: PNG bit depth, 8 or 16; `nil` keeps the image's own. JPEG and WebP are always 8 bit.
public func writeImage(_ image: Image, to url: URL, format: ImageFormat? = nil, quality: Int = 95, bitDepth: Int? = nil) throws {
    let path = url.path
    do {
        guard let format = format ?? ImageFormat(pathExtension: url.pathExtension) else {
            throw ImageError(.invalidArgument, "cannot tell the format from the extension '.\(url.pathExtension)' (use .png, .jpg, .jpeg or .webp)")
        }
        try writeFileAtomically(encodeImage(image, format: format, quality: quality, bitDepth: bitDepth), to: path)
    } catch let error as ImageError {
        throw error.naming(path)
    }
}

/// The bytes of `image` as a PNG, JPEG or WebP file, as `writeImage` writes them.
/// - Parameters:
///   - quality: JPEG and WebP quality, 1...100.
///   - bitDepth: PNG bit depth, 8 or 16; `nil` keeps the image's own. JPEG and WebP are always 8 bit.
public func encodeImage(_ image: Image, format: ImageFormat, quality: Int = 95, bitDepth: Int? = nil) throws -> [UInt8] {
    switch format {
    case .png: return try PNG.encode(image, bitDepth: bitDepth)
    case .jpeg: return try JPEG.encode(image, quality: quality)
    case .webp: return try WebP.encode(image, quality: quality)
    }
}

/// Writes `bytes` (any file, e.g. a JSON report) atomically: a temporary file in the same
/// directory renamed over `url` once complete. Errors name the file.
public func writeBytesAtomically(_ bytes: [UInt8], to url: URL) throws {
    do {
        try writeFileAtomically(bytes, to: url.path)
    } catch let error as ImageError {
        throw error.naming(url.path)
    }
}

/// Reads a whole file, with errors that say what is wrong with the path.
func readFileBytes(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
        let code = errno
        throw ImageError(.unreadable, code == ENOENT ? "no such file" : "cannot open: \(String(cString: strerror(code)))")
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw ImageError(.unreadable, "cannot stat: \(String(cString: strerror(errno)))") }
    if (info.st_mode & S_IFMT) == S_IFDIR { throw ImageError(.unreadable, "is a directory, not a file") }
    var bytes = [UInt8]()
    bytes.reserveCapacity(Int(info.st_size))
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw ImageError(.unreadable, "read failed: \(String(cString: strerror(errno)))")
        }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return bytes
}

/// Names common formats savl does not read, for a clearer error.
private func describeUnsupported(_ b: [UInt8]) -> String {
    func has(_ prefix: String, at offset: Int = 0) -> Bool {
        let p = Array(prefix.utf8)
        return b.count >= offset + p.count && Array(b[offset..<(offset + p.count)]) == p
    }
    if has("GIF8") { return "it is a GIF" }
    if has("BM") { return "a damaged BMP" }
    if has("II*\0") || has("MM\0*") { return "it is a TIFF" }
    if has("ftypavif", at: 4) || has("ftypheic", at: 4) || has("ftypmif1", at: 4) { return "it is an AVIF/HEIF" }
    if b.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return "damaged PNG signature" }
    if b.starts(with: [0xFF, 0xD8]) { return "damaged JPEG signature" }
    return "unrecognised content"
}
