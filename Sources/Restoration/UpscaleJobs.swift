import Foundation
import Imaging
#if canImport(Glibc)
import Glibc
#endif

/// One image to upscale and where its result goes.
public struct UpscaleJob: Equatable, Sendable {
    /// The input file.
    public var input: URL
    /// The output file.
    public var output: URL
    /// The output format.
    public var format: ImageFormat
    /// Why the job cannot run (found while planning), if it cannot.
    public var problem: String?

    /// A job; `problem` says why it cannot run, if it cannot.
    public init(input: URL, output: URL, format: ImageFormat, problem: String? = nil) {
        self.input = input
        self.output = output
        self.format = format
        self.problem = problem
    }
}

/// Turns the command line's inputs into jobs: files as given, folders expanded to their PNG, JPEG, WebP and BMP files
/// (with `recursive`, the whole tree, mirrored under the output folder), output names from the input's
/// name, the suffix and the format. Problems that concern one input become failed jobs, so the rest of
/// the batch still runs. A folder reached twice (a symbolic link to a folder already searched, such as a
/// link loop) is searched once; an input given twice is done once.
public struct UpscaleJobPlanner {
    /// `-o`: the output folder, or file.
    public var output: String
    /// Search subfolders too.
    public var recursive: Bool
    /// Added to each output name before the extension.
    public var suffix: String
    /// The output format; nil keeps the input's (by extension; PNG when it has none savl knows).
    public var format: ImageFormat?

    /// A planner; see the properties.
    public init(output: String, recursive: Bool, suffix: String, format: ImageFormat?) {
        self.output = output
        self.recursive = recursive
        self.suffix = suffix
        self.format = format
    }

    /// The jobs, and notes for the user about what was left out and why.
    public struct Plan {
        /// The jobs, in order.
        public var jobs: [UpscaleJob]
        /// Files and folders left out on purpose (unsupported formats, folders already searched), one line each.
        public var notes: [String]
    }

    /// Extensions of image formats savl does not read in folders, with the format's name.
    public static let unreadExtensions: [String: String] = [
        "gif": "GIF", "tif": "TIFF", "tiff": "TIFF", "heic": "HEIF", "heif": "HEIF", "avif": "AVIF", "jxl": "JPEG XL",
    ]

    /// Extensions that make `-o` an image file name (those savl writes and those it does not).
    public static let imageExtensions: Set<String> = Set(["png", "jpg", "jpeg", "webp", "bmp"]).union(unreadExtensions.keys)

    /// Whether `-o` names an image file rather than a folder: it ends in an image extension and is not an existing folder.
    public static func outputLooksLikeFile(_ output: String) -> Bool {
        var isDirectory: ObjCBool = false
        let isFolder = FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory) && isDirectory.boolValue
        return !isFolder && imageExtensions.contains(URL(fileURLWithPath: output).pathExtension.lowercased())
    }

    /// Whether `-o` names one output file rather than a folder: one input file and an extension savl writes.
    public static func outputIsFile(inputs: [String], output: String) -> Bool {
        outputLooksLikeFile(output) && singleInputFile(inputs) && ImageFormat(pathExtension: URL(fileURLWithPath: output).pathExtension) != nil
    }

    /// Whether the inputs are one existing file (not a folder).
    public static func singleInputFile(_ inputs: [String]) -> Bool {
        var isDirectory: ObjCBool = false
        return Set(inputs.map { canonical(URL(fileURLWithPath: $0)) }).count == 1
            && FileManager.default.fileExists(atPath: inputs[0], isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// Why `-o` cannot be used with these inputs, or nil: an image file name needs one input file and an
    /// extension savl writes; it never becomes a folder.
    public static func outputProblem(inputs: [String], output: String) -> String? {
        guard outputLooksLikeFile(output) else { return nil }
        let ext = URL(fileURLWithPath: output).pathExtension
        guard ImageFormat(pathExtension: ext) != nil else {
            return "-o \(output): savl writes PNG (.png), JPEG (.jpg, .jpeg) and WebP (.webp), not .\(ext); name a .png, .jpg or .webp file, or a folder"
        }
        guard singleInputFile(inputs) else {
            return "-o \(output) names an image file, which needs exactly one input file; give a folder (a name without an image extension) for several inputs or a folder"
        }
        return nil
    }

    /// The jobs of `inputs`.
    public func jobs(for inputs: [String]) -> [UpscaleJob] { plan(for: inputs).jobs }

    /// The jobs of `inputs`, with notes.
    public func plan(for inputs: [String]) -> Plan {
        let root = URL(fileURLWithPath: output)
        if Self.outputIsFile(inputs: inputs, output: output) {
            let format = self.format ?? ImageFormat(pathExtension: root.pathExtension)!
            return Self.checked([UpscaleJob(input: URL(fileURLWithPath: inputs[0]), output: root, format: format)], notes: [])
        }
        var jobs: [UpscaleJob] = []
        var notes: [String] = []
        for input in inputs {
            let url = URL(fileURLWithPath: input)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
                jobs.append(UpscaleJob(input: url, output: root, format: .png, problem: "\(input): no such file or folder"))
                continue
            }
            guard isDirectory.boolValue else {
                jobs.append(job(url, relativeFolder: ""))
                continue
            }
            let files = imageFiles(in: url, notes: &notes)
            if files.isEmpty {
                let what = recursive ? "in this folder or below" : "in this folder (--recursive looks in subfolders)"
                jobs.append(UpscaleJob(input: url, output: root, format: .png, problem: "\(input): no PNG, JPEG, WebP or BMP images \(what)"))
            }
            for relative in files {
                let folder = (relative as NSString).deletingLastPathComponent
                jobs.append(job(url.appendingPathComponent(relative), relativeFolder: folder))
            }
        }
        return Self.checked(jobs, notes: notes)
    }

    private func job(_ input: URL, relativeFolder: String) -> UpscaleJob {
        let format = self.format ?? ImageFormat(pathExtension: input.pathExtension) ?? .png
        let name = input.deletingPathExtension().lastPathComponent + suffix + "." + format.fileExtension
        var folder = URL(fileURLWithPath: output)
        if !relativeFolder.isEmpty { folder.appendPathComponent(relativeFolder) }
        return UpscaleJob(input: input, output: folder.appendingPathComponent(name), format: format)
    }

    /// A folder's identity: device and inode.
    private struct FolderID: Hashable { var device: UInt64, inode: UInt64 }

    private static func folderID(_ path: String) -> FolderID? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FolderID(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// PNG, JPEG and BMP files (by extension, hidden ones left out) under `folder`, as sorted relative paths;
    /// the output folder is not searched, so earlier results are not upscaled again. Each folder is
    /// searched at most once, by device and inode: a symbolic link is followed only to a folder that is
    /// neither in the tree itself nor already searched (so a link loop ends, and the tree is mirrored by
    /// its real paths). Images of formats savl does not read are noted, not upscaled.
    private func imageFiles(in folder: URL, notes: inout [String]) -> [String] {
        let outputFolder = Self.canonical(URL(fileURLWithPath: output))
        var found: [String] = []
        var searched = Set<FolderID>()
        let inTree = recursive ? Self.realFolders(under: folder) : []
        func visit(_ url: URL, _ relative: String) {
            if let id = Self.folderID(url.path) { searched.insert(id) }
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: url.path) else { return }
            for name in names.sorted() where !name.hasPrefix(".") {
                let child = url.appendingPathComponent(name)
                let path = relative.isEmpty ? name : relative + "/" + name
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: child.path, isDirectory: &isDirectory) else { continue }
                if isDirectory.boolValue {
                    guard recursive && Self.canonical(child) != outputFolder else { continue }
                    if Self.isLink(child.path), let id = Self.folderID(child.path), inTree.contains(id) || searched.contains(id) {
                        notes.append("\(child.path): a link to \(Self.canonical(child)), a folder searched anyway, not followed")
                        continue
                    }
                    visit(child, path)
                } else if isReadableImageExtension(child.pathExtension) {
                    found.append(path)
                } else if let kind = Self.unreadExtensions[child.pathExtension.lowercased()] {
                    notes.append("\(child.path): skipped, savl does not read \(kind) (convert it to PNG, JPEG or WebP)")
                }
            }
        }
        visit(folder, "")
        return found
    }

    private static func isLink(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK
    }

    /// The folders of the tree under `root` reached without following any symbolic link (hidden ones left out).
    private static func realFolders(under root: URL) -> Set<FolderID> {
        var found = Set<FolderID>()
        func walk(_ url: URL) {
            guard let id = folderID(url.path), found.insert(id).inserted,
                  let names = try? FileManager.default.contentsOfDirectory(atPath: url.path) else { return }
            for name in names where !name.hasPrefix(".") {
                let child = url.appendingPathComponent(name)
                var info = stat()
                if lstat(child.path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { walk(child) }
            }
        }
        walk(root)
        return found
    }

    /// Drops repeats of a job (the same input to the same output, e.g. a file given twice, or given
    /// and inside a folder given), and marks jobs that would overwrite an input or write where an
    /// earlier job writes.
    private static func checked(_ jobs: [UpscaleJob], notes: [String]) -> Plan {
        let inputs = Set(jobs.filter { $0.problem == nil }.map { canonical($0.input) })
        var claimed: [String: URL] = [:]
        var seen = Set<[String]>()
        var kept: [UpscaleJob] = []
        for job in jobs {
            guard job.problem == nil else { kept.append(job); continue }
            var job = job
            let source = canonical(job.input), target = canonical(job.output)
            guard seen.insert([source, target]).inserted else { continue }
            if inputs.contains(target) {
                job.problem = "\(job.input.path): the output \(job.output.path) would overwrite an input; choose another -o or a --suffix"
            } else if let first = claimed[target] {
                job.problem = "\(job.input.path): its output \(job.output.path) is also the output of \(first.path); rename one or use --suffix"
            } else {
                claimed[target] = job.input
            }
            kept.append(job)
        }
        return Plan(jobs: kept, notes: notes)
    }

    /// The path with symbolic links and `..` resolved (for the folder part when the file does not exist yet).
    public static func canonical(_ url: URL) -> String {
        let standard = url.standardizedFileURL
        if FileManager.default.fileExists(atPath: standard.path) { return standard.resolvingSymlinksInPath().path }
        return standard.deletingLastPathComponent().resolvingSymlinksInPath().appendingPathComponent(standard.lastPathComponent).path
    }
}
