import ArgumentParser
import Degradations
import FileSupport
import Foundation
import Imaging
import SeededRandom
import Training

extension DegradationPreset: ExpressibleByArgument {}

/// `savl degrade`: synthesises LR images (and their ground-truth maps) from HR images, or builds a fixed test set.
struct DegradeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "degrade",
        abstract: "Degrade HR images into LR images with parameters and per-pixel ground-truth maps.",
        discussion: """
            Presets: bicubic (MATLAB bicubic downscale only), mild (light blur, low noise, JPEG 75-95), \
            realesrgan (Real-ESRGAN's second-order \
            pipeline with its x4plus training settings), heterogeneous (the same pipeline with blur width, \
            noise level and JPEG quality varying over the image through soft masks).
            Writes DIR/NAME.png (LR), DIR/NAME.json (parameters); with --maps DIR/NAME_<map>.png (16-bit, \
            value ranges in the JSON); with --sheet DIR/NAME_sheet.png. Each image's seed is derived from \
            --seed and its file name, so the same seed gives the same bytes.
            --test-set turns one folder of HR images into OUT/<folder>-<preset>-x<scale>/ (HR, LR, maps, \
            params, manifest.json) and prints its checksum.
            """)

    @Argument(help: "HR images (PNG or JPEG) or folders of them.")
    var inputs: [String] = []

    @Option(name: .shortAndLong, help: "Output folder.")
    var output: String?

    @Option(parsing: .unconditional, help: "Downscaling factor (1-8).")
    var scale = 4

    @Option(help: "bicubic | mild | realesrgan | heterogeneous.")
    var preset: DegradationPreset = .realesrgan

    @Option(help: "A configuration (YAML or JSON) laid over --preset: keys left out keep the preset's values, unknown keys are errors (start from --print-config).")
    var config: String?

    @Option(help: "Seed; each image's own seed is derived from it and the image's file name.")
    var seed: UInt64 = 0

    @Flag(help: "Also write the ground-truth maps as 16-bit PNGs.")
    var maps = false

    @Flag(help: "Also write a contact sheet (HR, LR, detail crops, maps as heatmaps).")
    var sheet = false

    @Option(parsing: .unconditional, help: "Degrade a random N x N crop of each HR (N a multiple of the scale).")
    var crop: Int?

    @Flag(help: "Crop each HR to a multiple of the scale instead of refusing it.")
    var modCrop = false

    @Flag(help: "Build a fixed, named test set from one folder (implies --maps and --mod-crop).")
    var testSet = false

    @Option(help: "Test-set name (default <folder>-<preset>-x<scale>, e.g. Set14-hetero-x4).")
    var name: String?

    @Flag(help: "Print the configuration as JSON and exit.")
    var printConfig = false

    func validate() throws {
        if printConfig { return }
        guard !inputs.isEmpty else { throw ValidationError("give at least one HR image or folder") }
        guard output != nil else { throw ValidationError("give an output folder with -o") }
        guard (1...8).contains(scale) else { throw ValidationError("--scale \(scale) is not in 1...8") }
        if let crop, crop <= 0 || crop % scale != 0 {
            throw ValidationError("--crop \(crop) must be a positive multiple of the scale \(scale)")
        }
        if testSet && inputs.count != 1 { throw ValidationError("--test-set takes exactly one folder") }
        if name != nil && !testSet { throw ValidationError("--name only applies with --test-set") }
    }

    func run() throws {
        for line in try execute() { print(line) }
    }

    /// Does the work and returns the lines to print.
    func execute() throws -> [String] {
        let resolved = try resolvedConfig()
        if printConfig {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            return [String(decoding: try encoder.encode(resolved), as: UTF8.self)]
        }
        // Everything is checked before anything is written.
        let sampler = try DegradationSampler(config: resolved)
        let files = try inputFiles()
        var jobs: [Job] = []
        for url in files {
            var hr = try readImage(at: url)
            let fullSize = (hr.width, hr.height)
            if modCrop || testSet { hr = hr.cropped(x: 0, y: 0, width: hr.width / scale * scale, height: hr.height / scale * scale) }
            let fileName = url.lastPathComponent
            let imageSeed = TestSet.imageSeed(setSeed: seed, fileName: fileName)
            var region = DegradationRecord.Crop(x: 0, y: 0, width: hr.width, height: hr.height)
            if let crop {
                guard hr.width >= crop && hr.height >= crop else {
                    throw Failure("\(fileName): HR is \(fullSize.0)x\(fullSize.1), smaller than the crop \(crop)x\(crop)")
                }
                var placement = SeededGenerator(seed: imageSeed).fork(0xC409)
                region = DegradationRecord.Crop(x: placement.int(in: 0...(hr.width - crop)), y: placement.int(in: 0...(hr.height - crop)),
                                                width: crop, height: crop)
                hr = hr.cropped(x: region.x, y: region.y, width: crop, height: crop)
            }
            do {
                try checkDegradable(width: hr.width, height: hr.height, scale: scale)
            } catch let error as DegradationError {
                throw Failure("\(fileName): \(error)")
            }
            jobs.append(Job(url: url, hr: hr, imageSeed: imageSeed, crop: region))
        }
        let stems = jobs.map { $0.url.deletingPathExtension().lastPathComponent }
        if let duplicate = Dictionary(grouping: stems, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw Failure("two inputs would both write \(duplicate).png")
        }

        let outputRoot = URL(fileURLWithPath: output!)
        let setName = name ?? TestSet.name(folder: URL(fileURLWithPath: inputs[0]).standardizedFileURL.lastPathComponent,
                                           preset: presetLabel, scale: scale)
        let root = testSet ? outputRoot.appendingPathComponent(setName) : outputRoot
        let folders = testSet
            ? (lr: "LR", params: "params", maps: "maps", hr: "HR", sheets: "sheets")
            : (lr: "", params: "", maps: "", hr: "", sheets: "")
        for folder in Set([folders.lr, folders.params, folders.maps, folders.hr] + (sheet ? [folders.sheets] : [])) {
            let url = root.appendingPathComponent(folder)
            do {
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            } catch {
                throw Failure("cannot create the output folder \(url.path): \(FileErrors.reason(error, path: url.path))")
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
            let record = DegradationRecord(source: job.url.lastPathComponent, preset: presetLabel, seed: seed, imageSeed: job.imageSeed,
                                           crop: job.crop, lr: "\(stem).png", parameters: parameters, maps: mapFiles)
            let recordName = path(folders.params, "\(stem).json")
            try record.jsonData().write(to: root.appendingPathComponent(recordName), options: .atomic)
            written.append(recordName)
            if sheet {
                let sheetName = path(folders.sheets, "\(stem)_sheet.png")
                try writeImage(contactSheet(hr: job.hr, result: result, scale: scale), to: root.appendingPathComponent(sheetName), bitDepth: 8)
            }
            lines.append("\(job.url.lastPathComponent): \(job.hr.width)x\(job.hr.height) -> \(result.lr.width)x\(result.lr.height) \(Self.summary(parameters))")
        }
        if testSet {
            let checksum = try Self.checksum(of: written.sorted(), in: root)
            let manifest = TestSetManifest(name: setName, preset: presetLabel, scale: scale, seed: seed, images: stems.sorted(),
                                           files: written.sorted(), sha256: checksum)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(manifest).write(to: root.appendingPathComponent("manifest.json"), options: .atomic)
            lines.append("\(setName): \(jobs.count) images in \(root.path)")
            lines.append("sha256 \(checksum)")
        }
        return lines
    }

    /// A problem with an input found at run time: printed as is, without the usage text.
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    private struct Job {
        var url: URL
        var hr: Image
        var imageSeed: UInt64
        var crop: DegradationRecord.Crop
    }

    /// The name a test set and the records use for the configuration.
    private var presetLabel: String { config == nil ? preset.shortName : "config" }

    private func resolvedConfig() throws -> DegradationConfig {
        guard let config else { return .preset(preset) }
        let text: String
        do {
            text = try String(contentsOf: URL(fileURLWithPath: config), encoding: .utf8)
        } catch {
            throw Failure("cannot read the configuration \(config): \(FileErrors.reason(error, path: config))")
        }
        do {
            try StrictConfig.checkNotEmpty(yaml: text, source: config)
            return try DegradationConfig.load(yaml: text, over: .preset(preset), source: config)
        } catch let error as ConfigError {
            throw Failure("configuration \(error.message)")
        }
    }

    /// Image files named on the command line, folders expanded to their PNG and JPEG files in name order.
    private func inputFiles() throws -> [URL] {
        var files: [URL] = []
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
                throw Failure("\(input): no such file or folder")
            }
            if isDirectory.boolValue {
                let names = try FileManager.default.contentsOfDirectory(atPath: input).sorted()
                let images = names.filter { ImageFormat(pathExtension: URL(fileURLWithPath: $0).pathExtension) != nil }
                guard !images.isEmpty else { throw Failure("\(input): no PNG or JPEG images in this folder") }
                files += images.map { URL(fileURLWithPath: input).appendingPathComponent($0) }
            } else {
                if testSet { throw Failure("--test-set takes a folder, not the file \(input)") }
                files.append(URL(fileURLWithPath: input))
            }
        }
        return files
    }

    private func path(_ folder: String, _ file: String) -> String { folder.isEmpty ? file : "\(folder)/\(file)" }

    /// SHA-256 over every file's relative path, a zero byte, and its bytes, in path order.
    static func checksum(of files: [String], in root: URL) throws -> String {
        var hash = SHA256()
        for file in files {
            hash.update(Array(file.utf8) + [0])
            hash.update(try Data(contentsOf: root.appendingPathComponent(file)))
        }
        return hash.hexDigest()
    }

    /// The manifest of a test set: what it was built from and the checksum of its files.
    struct TestSetManifest: Codable {
        var name: String
        var preset: String
        var scale: Int
        var seed: UInt64
        var images: [String]
        var files: [String]
        var sha256: String
    }

    /// One line about what was applied, for the console.
    static func summary(_ p: DegradationParameters) -> String {
        guard let first = p.first, let second = p.second, let final = p.final else { return "bicubic" }
        var varying: [String] = []
        if first.blur?.isConstant == false { varying.append("blur") }
        if !second.noise.strength.isConstant { varying.append("noise") }
        if !final.jpeg.isConstant { varying.append("jpeg") }
        let jpeg = final.jpeg.levels.map(String.init).joined(separator: "/")
        return "second-order, final jpeg \(jpeg)" + (varying.isEmpty ? "" : ", varying: " + varying.joined(separator: ", "))
    }
}
