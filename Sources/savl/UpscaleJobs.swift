import Foundation
import Imaging

/// One image to upscale and where its result goes.
struct UpscaleJob: Equatable {
    /// The input file.
    var input: URL
    /// The output file.
    var output: URL
    /// The output format.
    var format: ImageFormat
    /// Why the job cannot run (found while planning), if it cannot.
    var problem: String?
}

/// Turns the command line's inputs into jobs: files as given, folders expanded to their PNG and JPEG files
/// (with `recursive`, the whole tree, mirrored under the output folder), output names from the input's
/// name, the suffix and the format. Problems that concern one input become failed jobs, so the rest of
/// the batch still runs.
struct UpscaleJobPlanner {
    var output: String
    var recursive: Bool
    var suffix: String
    /// The output format; nil keeps the input's (by extension; PNG when it has none savl knows).
    var format: ImageFormat?

    /// Whether `-o` names one output file rather than a folder: one input file and an image extension.
    static func outputIsFile(inputs: [String], output: String) -> Bool {
        var isDirectory: ObjCBool = false
        let inputIsFile = inputs.count == 1 && FileManager.default.fileExists(atPath: inputs[0], isDirectory: &isDirectory) && !isDirectory.boolValue
        let outputIsFolder = FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory) && isDirectory.boolValue
        return inputIsFile && !outputIsFolder && ImageFormat(pathExtension: URL(fileURLWithPath: output).pathExtension) != nil
    }

    func jobs(for inputs: [String]) -> [UpscaleJob] {
        let root = URL(fileURLWithPath: output)
        if Self.outputIsFile(inputs: inputs, output: output) {
            let format = self.format ?? ImageFormat(pathExtension: root.pathExtension)!
            return Self.checked([UpscaleJob(input: URL(fileURLWithPath: inputs[0]), output: root, format: format)])
        }
        var jobs: [UpscaleJob] = []
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
            let files = imageFiles(in: url)
            if files.isEmpty {
                let what = recursive ? "in this folder or below" : "in this folder (--recursive looks in subfolders)"
                jobs.append(UpscaleJob(input: url, output: root, format: .png, problem: "\(input): no PNG or JPEG images \(what)"))
            }
            for relative in files {
                let folder = (relative as NSString).deletingLastPathComponent
                jobs.append(job(url.appendingPathComponent(relative), relativeFolder: folder))
            }
        }
        return Self.checked(jobs)
    }

    private func job(_ input: URL, relativeFolder: String) -> UpscaleJob {
        let format = self.format ?? ImageFormat(pathExtension: input.pathExtension) ?? .png
        let name = input.deletingPathExtension().lastPathComponent + suffix + "." + (format == .png ? "png" : "jpg")
        var folder = URL(fileURLWithPath: output)
        if !relativeFolder.isEmpty { folder.appendPathComponent(relativeFolder) }
        return UpscaleJob(input: input, output: folder.appendingPathComponent(name), format: format)
    }

    /// PNG and JPEG files (by extension, hidden ones left out) under `folder`, as sorted relative paths;
    /// the output folder is not searched, so earlier results are not upscaled again.
    private func imageFiles(in folder: URL) -> [String] {
        let outputFolder = Self.canonical(URL(fileURLWithPath: output))
        var found: [String] = []
        func visit(_ url: URL, _ relative: String) {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: url.path) else { return }
            for name in names.sorted() where !name.hasPrefix(".") {
                let child = url.appendingPathComponent(name)
                let path = relative.isEmpty ? name : relative + "/" + name
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: child.path, isDirectory: &isDirectory) else { continue }
                if isDirectory.boolValue {
                    if recursive && Self.canonical(child) != outputFolder { visit(child, path) }
                } else if ImageFormat(pathExtension: child.pathExtension) != nil {
                    found.append(path)
                }
            }
        }
        visit(folder, "")
        return found
    }

    /// Marks jobs that would overwrite an input, or write where an earlier job writes.
    private static func checked(_ jobs: [UpscaleJob]) -> [UpscaleJob] {
        let inputs = Set(jobs.filter { $0.problem == nil }.map { canonical($0.input) })
        var claimed: [String: URL] = [:]
        return jobs.map { job in
            guard job.problem == nil else { return job }
            var job = job
            let target = canonical(job.output)
            if inputs.contains(target) {
                job.problem = "\(job.input.path): the output \(job.output.path) would overwrite an input; choose another -o or a --suffix"
            } else if let first = claimed[target] {
                job.problem = "\(job.input.path): its output \(job.output.path) is also the output of \(first.path); rename one or use --suffix"
            } else {
                claimed[target] = job.input
            }
            return job
        }
    }

    /// The path with symbolic links and `..` resolved (for the folder part when the file does not exist yet).
    static func canonical(_ url: URL) -> String {
        let standard = url.standardizedFileURL
        if FileManager.default.fileExists(atPath: standard.path) { return standard.resolvingSymlinksInPath().path }
        return standard.deletingLastPathComponent().resolvingSymlinksInPath().appendingPathComponent(standard.lastPathComponent).path
    }
}
