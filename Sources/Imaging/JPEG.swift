import CTurboJPEG
import Foundation

/// JPEG encoding and decoding through libjpeg-turbo's TurboJPEG API (accurate integer DCT,
/// as libjpeg, PIL and OpenCV use by default).
///
/// libjpeg-turbo handles its own errors internally (setjmp inside the library), so a damaged
/// file comes back as a thrown `ImageError`, never as a crash.
public enum JPEG {
    /// Chroma subsampling for colour images (gray images are always written as gray).
    public enum Subsampling: Sendable {
        /// 4:4:4, no subsampling.
        case none
        /// 4:2:2, half horizontal chroma resolution.
        case half
        /// 4:2:0, half chroma resolution in both directions (the common default).
        case quarter

        var tj: Int32 {
            switch self {
            case .none: return Int32(TJSAMP_444.rawValue)
            case .half: return Int32(TJSAMP_422.rawValue)
            case .quarter: return Int32(TJSAMP_420.rawValue)
            }
        }
    }

    /// Encodes `image` at `quality` (1...100). Gray (and gray + alpha) images become gray JPEGs,
    /// RGB(A) images colour JPEGs; alpha is dropped. Values are rounded to 8 bits. The ICC
    /// profile, if any, is carried in APP2 segments.
    public static func encode(_ image: Image, quality: Int, subsampling: Subsampling = .quarter) throws -> [UInt8] {
        guard (1...100).contains(quality) else {
            throw ImageError(.invalidArgument, "JPEG quality \(quality) is outside 1...100")
        }
        guard image.width > 0, image.height > 0, image.width <= 65_535, image.height <= 65_535 else {
            throw ImageError(.badSize, "JPEG cannot hold a \(image.width)x\(image.height) image (1...65535 per side)")
        }
        let gray = image.channels <= 2
        let channels = gray ? 1 : 3
        let pixels = packInterleaved8(image, channels: channels)
        guard let handle = tjInitCompress() else { throw ImageError(.invalidArgument, "cannot initialise the JPEG encoder") }
        defer { tjDestroy(handle) }
        let subsamp = gray ? Int32(TJSAMP_GRAY.rawValue) : subsampling.tj
        let capacity = Int(tjBufSize(Int32(image.width), Int32(image.height), subsamp))
        var output = [UInt8](repeating: 0, count: capacity)
        var size: UInt = UInt(capacity)
        let status = output.withUnsafeMutableBufferPointer { out -> Int32 in
            var outPointer: UnsafeMutablePointer<UInt8>? = out.baseAddress
            return tjCompress2(handle, pixels, Int32(image.width), 0, Int32(image.height),
                               Int32(gray ? TJPF_GRAY.rawValue : TJPF_RGB.rawValue),
                               &outPointer, &size, subsamp, Int32(quality), TJFLAG_NOREALLOC)
        }
        guard status == 0 else {
            throw ImageError(.invalidArgument, "JPEG encoding failed: \(String(cString: tjGetErrorStr2(handle)))")
        }
        output.removeSubrange(Int(size)...)
        if let icc = image.iccProfile, !icc.isEmpty {
            output.insert(contentsOf: iccSegments(icc), at: afterLeadingAPP0(output))
        }
        return output
    }

    /// Decodes a JPEG: gray files give 1 channel, everything else RGB. The EXIF orientation is
    /// applied, so the result is upright. Warnings from libjpeg (e.g. a truncated file) are errors.
    /// - Parameter maxPixels: refuse larger images before allocating (default `ImageLimits.maxPixels`).
    public static func decode(_ bytes: [UInt8], maxPixels: Int = ImageLimits.maxPixels) throws -> Image {
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF else {
            throw ImageError(bytes.isEmpty ? .unsupportedFormat : .corrupt, bytes.isEmpty ? "file is empty" : "not a JPEG (no SOI marker)")
        }
        guard let handle = tjInitDecompress() else { throw ImageError(.corrupt, "cannot initialise the JPEG decoder") }
        defer { tjDestroy(handle) }
        func failure(_ what: String) -> ImageError {
            ImageError(.corrupt, "corrupt or truncated JPEG (\(what): \(String(cString: tjGetErrorStr2(handle))))")
        }
        return try bytes.withUnsafeBufferPointer { src -> Image in
            var width: Int32 = 0, height: Int32 = 0, subsamp: Int32 = 0, colorspace: Int32 = 0
            guard tjDecompressHeader3(handle, src.baseAddress!, UInt(src.count), &width, &height, &subsamp, &colorspace) == 0 else {
                throw failure("header")
            }
            // libjpeg-turbo accepts a file that ends before its frame header, reporting no size at all.
            guard width > 0, height > 0 else {
                throw ImageError(.corrupt, "truncated JPEG: the file ends after \(bytes.count) bytes, before the image's size is given")
            }
            try ImageLimits.check(width: Int(width), height: Int(height), maxPixels: maxPixels)
            if colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue) {
                return try decodeCMYK(handle, src, width: Int(width), height: Int(height), failure: failure)
            }
            let gray = colorspace == Int32(TJCS_GRAY.rawValue)
            let channels = gray ? 1 : 3
            let n = Int(width) * Int(height)
            var pixels = [UInt8](repeating: 0, count: n * channels)
            let status = pixels.withUnsafeMutableBufferPointer { dst in
                tjDecompress2(handle, src.baseAddress!, UInt(src.count), dst.baseAddress!, width, 0, height,
                              Int32(gray ? TJPF_GRAY.rawValue : TJPF_RGB.rawValue),
                              TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS)
            }
            guard status == 0 else { throw failure("data") }
            let planes = pixels.withUnsafeBufferPointer { unpackInterleaved8($0.baseAddress!, pixelCount: n, channels: channels) }
            let meta = JPEGMetadata(src)
            let image = Image(width: Int(width), height: Int(height), channels: channels, planes: planes,
                              bitDepth: 8, iccProfile: meta.iccProfile)
            return image.applyingOrientation(meta.orientation)
        }
    }

    /// A CMYK or YCCK JPEG (print workflows) as RGB: libjpeg-turbo gives CMYK samples, inverted in Adobe's
    /// files (255 = no ink), and each colour is (1 - ink)(1 - black), the conversion without a colour profile.
    /// The CMYK file's ICC profile does not describe the RGB result, so it is not carried.
    private static func decodeCMYK(_ handle: tjhandle, _ src: UnsafeBufferPointer<UInt8>, width: Int, height: Int,
                                   failure: (String) -> ImageError) throws -> Image {
        let n = width * height
        var cmyk = [UInt8](repeating: 0, count: 4 * n)
        let status = cmyk.withUnsafeMutableBufferPointer { dst in
            tjDecompress2(handle, src.baseAddress!, UInt(src.count), dst.baseAddress!, Int32(width), 0, Int32(height),
                          Int32(TJPF_CMYK.rawValue), TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS)
        }
        guard status == 0 else { throw failure("data") }
        let meta = JPEGMetadata(src)
        var planes = [Float](repeating: 0, count: 3 * n)
        // Adobe: the samples are 1 - ink already; plain CMYK: ink amounts.
        let flip: Int = meta.adobe ? 0 : 255
        for i in 0..<n {
            let black = abs(flip - Int(cmyk[4 * i + 3]))
            for c in 0..<3 { planes[c * n + i] = byteToUnit[(abs(flip - Int(cmyk[4 * i + c])) * black + 127) / 255] }
        }
        return Image(width: width, height: height, channels: 3, planes: planes).applyingOrientation(meta.orientation)
    }

    /// Offset just after SOI and a leading APP0 (JFIF) segment, where other APPn segments go.
    private static func afterLeadingAPP0(_ jpeg: [UInt8]) -> Int {
        guard jpeg.count >= 6, jpeg[2] == 0xFF, jpeg[3] == 0xE0 else { return 2 }
        let end = 4 + (Int(jpeg[4]) << 8 | Int(jpeg[5]))
        return end <= jpeg.count ? end : 2
    }
}
