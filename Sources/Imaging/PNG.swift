import CPNG
import Foundation

/// PNG decoding and encoding through libpng.
///
/// libpng reports errors by `longjmp`, which must never cross Swift frames. So:
/// - Every file is first decoded completely by libpng's simplified API (`png_image_*`), which
///   catches its errors inside libpng and returns them as a message. Damaged files stop here.
/// - A file that decoded cleanly is then read once more with the regular API, configured to see
///   exactly the chunks the simplified API saw, with no transformation but expansion to 8 or 16
///   bits per sample. This gives the stored samples unchanged (the simplified API converts 16-bit
///   data to linear light and premultiplies alpha; the regular API does neither) and the ICC profile.
///   libpng is deterministic, so this second pass cannot meet an error the first did not; should
///   it ever, libpng aborts the process (it never unwinds through Swift).
/// - Encoding uses the regular API with arguments validated beforehand and benign errors (such as
///   a malformed ICC profile) downgraded to warnings, so libpng has no reason to raise an error.
public enum PNG {
    /// The 8-byte PNG signature.
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Decodes a PNG of any kind: 1, 2, 4, 8 or 16 bit; gray, gray + alpha, RGB, RGBA or palette
    /// (tRNS becomes an alpha channel); interlaced or not. Samples are returned unchanged
    /// (k / 255 or k / 65535; no gamma processing); `bitDepth` is 16 for 16-bit files, else 8.
    /// - Parameter maxPixels: refuse larger images before allocating (default `ImageLimits.maxPixels`).
    public static func decode(_ bytes: [UInt8], maxPixels: Int = ImageLimits.maxPixels) throws -> Image {
        guard bytes.count >= 8, Array(bytes[0..<8]) == signature else {
            throw ImageError(bytes.isEmpty ? .unsupportedFormat : .corrupt,
                             bytes.isEmpty ? "file is empty" : "not a PNG (bad signature)")
        }
        return try bytes.withUnsafeBufferPointer { data in
            try validate(data, maxPixels: maxPixels)
            return readValidated(data)
        }
    }

    // MARK: - First pass: the simplified API, which catches libpng errors

    private static func validate(_ data: UnsafeBufferPointer<UInt8>, maxPixels: Int) throws {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        guard png_image_begin_read_from_memory(&image, data.baseAddress, data.count) != 0 else {
            throw ImageError(.corrupt, "corrupt PNG (\(message(of: image)))")
        }
        try ImageLimits.check(width: Int(image.width), height: Int(image.height), maxPixels: maxPixels)
        image.format &= ~UInt32(PNG_FORMAT_FLAG_COLORMAP)
        let components = ((image.format & UInt32(PNG_FORMAT_FLAG_COLOR)) != 0 ? 3 : 1)
            + ((image.format & UInt32(PNG_FORMAT_FLAG_ALPHA)) != 0 ? 1 : 0)
        let bytesPerComponent = (image.format & UInt32(PNG_FORMAT_FLAG_LINEAR)) != 0 ? 2 : 1
        let (size, overflow) = (Int(image.width) * components * bytesPerComponent).multipliedReportingOverflow(by: Int(image.height))
        guard !overflow else { throw ImageError(.badSize, "PNG is too large (\(image.width)x\(image.height))") }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 16)
        defer { buffer.deallocate() }
        guard png_image_finish_read(&image, nil, buffer, 0, nil) != 0 else {
            throw ImageError(.corrupt, "corrupt or truncated PNG (\(message(of: image)))")
        }
    }

    private static func message(of image: png_image) -> String {
        var m = image.message
        let text = withUnsafeBytes(of: &m) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return text.isEmpty ? "unknown libpng error" : text
    }

    // MARK: - Second pass: the regular API, on data known to decode

    /// Ancillary chunks the simplified API processes (all others it ignores); the second pass
    /// mirrors this so that it walks exactly the same code in libpng.
    private static let processedChunks: [UInt8] = Array("bKGD\0cHRM\0gAMA\0iCCP\0sBIT\0sRGB\0".utf8)

    private final class ReadCursor {
        let data: UnsafeBufferPointer<UInt8>
        var offset = 0
        init(_ data: UnsafeBufferPointer<UInt8>) { self.data = data }
    }

    private static func readValidated(_ data: UnsafeBufferPointer<UInt8>) -> Image {
        let cursor = ReadCursor(data)
        var png: png_structp? = png_create_read_struct(PNG_LIBPNG_VER_STRING, nil, libpngFatal, libpngWarning)
        var info: png_infop? = png_create_info_struct(png)
        precondition(png != nil && info != nil, "libpng could not allocate its read structures")
        defer { png_destroy_read_struct(&png, &info, nil) }

        png_set_benign_errors(png, 1)
        png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, nil, -1)
        processedChunks.withUnsafeBufferPointer {
            png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_AS_DEFAULT, $0.baseAddress, Int32($0.count / 5))
        }
        withExtendedLifetime(cursor) {
            png_set_read_fn(png, Unmanaged.passUnretained(cursor).toOpaque(), { png, out, length in
                let cursor = Unmanaged<ReadCursor>.fromOpaque(png_get_io_ptr(png)!).takeUnretainedValue()
                let available = max(0, min(length, cursor.data.count - cursor.offset))
                if available > 0 {
                    out!.update(from: cursor.data.baseAddress! + cursor.offset, count: available)
                    cursor.offset += available
                }
                if available < length {
                    // Unreachable after validation; zeros make libpng fail (and abort) rather than read garbage.
                    (out! + available).update(repeating: 0, count: length - available)
                }
            })
            png_read_info(png, info)
        }

        var icc: [UInt8]?
        var name: png_charp?
        var compression: Int32 = 0
        var profile: png_bytep?
        var profileLength: UInt32 = 0
        if png_get_iCCP(png, info, &name, &compression, &profile, &profileLength) != 0, let profile, profileLength > 0 {
            icc = Array(UnsafeBufferPointer(start: profile, count: Int(profileLength)))
        }

        png_set_expand(png)  // palette -> RGB, gray < 8 bit -> 8 bit, tRNS -> alpha
        _ = png_set_interlace_handling(png)
        withExtendedLifetime(cursor) { png_read_update_info(png, info) }
        let width = Int(png_get_image_width(png, info)), height = Int(png_get_image_height(png, info))
        let channels = Int(png_get_channels(png, info))
        let depth = Int(png_get_bit_depth(png, info))
        let rowBytes = png_get_rowbytes(png, info)
        precondition((1...4).contains(channels) && (depth == 8 || depth == 16) && rowBytes == width * channels * depth / 8,
                     "unexpected libpng row layout")

        var samples = [UInt8](repeating: 0, count: rowBytes * height)
        samples.withUnsafeMutableBufferPointer { buffer in
            var rows: [png_bytep?] = (0..<height).map { buffer.baseAddress! + $0 * rowBytes }
            withExtendedLifetime(cursor) { png_read_image(png, &rows) }
        }
        let planes = samples.withUnsafeBufferPointer { s in
            depth == 16
                ? unpackInterleaved16BE(s.baseAddress!, pixelCount: width * height, channels: channels)
                : unpackInterleaved8(s.baseAddress!, pixelCount: width * height, channels: channels)
        }
        return Image(width: width, height: height, channels: channels, planes: planes, bitDepth: depth, iccProfile: icc)
    }
}

/// libpng's error callback for the regular API. Only reachable if libpng fails where it had
/// already succeeded on the same bytes; returning makes libpng abort the process, the only
/// exit that does not unwind through Swift.
let libpngFatal: png_error_ptr = { _, message in
    let text = message.map { String(cString: $0) } ?? "unknown error"
    FileHandle.standardError.write(Data("savl: unexpected libpng error: \(text)\n".utf8))
}

/// Warnings (e.g. an ICC profile libpng does not like) are not errors for savl.
let libpngWarning: png_error_ptr = { _, _ in }
