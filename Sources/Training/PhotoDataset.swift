import Foundation
import Imaging

/// A dataset that cannot be used, naming the folder or file at fault.
public struct DatasetError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Training photos held in memory as planar 8-bit RGB (a third of the size of Float pixels).
///
/// Photos come from folders searched recursively for PNG, JPEG and WebP files, in path order; gray photos
/// become RGB, alpha is dropped, JPEG photos are shrunk by `jpegDownscale` (MATLAB bicubic) to hide
/// their compression artefacts, or by less where that would make them smaller than the crop (BSDS500's
/// 481x321 photos are shrunk by 1.67 to 288x192 for 192 px crops). Photos smaller than the crop on a
/// side are skipped and listed (51 of T91's 91 are under 192 px).
///
/// ```swift
/// let photos = try PhotoDataset(folders: [URL(fileURLWithPath: "../shared/data/train")], minimumSide: 192)
/// let crop = photos.crop(0, x: 10, y: 20, size: 192)
/// ```
public struct PhotoDataset: Sendable {
    /// One photo's pixels.
    public struct Photo: Sendable {
        /// The file it came from.
        public let path: String
        public let width: Int
        public let height: Int
        /// Planar RGB samples: all red, then green, then blue.
        let samples: [UInt8]
    }

    /// The usable photos, in path order.
    public let photos: [Photo]
    /// Files that were not used, with the reason (unreadable, too small).
    public let skipped: [(path: String, reason: String)]

    /// Loads the photos of `folders`.
    /// - Parameters:
    ///   - maxImages: use at most this many files (the first in path order); 0 means all.
    ///   - jpegDownscale: shrink factor of JPEG files (1 keeps them), lowered per photo to keep its shorter side at least `minimumSide`.
    ///   - minimumSide: photos with a side shorter than this (after shrinking) are skipped.
    ///   - progress: called after each file with (files done, files in all).
    public init(folders: [URL], maxImages: Int = 0, jpegDownscale: Int = 1, minimumSide: Int,
                progress: ((Int, Int) -> Void)? = nil) throws {
        var files = try Self.imageFiles(in: folders)
        if maxImages > 0 { files = Array(files.prefix(maxImages)) }
        var photos: [Photo] = []
        var skipped: [(String, String)] = []
        for (i, file) in files.enumerated() {
            do {
                var image = try readImage(at: file)
                let isJPEG = ImageFormat(pathExtension: file.pathExtension) == .jpeg
                if isJPEG, let size = Self.shrunkSize(width: image.width, height: image.height, by: jpegDownscale, keeping: minimumSide) {
                    image = resize(image, width: size.width, height: size.height, method: .matlabBicubic)
                }
                guard min(image.width, image.height) >= minimumSide else {
                    skipped.append((file.path, "\(image.width)x\(image.height) is smaller than the \(minimumSide) px crop"))
                    continue
                }
                photos.append(Photo(path: file.path, width: image.width, height: image.height, samples: Self.rgb8(image)))
            } catch {
                skipped.append((file.path, "\(error)"))
            }
            progress?(i + 1, files.count)
        }
        guard !photos.isEmpty else {
            let reasons = skipped.prefix(3).map { "\n  \($0.0): \($0.1)" }.joined()
            throw DatasetError("no usable photo in \(folders.map(\.path).joined(separator: ", ")) (\(files.count) image files)\(reasons)")
        }
        self.photos = photos
        self.skipped = skipped
    }

    /// The size a JPEG photo is shrunk to: by `factor`, or by less where that would leave its shorter side
    /// under `minimumSide` (then that side becomes `minimumSide`); nil when it stays as it is.
    static func shrunkSize(width: Int, height: Int, by factor: Int, keeping minimumSide: Int) -> (width: Int, height: Int)? {
        let short = min(width, height)
        guard factor > 1, short > minimumSide else { return nil }
        if short / factor >= minimumSide { return (width / factor, height / factor) }
        func scaled(_ side: Int) -> Int { side == short ? minimumSide : Int((Double(side * minimumSide) / Double(short)).rounded()) }
        return (scaled(width), scaled(height))
    }

    /// PNG, JPEG and WebP files (by extension, any case) under `folders`, recursively, hidden files skipped,
    /// sorted by path within each folder. A missing folder is an error naming it.
    public static func imageFiles(in folders: [URL]) throws -> [URL] {
        var out: [URL] = []
        for folder in folders {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw DatasetError("\(folder.path): no such folder")
            }
            guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil,
                                                              options: [.skipsHiddenFiles]) else {
                throw DatasetError("\(folder.path): cannot list the folder")
            }
            var found: [URL] = []
            for case let url as URL in walker where ImageFormat(pathExtension: url.pathExtension) != nil {
                found.append(url)
            }
            out += found.sorted { $0.path < $1.path }
        }
        return out
    }

    /// The `size` x `size` square at (`x`, `y`) of photo `index`, as a Float RGB image.
    public func crop(_ index: Int, x: Int, y: Int, size: Int) -> Image {
        let photo = photos[index]
        precondition(x >= 0 && y >= 0 && x + size <= photo.width && y + size <= photo.height, "crop outside \(photo.path)")
        var planes = [Float](repeating: 0, count: 3 * size * size)
        let unit = Self.unit
        photo.samples.withUnsafeBufferPointer { src in
            planes.withUnsafeMutableBufferPointer { dst in
                for c in 0..<3 {
                    for row in 0..<size {
                        let from = (c * photo.height + y + row) * photo.width + x
                        let to = (c * size + row) * size
                        for col in 0..<size { dst[to + col] = unit[Int(src[from + col])] }
                    }
                }
            }
        }
        return Image(width: size, height: size, channels: 3, planes: planes)
    }

    /// k / 255 for every byte k, as the image decoders compute it.
    private static let unit: [Float] = (0..<256).map { Float($0) / 255 }

    /// The image as planar 8-bit RGB: gray replicated, alpha dropped, values rounded.
    private static func rgb8(_ image: Image) -> [UInt8] {
        let colour = image.removingAlpha()
        let samples = colour.planes8()
        return colour.channels == 3 ? samples : samples + samples + samples
    }
}

/// One of the eight symmetries of a square: a rotation by `quarterTurns` x 90 degrees (counter-clockwise),
/// then an optional mirror about the vertical axis.
public struct SquareSymmetry: Equatable, Sendable {
    public var quarterTurns: Int
    public var mirrored: Bool

    public init(quarterTurns: Int, mirrored: Bool) {
        self.quarterTurns = quarterTurns
        self.mirrored = mirrored
    }

    /// Applies the symmetry to a square image.
    public func apply(_ image: Image) -> Image {
        precondition(image.width == image.height, "symmetries apply to square crops, got \(image.width)x\(image.height)")
        let turns = ((quarterTurns % 4) + 4) % 4
        if turns == 0 && !mirrored { return image }
        let n = image.width, plane = n * n
        var out = image
        image.planes.withUnsafeBufferPointer { src in
            out.planes.withUnsafeMutableBufferPointer { dst in
                for c in 0..<image.channels {
                    let s = src.baseAddress! + c * plane, d = dst.baseAddress! + c * plane
                    for y in 0..<n {
                        for x in 0..<n {
                            // Output (x, y) reads the source pixel that the rotation moves there.
                            let mx = mirrored ? n - 1 - x : x
                            let (sx, sy): (Int, Int)
                            switch turns {
                            case 1: (sx, sy) = (n - 1 - y, mx)
                            case 2: (sx, sy) = (n - 1 - mx, n - 1 - y)
                            case 3: (sx, sy) = (y, n - 1 - mx)
                            default: (sx, sy) = (mx, y)
                            }
                            d[y * n + x] = s[sy * n + sx]
                        }
                    }
                }
            }
        }
        return out
    }
}
