import CPNG
import Foundation

extension PNG {
    /// Encodes `image` as a non-interlaced PNG: 1 channel gray, 2 gray + alpha, 3 RGB, 4 RGBA.
    /// Values are rounded to `bitDepth` (8 or 16; default: the image's own `bitDepth`).
    /// The ICC profile, if any, is written as an iCCP chunk (libpng drops a profile it finds
    /// malformed or of the wrong colour space, with a warning, rather than failing).
    public static func encode(_ image: Image, bitDepth: Int? = nil) throws -> [UInt8] {
        let depth = bitDepth ?? (image.bitDepth == 16 ? 16 : 8)
        guard depth == 8 || depth == 16 else {
            throw ImageError(.invalidArgument, "PNG bit depth must be 8 or 16, not \(depth)")
        }
        // libpng's default user limit is 1,000,000 per side; larger would make png_set_IHDR fail.
        guard image.width > 0, image.height > 0, image.width <= 1_000_000, image.height <= 1_000_000 else {
            throw ImageError(.badSize, "cannot write a \(image.width)x\(image.height) PNG (1...1000000 per side)")
        }
        guard (1...4).contains(image.channels) else {
            throw ImageError(.invalidArgument, "cannot write a \(image.channels)-channel PNG")
        }
        let colorType: Int32
        switch image.channels {
        case 1: colorType = PNG_COLOR_TYPE_GRAY
        case 2: colorType = PNG_COLOR_TYPE_GRAY_ALPHA
        case 3: colorType = PNG_COLOR_TYPE_RGB
        default: colorType = PNG_COLOR_TYPE_RGB_ALPHA
        }
        let samples = depth == 16
            ? packInterleaved16BE(image, channels: image.channels)
            : packInterleaved8(image, channels: image.channels)
        let rowBytes = image.width * image.channels * depth / 8

        let sink = WriteSink()
        var png: png_structp? = png_create_write_struct(PNG_LIBPNG_VER_STRING, nil, libpngFatal, libpngWarning)
        var info: png_infop? = png_create_info_struct(png)
        precondition(png != nil && info != nil, "libpng could not allocate its write structures")
        defer { png_destroy_write_struct(&png, &info) }
        png_set_benign_errors(png, 1)

        withExtendedLifetime(sink) {
            png_set_write_fn(png, Unmanaged.passUnretained(sink).toOpaque(), { png, data, length in
                let sink = Unmanaged<WriteSink>.fromOpaque(png_get_io_ptr(png)!).takeUnretainedValue()
                sink.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: length))
            }, { _ in })
            png_set_IHDR(png, info, UInt32(image.width), UInt32(image.height), Int32(depth), colorType,
                         PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE)
            if let icc = image.iccProfile, iccLooksValid(icc, gray: image.channels <= 2) {
                icc.withUnsafeBufferPointer {
                    png_set_iCCP(png, info, "ICC profile", PNG_COMPRESSION_TYPE_BASE, $0.baseAddress, UInt32($0.count))
                }
            }
            png_write_info(png, info)
            samples.withUnsafeBufferPointer { buffer in
                var rows: [png_bytep?] = (0..<image.height).map {
                    UnsafeMutablePointer(mutating: buffer.baseAddress! + $0 * rowBytes)
                }
                png_write_image(png, &rows)
            }
            png_write_end(png, nil)
        }
        return sink.bytes
    }

    private final class WriteSink {
        var bytes: [UInt8] = []
    }

    /// The header checks that decide whether libpng will accept a profile: a declared length
    /// equal to the data's, the 'acsp' signature and a colour space matching the image.
    private static func iccLooksValid(_ icc: [UInt8], gray: Bool) -> Bool {
        guard icc.count >= 132 else { return false }
        let declared = Int(icc[0]) << 24 | Int(icc[1]) << 16 | Int(icc[2]) << 8 | Int(icc[3])
        let space = String(decoding: icc[16..<20], as: UTF8.self)
        let magic = String(decoding: icc[36..<40], as: UTF8.self)
        return declared == icc.count && magic == "acsp" && space == (gray ? "GRAY" : "RGB ")
    }
}
