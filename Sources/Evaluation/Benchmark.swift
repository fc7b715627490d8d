import Foundation
import Imaging

/// Turns a low-resolution image into one `scale` times larger. Bicubic today; a trained model
/// plugs in by conforming to this protocol.
public protocol Upscaler: Sendable {
    /// Short name used in reports ("bicubic", a model's name).
    var name: String { get }
    /// Returns `image` upscaled by `scale` in both directions (exactly `scale` x the size).
    func upscale(_ image: Image, scale: Int) throws -> Image
    /// The same for an LR image read from `lrFile` (nil: a bicubic downscale made by the benchmark), for
    /// upscalers that read something beside the image, such as an oracle's ground-truth maps.
    func upscale(_ image: Image, scale: Int, lrFile: URL?) throws -> Image
}

extension Upscaler {
    /// Most upscalers need only the image.
    public func upscale(_ image: Image, scale: Int, lrFile: URL?) throws -> Image {
        try upscale(image, scale: scale)
    }
}

/// MATLAB `imresize(lr, scale, 'bicubic')`: the baseline of every SR paper.
public struct BicubicUpscaler: Upscaler {
    public init() {}
    public var name: String { "bicubic" }
    public func upscale(_ image: Image, scale: Int) throws -> Image {
        resize(image, width: image.width * scale, height: image.height * scale, method: .matlabBicubic)
    }
}

/// The scores of one image.
public struct ImageScore: Codable, Sendable, Equatable {
    /// File name.
    public var name: String
    /// Size of the HR image after cropping to a multiple of the scale.
    public var width: Int
    public var height: Int
    /// PSNR in dB (+infinity for identical images).
    public var psnr: Double
    /// Mean SSIM.
    public var ssim: Double
    /// PSNR over the colour channels, whatever `channel` the report compares (a colour cast lowers it, not Y-PSNR).
    public var rgbPSNR: Double
    /// The SR image's mean minus the HR image's, per colour channel, in 8-bit levels (`meanShift`).
    public var meanShift: [Double]

    public init(name: String, width: Int, height: Int, psnr: Double, ssim: Double, rgbPSNR: Double, meanShift: [Double]) {
        self.name = name
        self.width = width
        self.height = height
        self.psnr = psnr
        self.ssim = ssim
        self.rgbPSNR = rgbPSNR
        self.meanShift = meanShift
    }
}

/// A file or folder that could not be evaluated, and why.
public struct EvalFailure: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    /// The file or folder.
    public var path: String
    /// Why it failed.
    public var reason: String
    public var description: String { "\(path): \(reason)" }

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
}

/// The result of evaluating one folder (a test set).
public struct SetReport: Codable, Sendable {
    /// The folder's name, e.g. "Set5".
    public var name: String
    /// The folder's path.
    public var path: String
    /// Per-image scores, in file-name order.
    public var images: [ImageScore]
    /// Means over the images that were scored (nil when none were).
    public var meanPSNR: Double?
    public var meanSSIM: Double?
    public var meanRGBPSNR: Double?
    /// The mean of the images' `meanShift` per channel (a gray image's one value counts for R, G and B).
    public var meanShift: [Double]?
    /// Files (or the folder itself) that could not be evaluated.
    public var failures: [EvalFailure]

    public init(name: String, path: String, images: [ImageScore], failures: [EvalFailure]) {
        self.name = name
        self.path = path
        self.images = images
        self.failures = failures
        guard !images.isEmpty else { return }
        let n = Double(images.count)
        meanPSNR = images.map(\.psnr).reduce(0, +) / n
        meanSSIM = images.map(\.ssim).reduce(0, +) / n
        meanRGBPSNR = images.map(\.rgbPSNR).reduce(0, +) / n
        // A gray image's shift is the same in R, G and B.
        let channels = images.map(\.meanShift.count).max()!
        let shifts = images.map { $0.meanShift.count == channels ? $0.meanShift : [Double](repeating: $0.meanShift[0], count: channels) }
        meanShift = (0..<channels).map { c in shifts.map { $0[c] }.reduce(0, +) / n }
    }
}

/// The field's SR benchmark protocol: for each HR image, crop to a multiple of the scale
/// (top-left kept, MATLAB `modcrop`), make the LR image by MATLAB bicubic downscaling, upscale it,
/// and compare with the HR image on 8-bit values with `border` pixels ignored at each edge.
///
/// A folder with `HR/` and `LR/` subfolders (a test set written by `savl degrade --test-set`) gives
/// its own LR inputs, by file name, instead of bicubic downscales. With `results`, the SR images are
/// read from `results/<set name>/<file name>` (written by another tool) instead of the upscaler.
public struct Benchmark: Sendable {
    /// The upscaling factor.
    public var scale: Int
    /// What turns LR images into SR images.
    public var upscaler: any Upscaler
    /// Pixels ignored at each edge; the field uses the scale.
    public var border: Int
    /// Y (the field's default) or RGB.
    public var channel: MetricChannel
    /// Pixel limit for reading HR images.
    public var maxPixels: Int
    /// A folder of SR images made elsewhere, one subfolder per set; nil runs the upscaler.
    public var results: URL?

    public init(scale: Int, upscaler: any Upscaler = BicubicUpscaler(), border: Int? = nil,
                channel: MetricChannel = .y, maxPixels: Int = ImageLimits.maxPixels, results: URL? = nil) {
        precondition(scale >= 1, "scale must be positive")
        self.scale = scale
        self.upscaler = upscaler
        self.border = border ?? scale
        self.channel = channel
        self.maxPixels = maxPixels
        self.results = results
    }

    /// The HR image as the protocol uses it: alpha removed, rounded to 8 bits, cropped to a multiple of the scale.
    public func preparedHR(_ image: Image) throws -> Image {
        let w = image.width - image.width % scale, h = image.height - image.height % scale
        guard w >= scale, h >= scale else {
            throw MetricError("a \(image.width)x\(image.height) image is smaller than the scale \(scale)")
        }
        return image.removingAlpha().quantized(bitDepth: 8).cropped(x: 0, y: 0, width: w, height: h)
    }

    /// The LR input: MATLAB bicubic downscaling of the prepared HR image, rounded to 8 bits.
    public func lowResolution(of hr: Image) -> Image {
        resize(hr, width: hr.width / scale, height: hr.height / scale, method: .matlabBicubic).quantized(bitDepth: 8)
    }

    /// Scores one HR image: its LR input is `lr` (e.g. from a test set) or the bicubic downscale,
    /// its SR image `sr` (made elsewhere) or the upscaler's output.
    public func score(_ image: Image, name: String, lr: Image? = nil, lrFile: URL? = nil, sr given: Image? = nil) throws -> ImageScore {
        let hr = try preparedHR(image)
        let input = lr?.removingAlpha().quantized(bitDepth: 8) ?? lowResolution(of: hr)
        guard input.width * scale == hr.width, input.height * scale == hr.height else {
            throw MetricError("the LR image is \(input.width)x\(input.height); x\(scale) of the \(hr.width)x\(hr.height) HR needs \(hr.width / scale)x\(hr.height / scale)")
        }
        let sr = try (given?.removingAlpha() ?? upscaler.upscale(input, scale: scale, lrFile: lrFile)).quantized(bitDepth: 8)
        guard sr.width == hr.width, sr.height == hr.height else {
            let source = given == nil ? upscaler.name : "the SR file"
            throw MetricError("\(source) is \(sr.width)x\(sr.height), expected \(hr.width)x\(hr.height)")
        }
        return ImageScore(name: name, width: hr.width, height: hr.height,
                          psnr: try psnr(sr, hr, border: border, channel: channel),
                          ssim: try ssim(sr, hr, border: border, channel: channel),
                          rgbPSNR: try psnr(sr, hr, border: border, channel: .rgb),
                          meanShift: try meanShift(sr, hr, border: border))
    }

    /// Image files of a folder: `.png`, `.jpg`, `.jpeg`, `.webp` (any case), hidden files skipped, sorted by name.
    public static func imageFiles(in directory: URL) throws -> [URL] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            throw MetricError("no such folder")
        }
        guard isDirectory.boolValue else { throw MetricError("not a folder") }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        return names.filter { !$0.hasPrefix(".") && ImageFormat(pathExtension: ($0 as NSString).pathExtension) != nil }
            .sorted()
            .map { directory.appendingPathComponent($0) }
    }

    /// Evaluates every image of a folder, going on past files that fail (they are listed in the report).
    /// - Parameter progress: called after each image, with its score or its failure.
    public func run(directory: URL, progress: ((Result<ImageScore, EvalFailure>) -> Void)? = nil) -> SetReport {
        let path = directory.standardizedFileURL.path
        let name = directory.standardizedFileURL.lastPathComponent
        var images: [ImageScore] = [], failures: [EvalFailure] = []
        let files: [URL]
        let lrFolder = directory.appendingPathComponent("LR"), hrFolder = directory.appendingPathComponent("HR")
        let isTestSet = FileManager.default.fileExists(atPath: lrFolder.path) && FileManager.default.fileExists(atPath: hrFolder.path)
        let resultFolder = results?.appendingPathComponent(name)
        do {
            files = try Benchmark.imageFiles(in: isTestSet ? hrFolder : directory)
            if files.isEmpty { throw MetricError("no .png, .jpg, .jpeg or .webp files") }
        } catch {
            let failure = EvalFailure(path: path, reason: "\(error)")
            progress?(.failure(failure))
            return SetReport(name: name, path: path, images: [], failures: [failure])
        }
        for file in files {
            do {
                let fileName = file.lastPathComponent
                let lrFile = isTestSet ? lrFolder.appendingPathComponent(fileName) : nil
                let lr = try lrFile.map { try readImage(at: $0, maxPixels: maxPixels) }
                let sr = try resultFolder.map { try readImage(at: $0.appendingPathComponent(fileName), maxPixels: maxPixels) }
                let s = try score(readImage(at: file, maxPixels: maxPixels), name: fileName, lr: lr, lrFile: lrFile, sr: sr)
                images.append(s)
                progress?(.success(s))
            } catch let error as ImageError {
                let failure = EvalFailure(path: error.file ?? file.path, reason: error.reason)
                failures.append(failure)
                progress?(.failure(failure))
            } catch {
                let failure = EvalFailure(path: file.path, reason: "\(error)")
                failures.append(failure)
                progress?(.failure(failure))
            }
        }
        return SetReport(name: name, path: path, images: images, failures: failures)
    }
}
