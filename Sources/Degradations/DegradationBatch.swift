import FileSupport
import Foundation
import Imaging
import SeededRandom

/// What `savl degrade` does: HR images degraded into LR images with their parameters (and, on request,
/// ground-truth maps and contact sheets), or one folder turned into a fixed, named test set with a manifest
/// and a checksum. Every input is read and checked before anything is written.
public struct DegradationBatch {
    /// HR images or folders of them (a test set takes one folder).
    public var inputs: [String]
    /// The folder written to; a test set goes into a subfolder named after it.
    public var output: URL
    public var config: DegradationConfig
    /// The name the records and a test set's name give the configuration (a preset's short name, or "config").
    public var configLabel: String
    public var scale = 4
    /// Each image's own seed is derived from this seed and its file name.
    public var seed: UInt64 = 0
    public var maps = false
    public var sheets = false
    /// Degrade a random crop of this side (a multiple of the scale) of each HR.
    public var crop: Int?
    /// Crop each HR to a multiple of the scale instead of refusing it.
    public var modCrop = false
    /// Build a test set from the one folder of `inputs` (implies maps and mod-crop).
    public var testSet = false
    /// The test set's name (default `<folder>-<label>-x<scale>`).
    public var name: String?

    public init(inputs: [String], output: URL, config: DegradationConfig, configLabel: String) {
        self.inputs = inputs
        self.output = output
        self.config = config
        self.configLabel = configLabel
    }

    /// Writes everything and returns the lines to print: one per image, and a test set's name and checksum.
    public func run() throws -> [String] {
        let sampler = try DegradationSampler(config: config)
        let jobs = try inputFiles().map(job)
        let stems = jobs.map { $0.url.deletingPathExtension().lastPathComponent }
        if let duplicate = Dictionary(grouping: stems, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw DegradationBatchError("two inputs would both write \(duplicate).png")
        }
        let setName = name ?? TestSet.name(folder: URL(fileURLWithPath: inputs[0]).standardizedFileURL.lastPathComponent,
                                           preset: configLabel, scale: scale)
        let root = testSet ? output.appendingPathComponent(setName) : output
        let folders = testSet
            ? (lr: "LR", params: "params", maps: "maps", hr: "HR", sheets: "sheets")
            : (lr: "", params: "", maps: "", hr: "", sheets: "")
        for folder in Set([folders.lr, folders.params, folders.maps, folders.hr] + (sheets ? [folders.sheets] : [])) {
            let url = root.appendingPathComponent(folder)
            do {
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            } catch {
                throw DegradationBatchError("cannot create the output folder \(url.path): \(FileErrors.reason(error, path: url.path))")
            }
            // What a killed run left mid-write (.NAME.tmp-*, whose writer is gone) goes.
            AtomicFiles.removeStaleTemporaries(in: url)
        }

        var lines: [String] = []
        var written: [String] = []
        for (job, stem) in zip(jobs, stems) {
            var rng = SeededGenerator(seed: job.imageSeed)
            let parameters = sampler.sample(hrWidth: job.hr.width, hrHeight: job.hr.height, scale: scale, using: &rng)
            let result = try degrade(job.hr, parameters: parameters, generator: &rng)
            let lrName = path(folders.lr, "\(stem).png")
            try writeImage(result.lr, to: root.appendingPathComponent(lrName), bitDepth: 8)
            written.append(lrName)
            var mapFiles: [String: DegradationRecord.MapFile]?
            if maps || testSet {
                mapFiles = [:]
                for kind in GroundTruthMaps.Kind.allCases {
                    let file = path(folders.maps, "\(stem)_\(kind.rawValue).png")
                    try writeImage(result.maps.image(kind), to: root.appendingPathComponent(file), bitDepth: 16)
                    mapFiles?[kind.rawValue] = DegradationRecord.MapFile(file: URL(fileURLWithPath: file).lastPathComponent, kind: kind)
                    written.append(file)
                }
            }
            if testSet {
                let hrName = path(folders.hr, "\(stem).png")
                try writeImage(job.hr, to: root.appendingPathComponent(hrName))
                written.append(hrName)
            }
            let record = DegradationRecord(source: job.url.lastPathComponent, preset: configLabel, seed: seed, imageSeed: job.imageSeed,
                                           crop: job.crop, lr: "\(stem).png", parameters: parameters, maps: mapFiles)
            let recordName = path(folders.params, "\(stem).json")
            try record.jsonData().write(to: root.appendingPathComponent(recordName), options: .atomic)
            written.append(recordName)
            if sheets {
                let sheetName = path(folders.sheets, "\(stem)_sheet.png")
                try writeImage(contactSheet(hr: job.hr, result: result, scale: scale), to: root.appendingPathComponent(sheetName), bitDepth: 8)
            }
            lines.append("\(job.url.lastPathComponent): \(job.hr.width)x\(job.hr.height) -> \(result.lr.width)x\(result.lr.height) \(Self.summary(parameters))")
        }
        if testSet {
            let checksum = try Self.checksum(of: written.sorted(), in: root)
            let manifest = TestSetManifest(name: setName, preset: configLabel, scale: scale, seed: seed, images: stems.sorted(),
                                           files: written.sorted(), sha256: checksum)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(manifest).write(to: root.appendingPathComponent("manifest.json"), options: .atomic)
            lines.append("\(setName): \(jobs.count) images in \(root.path)")
            lines.append("sha256 \(checksum)")
        }
        return lines
    }

    private struct Job {
        var url: URL
        var hr: Image
        var imageSeed: UInt64
        var crop: DegradationRecord.Crop
    }

    /// One input read, cropped as asked and checked.
    private func job(_ url: URL) throws -> Job {
        var hr = try readImage(at: url)
        let fullSize = (hr.width, hr.height)
        if modCrop || testSet { hr = hr.cropped(x: 0, y: 0, width: hr.width / scale * scale, height: hr.height / scale * scale) }
        let fileName = url.lastPathComponent
        let imageSeed = TestSet.imageSeed(setSeed: seed, fileName: fileName)
        var region = DegradationRecord.Crop(x: 0, y: 0, width: hr.width, height: hr.height)
        if let crop {
            guard hr.width >= crop && hr.height >= crop else {
                throw DegradationBatchError("\(fileName): HR is \(fullSize.0)x\(fullSize.1), smaller than the crop \(crop)x\(crop)")
            }
            var placement = SeededGenerator(seed: imageSeed).fork(0xC409)
            region = DegradationRecord.Crop(x: placement.int(in: 0...(hr.width - crop)), y: placement.int(in: 0...(hr.height - crop)),
                                            width: crop, height: crop)
            hr = hr.cropped(x: region.x, y: region.y, width: crop, height: crop)
        }
        do {
            try checkDegradable(width: hr.width, height: hr.height, scale: scale)
        } catch let error as DegradationError {
            throw DegradationBatchError("\(fileName): \(error)")
        }
        return Job(url: url, hr: hr, imageSeed: imageSeed, crop: region)
    }

    /// Image files named in `inputs`, folders expanded to their PNG, JPEG and WebP files in name order.
    private func inputFiles() throws -> [URL] {
        var files: [URL] = []
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
                throw DegradationBatchError("\(input): no such file or folder")
            }
            if isDirectory.boolValue {
                let names = try FileManager.default.contentsOfDirectory(atPath: input).sorted()
                let images = names.filter { ImageFormat(pathExtension: URL(fileURLWithPath: $0).pathExtension) != nil }
                guard !images.isEmpty else { throw DegradationBatchError("\(input): no PNG, JPEG or WebP images in this folder") }
                files += images.map { URL(fileURLWithPath: input).appendingPathComponent($0) }
            } else {
                if testSet { throw DegradationBatchError("--test-set takes a folder, not the file \(input)") }
                files.append(URL(fileURLWithPath: input))
            }
        }
        return files
    }

    private func path(_ folder: String, _ file: String) -> String { folder.isEmpty ? file : "\(folder)/\(file)" }

    /// SHA-256 over every file's relative path, a zero byte, and its bytes, in path order.
    public static func checksum(of files: [String], in root: URL) throws -> String {
        var hash = SHA256()
        for file in files {
            hash.update(Array(file.utf8) + [0])
            hash.update(try Data(contentsOf: root.appendingPathComponent(file)))
        }
        return hash.hexDigest()
    }

    /// One line about what was applied, for the console.
    public static func summary(_ p: DegradationParameters) -> String {
        guard let first = p.first, let second = p.second, let final = p.final else { return "bicubic" }
        var varying: [String] = []
        if first.blur?.isConstant == false { varying.append("blur") }
        if !second.noise.strength.isConstant { varying.append("noise") }
        if !final.jpeg.isConstant { varying.append("jpeg") }
        let jpeg = final.jpeg.levels.map(String.init).joined(separator: "/")
        return "second-order, final jpeg \(jpeg)" + (varying.isEmpty ? "" : ", varying: " + varying.joined(separator: ", "))
    }
}

/// The manifest of a test set: what it was built from and the checksum of its files.
public struct TestSetManifest: Codable, Sendable {
    public var name: String
    public var preset: String
    public var scale: Int
    public var seed: UInt64
    public var images: [String]
    public var files: [String]
    public var sha256: String
}

/// A problem with an input or the output found at run time, said in a sentence.
public struct DegradationBatchError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
