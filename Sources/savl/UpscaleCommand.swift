import ArgumentParser
import Collectives
import Foundation
import Imaging
import Restoration
import SAVL
import Tensors

/// `--tile auto|N`.
enum TileOption: ExpressibleByArgument, Equatable {
    case auto
    case size(Int)

    init?(argument: String) {
        if argument == "auto" { self = .auto } else if let n = Int(argument) { self = .size(n) } else { return nil }
    }

    var defaultValueDescription: String { self == .auto ? "auto" : "\(self)" }
}

/// `--format auto|png|jpg|webp`.
enum FormatOption: String, ExpressibleByArgument, CaseIterable {
    case auto, png, jpg, webp

    init?(argument: String) {
        if argument == "jpeg" { self = .jpg } else { self.init(rawValue: argument) }
    }

    var format: ImageFormat? {
        switch self {
        case .auto: nil
        case .png: .png
        case .jpg: .jpeg
        case .webp: .webp
        }
    }
}

extension OutputBitDepth: ExpressibleByArgument {}

extension AlphaUpscaling: ExpressibleByArgument {}

extension UpscaleDistribution: ExpressibleByArgument {}

/// `savl upscale`: super-resolves photos with a SAVL model, tiled so that any size fits in memory.
struct UpscaleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upscale",
        abstract: "Upscale photos with a SAVL model: sharper, cleaner and larger, on the CPU, any size.",
        discussion: """
            Inputs are PNG, JPEG, WebP or BMP files or folders of them (--recursive: the whole tree, mirrored under -o; \
            a symbolic link to a folder is followed, but no folder is searched twice, so link loops end). \
            Other images in a folder (GIF, TIFF, HEIF, AVIF; animated WebP) are listed as skipped. An input given twice is \
            done once. Each result goes to OUT/<name><suffix>.<png|jpg|webp> (BMP inputs give PNG); with one input file, -o may name the \
            output file (.png, .jpg, .jpeg or .webp; an -o with another image extension is an error, never a folder). \
            Inputs are never overwritten, outputs are written atomically, the output folder is checked for \
            writing before any compute, and temporaries left by a killed run (.NAME.tmp-*) are removed; a file \
            that cannot be read or written is reported while the others go on; the exit status is 1 when any \
            file failed.

            The model runs in overlapping tiles whose size comes from a memory budget (--memory, default \
            \(UpscalePipeline.defaultMemoryBudgetMB) MB for the network's working set; the process needs about \
            that plus about 17 bytes per output pixel, 1.7 GB for 2000x2000 at x4: --dry-run prints the estimate), blended with feathered weights \
            that sum to one everywhere. With the default overlap tiled results stay within 1e-4 of the \
            whole-image result; the overlap --dry-run names as exact makes them equal. A tile's side includes \
            its overlap with the neighbours, so small tiles repeat work: tiling never costs more than 2x the \
            compute of one whole-image pass. A small --tile shrinks the default overlap to stay within 2x (a \
            note says so; the result is then less exact: an overlap of 16 stays within about 3e-2 of the \
            whole-image result), and a --tile too small for an explicit --tile-overlap is refused, naming the \
            smallest that fits. Gray stays gray, \
            alpha is kept, 16-bit PNGs give 16-bit PNGs, the ICC profile is carried and JPEG EXIF orientation \
            is applied. The network upscales by its native factor (x2 or x4); other sizes are then resampled \
            with MATLAB bicubic.

            --strength S scales how far the estimated degradation code r departs from the code of a clean \
            image: r_clean + S (r - r_clean). 0 leaves the degradations in, 1 removes what was estimated, \
            above 1 restores harder. r_clean is the model file's 'clean_code' metadata, or the prior mean \
            (zero) when the file has none. The severity map is kept as estimated.

            --model takes a path to a savl model file, or the name of a model embedded in the binary \
            (\(UpscaleModels.embedded.isEmpty ? "this build has none" : UpscaleModels.embedded.map(\.name).joined(separator: ", "))).

            Examples:
              savl upscale photo.jpg -o photo-x4.png --model small-x4.safetensors
              savl upscale scans/ -o big/ --recursive --scale 2.5 --format jpg --quality 92
            """)

    @Argument(help: "PNG, JPEG, WebP or BMP files, or folders of them.")
    var inputs: [String] = []

    @Option(name: .shortAndLong, help: "Output folder (created if needed), or the output file for one input file.")
    var output: String?

    @Option(name: .shortAndLong, help: "Model: a path to a savl model file, or an embedded model's name.")
    var model: String?

    @Option(name: .shortAndLong, parsing: .unconditional, help: "Output scale, any positive number (default: the model's native x2 or x4).")
    var scale: Double?

    @Option(parsing: .unconditional, help: "Output width in pixels (keeps the aspect ratio unless --height is also given).")
    var width: Int?

    @Option(parsing: .unconditional, help: "Output height in pixels (keeps the aspect ratio unless --width is also given).")
    var height: Int?

    @Option(parsing: .unconditional, help: "Restoration strength: 0 keeps the degradations, 1 removes the estimated ones, above 1 restores harder.")
    var strength: Float = 1

    @Option(name: [.customLong("colour-correction"), .customLong("color-correction")], parsing: .unconditional,
            help: ArgumentHelp("Keep the input's local mean colours (over a Gaussian of SIGMA input pixels), which the network may shift; 0 turns it off.",
                               valueName: "SIGMA"))
    var colourCorrection: Float = ColourCorrection.defaultSigma

    @Option(name: .shortAndLong, parsing: .unconditional,
            help: "Tile side in input pixels, overlap included: auto (from --memory), N, or 0 (the whole image at once, which needs a second full-size buffer). Tiling costs at most 2x the compute: a small N shrinks the overlap.")
    var tile: TileOption = .auto

    @Option(parsing: .unconditional, help: "Overlap of neighbouring tiles in input pixels (default: from the model's receptive field, at most 32).")
    var tileOverlap: Int?

    @Option(parsing: .unconditional, help: "Memory budget of the network for one tile, in MB (used by --tile auto).")
    var memory: Int = UpscalePipeline.defaultMemoryBudgetMB

    @Option(name: .shortAndLong, help: "Output format: auto (as the input), png, jpg or webp (lossy).")
    var format: FormatOption = .auto

    @Option(parsing: .unconditional, help: "JPEG and WebP quality, 1-100.")
    var quality: Int = 95

    @Option(help: "PNG bit depth: auto (as the input), 8 or 16.")
    var bitDepth: OutputBitDepth = .auto

    @Option(help: "Alpha channel: bicubic, or network (through the model as a gray image).")
    var alpha: AlphaUpscaling = .bicubic

    @Option(parsing: .unconditional, help: "Text added to each output name before the extension (e.g. -x4).")
    var suffix: String = ""

    @Flag(help: "Look for images in subfolders too, mirroring the folder tree under the output folder.")
    var recursive = false

    @Flag(help: "Leave out inputs whose output file already exists.")
    var skipExisting = false

    @Option(parsing: .unconditional, help: "Compute threads (default: all cores).")
    var threads: Int?

    @Option(help: Precision.help)
    var precision: Precision = .auto

    @Option(help: "Under mpirun, how the ranks share the files: dynamic (each takes the next file, largest first, from rank 0 when it is free) or static (dealt before any work).")
    var distribution: UpscaleDistribution = .dynamic

    @Option(help: "Progress on stderr: auto (a status line on a terminal), json (one object a line) or none.")
    var progress: ProgressMode = .auto

    @Flag(help: "Print sizes, the tile plan and a memory estimate for each image, and write nothing.")
    var dryRun = false

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one image or folder to upscale") }
        guard output != nil else { throw ValidationError("give the output folder (or file) with -o") }
        if let problem = options.problem { throw ValidationError(problem) }
        guard strength.isFinite, strength >= 0 else { throw ValidationError("--strength must be 0 or more, not \(strength)") }
        do { try ColourCorrection.validate(colourCorrection) } catch { throw ValidationError("\(error)") }
        if case .size(let n) = tile, n < 0 { throw ValidationError("--tile must be auto, 0 or a positive number of pixels, not \(n)") }
        if case .size(let n) = tile, let tileOverlap, n > 0, tileOverlap >= n {
            throw ValidationError("--tile-overlap \(tileOverlap) must be smaller than the tile \(n)")
        }
        if let tileOverlap, tileOverlap < 0 { throw ValidationError("--tile-overlap must not be negative, not \(tileOverlap)") }
        guard memory >= 16 else { throw ValidationError("--memory must be at least 16 (MB), not \(memory)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, not \(threads)") }
        if bitDepth == .sixteen, let format = outputFormat, !format.holdsSixteenBits {
            throw ValidationError("\(format == .jpeg ? "JPEG" : "WebP") is 8-bit only: use --format png with --bit-depth 16")
        }
        if let output, let problem = UpscaleJobPlanner.outputProblem(inputs: inputs, output: output) { throw ValidationError(problem) }
        if let output, UpscaleJobPlanner.outputIsFile(inputs: inputs, output: output), let asked = format.format,
           ImageFormat(pathExtension: URL(fileURLWithPath: output).pathExtension) != asked {
            throw ValidationError("-o \(output) does not end in the extension of --format \(format.rawValue)")
        }
    }

    /// What is done to each image besides the network.
    var options: UpscaleOptions {
        UpscaleOptions(scale: scale, width: width, height: height, alpha: alpha, bitDepth: bitDepth, quality: quality)
    }

    /// The output format asked for, by --format or by the name of an output file.
    private var outputFormat: ImageFormat? {
        if let f = format.format { return f }
        guard let output, UpscaleJobPlanner.outputIsFile(inputs: inputs, output: output) else { return nil }
        return ImageFormat(pathExtension: URL(fileURLWithPath: output).pathExtension)
    }

    /// A problem with the run as a whole, found after parsing: printed as is, without the usage text.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func run() throws {
        if let threads { Engine.setThreads(threads) }
        try Engine.setPrecision(precision)
        let loaded: UpscaleModels.Loaded
        let pipeline: UpscalePipeline
        let tileSize: Int? = if case .size(let n) = tile { n } else { nil }
        do {
            loaded = try UpscaleModels.load(model)
            pipeline = try UpscalePipeline(upscaling: loaded, strength: strength, tile: tileSize, overlap: tileOverlap,
                                           memoryBudget: memory << 20, colourCorrection: colourCorrection)
        } catch {
            throw Failure(description: "\(error)")
        }
        if let tileSize, let tileOverlap, tileSize > 0 {
            try checkTileCost(tileSize, overlap: tileOverlap, alignment: pipeline.resolver.alignment)
        }
        let planner = UpscaleJobPlanner(output: output!, recursive: recursive, suffix: suffix, format: outputFormat)
        let plan = planner.plan(for: inputs)
        let jobs = plan.jobs
        let notes = plan.notes
        let modelName = loaded.summary
        let batch = UpscaleBatch(pipeline: pipeline, options: options, skipExisting: skipExisting, jobs: jobs)
        if dryRun {
            print("model \(modelName), strength \(strength), \(Engine.backendDescription)")
            for note in notes { print("note: \(note)") }
            let ok = batch.dryRun(line: { print($0) }, error: { FileHandle.standardError.write(Data("error: \($0)\n".utf8)) })
            if !ok { throw ExitCode(1) }
            return
        }
        let skippedByPlan = plan.notes.filter { $0.contains(": skipped, ") }.count
        // Under an MPI launcher the ranks share the files (UpscaleRanks, WorkQueue); rank 0 reports the batch.
        let world = try Communicators.start()
        defer { world.finalize() }
        let reporter = UpscaleProgress(mode: world.isRoot ? progress : .none, files: jobs.count)
        reporter.start(model: modelName, backend: Engine.backendDescription, threads: Engine.threads)
        if world.isRoot { for note in notes { reporter.note(note) } }
        let queue = distribution == .dynamic && world.size > 1
            ? WorkQueue.make(world, order: UpscaleRanks.largestFirst(jobs)) : nil
        if distribution == .dynamic, world.size > 1, queue == nil, world.isRoot {
            reporter.note("the MPI library does not allow calls from several threads: the files are dealt statically")
        }
        var share = UpscaleRanks.share(of: jobs, rank: world.rank, ranks: world.size).makeIterator()
        let succeeded = try batch.run(reporter, skippedByPlan: world.isRoot ? skippedByPlan : 0,
                                      next: { try queue.map { try $0.next() } ?? share.next() }) { counts in
            try queue?.finish()
            var sums = counts.map(Double.init)
            try world.allreduceSum(&sums)
            return sums.map { Int($0) }
        }
        if !succeeded { throw ExitCode(1) }
    }

    /// Refuses an explicit `--tile-overlap` that would make tiles of `--tile` cost more than `TileCost.maxOverhead`
    /// times the compute of one whole-image pass, naming the smallest tile that fits.
    private func checkTileCost(_ tile: Int, overlap: Int, alignment: Int) throws {
        let side = (tile + alignment - 1) / alignment * alignment
        let cost = TileCost.overhead(tile: side, overlap: overlap, alignment: alignment)
        guard cost > TileCost.maxOverhead else { return }
        throw Failure(description: "--tile \(tile) with --tile-overlap \(overlap) would cost "
            + (cost.isFinite ? String(format: "about %.1fx", cost) : "many times") + " the compute of one whole-image pass "
            + "(tiling is kept within \(Int(TileCost.maxOverhead))x); use --tile \(TileCost.smallestTile(overlap: overlap, alignment: alignment)) "
            + "or more, or a smaller --tile-overlap")
    }
}
