import FileSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Atomic writes and the temporaries they leave when a process is killed mid-write.
///
/// A file `NAME` is written as `.NAME.tmp-XXXX` (XXXX: 1 to 13 base-36 digits) in the same folder, then
/// renamed over `NAME`. While the temporary exists its writer holds an exclusive `flock` on it, so a
/// temporary whose lock can be taken belongs to no live process: it is stale and safe to remove.
public enum AtomicFiles {
    /// The temporary name of an atomic write of `name`.
    static func temporaryName(for name: String) -> String {
        "." + name + ".tmp-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }

    /// Whether `name` is the temporary of an atomic write (`.NAME.tmp-XXXX`), and not anything else.
    public static func isTemporaryName(_ name: String) -> Bool {
        guard name.hasPrefix("."), let marker = name.range(of: ".tmp-", options: .backwards) else { return false }
        let stem = name[name.index(after: name.startIndex)..<marker.lowerBound]
        let digits = name[marker.upperBound...]
        return !stem.isEmpty && (1...13).contains(digits.count)
            && digits.allSatisfy { ("0"..."9").contains($0) || ("a"..."z").contains($0) }
    }

    /// Removes the stale temporaries of atomic writes in `folder` (not below it): regular files named
    /// `.NAME.tmp-XXXX` whose writer is gone. Nothing else is touched. Returns the names removed.
    @discardableResult
    public static func removeStaleTemporaries(in folder: URL) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        var removed: [String] = []
        for name in names.sorted() where isTemporaryName(name) {
            let path = folder.appendingPathComponent(name).path
            var info = stat()
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { continue }
            // A live writer holds the lock; only an unlocked temporary is stale.
            if flock(fd, LOCK_EX | LOCK_NB) == 0, unlink(path) == 0 { removed.append(name) }
            close(fd)
        }
        return removed
    }

    /// Checks that files can be created in `folder` (made if missing, with its parents) by creating and
    /// removing a probe file; throws a `.writeFailed` error saying why not (permission, no space, not a folder).
    public static func checkWritable(folder: URL) throws {
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw ImageError(.writeFailed, "cannot create the folder \(folder.path): \(FileErrors.reason(error, path: folder.path))")
        }
        let probe = folder.appendingPathComponent(temporaryName(for: "savl-write-probe")).path
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else {
            throw ImageError(.writeFailed, "cannot write in the folder \(folder.path): \(String(cString: strerror(errno)).lowercased())")
        }
        close(fd)
        unlink(probe)
    }
}

/// Writes `bytes` to a temporary file next to `path` (locked while it is written), then renames it over
/// `path`. On any failure the temporary file is removed and `path` is untouched.
func writeFileAtomically(_ bytes: [UInt8], to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let directory = url.deletingLastPathComponent().path
    let temporary = directory + "/" + AtomicFiles.temporaryName(for: url.lastPathComponent)
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
    guard fd >= 0 else {
        throw ImageError(.writeFailed, "cannot create a file in \(directory): \(String(cString: strerror(errno)).lowercased())")
    }
    // The lock is taken on a second open file, so that it outlives the writing descriptor until the rename.
    let lock = open(temporary, O_RDONLY | O_CLOEXEC)
    if lock >= 0 { flock(lock, LOCK_EX) }
    defer { if lock >= 0 { close(lock) } }
    var failure: String?
    bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                failure = "write failed: \(String(cString: strerror(errno)).lowercased())"
                return
            }
            offset += n
        }
    }
    if close(fd) != 0, failure == nil { failure = "write failed: \(String(cString: strerror(errno)).lowercased())" }
    if failure == nil, rename(temporary, path) != 0 {
        failure = "cannot move the new file into place: \(String(cString: strerror(errno)).lowercased())"
    }
    if let failure {
        unlink(temporary)
        throw ImageError(.writeFailed, failure)
    }
}
