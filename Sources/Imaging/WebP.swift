import CWebP

/// WebP, which phones and browsers save, through Debian's libwebp: still images, lossy or lossless, with or
/// without alpha, are read; animated files are refused with a message saying so. Written lossy (VP8) at a
/// quality, with alpha kept. WebP is 8-bit RGB only: gray images are written as RGB and 16-bit images
/// rounded to 8 bits. An ICC profile or orientation in the file's extended chunks is not read.
public enum WebP {
    /// The largest side a WebP image may have.
    public static let maxSide = 16_383

    /// Whether `bytes` start like a WebP file ("RIFF", a size, "WEBP").
    static func sniff(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 12 && bytes[0..<4].elementsEqual("RIFF".utf8) && bytes[8..<12].elementsEqual("WEBP".utf8)
    }

    /// Width and height from the first bytes of a WebP file (its headers), or nil.
    public static func size(ofHeader bytes: [UInt8]) -> (width: Int, height: Int)? {
        guard sniff(bytes) else { return nil }
        var width: Int32 = 0, height: Int32 = 0
        let ok = bytes.withUnsafeBufferPointer { WebPGetInfo($0.baseAddress!, $0.count, &width, &height) }
        return ok != 0 ? (Int(width), Int(height)) : nil
    }

    /// Decodes a still WebP image into an 8-bit RGB or RGBA image.
    /// - Parameter maxPixels: refuse larger images before allocating (default `ImageLimits.maxPixels`).
    public static func decode(_ bytes: [UInt8], maxPixels: Int = ImageLimits.maxPixels) throws -> Image {
        guard sniff(bytes) else { throw ImageError(.corrupt, "not a WebP (no RIFF/WEBP header)") }
        return try bytes.withUnsafeBufferPointer { src -> Image in
            var features = WebPBitstreamFeatures()
            let status = WebPGetFeatures(src.baseAddress!, src.count, &features)
            guard status == VP8_STATUS_OK else {
                throw ImageError(.corrupt, status == VP8_STATUS_NOT_ENOUGH_DATA
                    ? "truncated WebP: the file ends after \(bytes.count) bytes, before the image's size is given"
                    : "corrupt WebP header (libwebp status \(status.rawValue))")
            }
            if features.has_animation != 0 {
                throw ImageError(.unsupportedFormat, "animated WebPs are not supported (savl upscales still images; save one frame as PNG)")
            }
            let (width, height) = (Int(features.width), Int(features.height))
            try ImageLimits.check(width: width, height: height, maxPixels: maxPixels)
            let channels = features.has_alpha != 0 ? 4 : 3
            let n = width * height
            var pixels = [UInt8](repeating: 0, count: n * channels)
            let decoded = pixels.withUnsafeMutableBufferPointer { dst in
                channels == 4
                    ? WebPDecodeRGBAInto(src.baseAddress!, src.count, dst.baseAddress!, dst.count, Int32(width * 4))
                    : WebPDecodeRGBInto(src.baseAddress!, src.count, dst.baseAddress!, dst.count, Int32(width * 3))
            }
            guard decoded != nil else {
                throw ImageError(.corrupt, "corrupt or truncated WebP: its \(width)x\(height) image data cannot be decoded")
            }
            let planes = pixels.withUnsafeBufferPointer { unpackInterleaved8($0.baseAddress!, pixelCount: n, channels: channels) }
            return Image(width: width, height: height, channels: channels, planes: planes)
        }
    }

    /// Encodes `image` as a lossy WebP at `quality` (1...100): RGB, or RGBA when it has alpha.
    public static func encode(_ image: Image, quality: Int) throws -> [UInt8] {
        guard (1...100).contains(quality) else { throw ImageError(.invalidArgument, "WebP quality \(quality) is outside 1...100") }
        guard image.width > 0, image.height > 0, image.width <= maxSide, image.height <= maxSide else {
            throw ImageError(.badSize, "WebP cannot hold a \(image.width)x\(image.height) image (1...\(maxSide) per side)")
        }
        let rgb = image.channels <= 2 ? image.expandingGrayToRGB() : image
        let channels = rgb.hasAlpha ? 4 : 3
        let pixels = packInterleaved8(rgb, channels: channels)
        var output: UnsafeMutablePointer<UInt8>?
        let size = pixels.withUnsafeBufferPointer { src in
            channels == 4
                ? WebPEncodeRGBA(src.baseAddress!, Int32(rgb.width), Int32(rgb.height), Int32(rgb.width * 4), Float(quality), &output)
                : WebPEncodeRGB(src.baseAddress!, Int32(rgb.width), Int32(rgb.height), Int32(rgb.width * 3), Float(quality), &output)
        }
        guard size > 0, let output else { throw ImageError(.invalidArgument, "the WebP encoder failed on a \(image.width)x\(image.height) image") }
        defer { WebPFree(output) }
        return Array(UnsafeBufferPointer(start: output, count: size))
    }
}

extension Image {
    /// A gray or gray + alpha image as RGB or RGBA (the gray plane repeated); other images unchanged.
    func expandingGrayToRGB() -> Image {
        guard channels <= 2 else { return self }
        let n = pixelCount
        let gray = planes[0..<n]
        var out = Array(gray) + Array(gray) + Array(gray)
        if channels == 2 { out += planes[n..<(2 * n)] }
        return Image(width: width, height: height, channels: channels + 2, planes: out, bitDepth: bitDepth, iccProfile: iccProfile)
    }
}
