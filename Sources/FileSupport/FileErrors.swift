import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Plain words for file-system failures, instead of Foundation's "NSCocoaErrorDomain error 512".
///
/// ```swift
/// do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
/// catch { print("cannot create \(url.path): \(FileErrors.reason(error, path: url.path))") }
/// // cannot create out/a: out is a file, not a folder
/// ```
public enum FileErrors {
    /// Why an operation on `path` failed, in a few words: "permission denied", "no space left on the
    /// device", "out is a file, not a folder", "no such file or folder", ... Foundation's generic codes
    /// (512, 256) are resolved by looking at the path itself.
    public static func reason(_ error: Error, path: String) -> String {
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return describe(errno: Int32(ns.code), path: path) }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return describe(errno: Int32(underlying.code), path: path)
        }
        if ns.domain == NSCocoaErrorDomain {
            switch CocoaError.Code(rawValue: ns.code) {
            case .fileReadNoPermission, .fileWriteNoPermission: return "permission denied"
            case .fileWriteOutOfSpace: return "no space left on the device"
            case .fileNoSuchFile, .fileReadNoSuchFile: return diagnose(path) ?? "no such file or folder"
            case .fileWriteVolumeReadOnly: return "read-only file system"
            case .fileWriteFileExists:
                var info = stat()
                let isFile = stat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFDIR
                return isFile ? "\(path) is a file, not a folder" : "something of that name exists already"
            case .fileReadCorruptFile, .fileReadInapplicableStringEncoding: return "not readable as text (wrong encoding?)"
            default: return diagnose(path) ?? "the operation failed"
            }
        }
        return diagnose(path) ?? "\(error)"
    }

    /// The C library's error `code` in words; ENOTDIR names the path component that is not a folder.
    public static func describe(errno code: Int32, path: String) -> String {
        switch code {
        case EACCES, EPERM: return "permission denied"
        case ENOSPC, EDQUOT: return "no space left on the device"
        case ENOTDIR: return diagnose(path) ?? "a part of the path is not a folder"
        case ENOENT: return "no such file or folder"
        case EROFS: return "read-only file system"
        case EISDIR: return "is a folder, not a file"
        default: return String(cString: strerror(code)).lowercased()
        }
    }

    /// What is wrong with `path`, found by looking at it: a component that is a file rather than a
    /// folder, a missing file, a folder that cannot be written, a full disk; nil when nothing is found.
    public static func diagnose(_ path: String) -> String? {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        var ancestors: [URL] = []
        var current = url
        while current.path != "/" {
            current = current.deletingLastPathComponent()
            ancestors.append(current)
        }
        // The nearest existing ancestor decides: a file where a folder should be, or a folder we may not write.
        for ancestor in ancestors {
            var info = stat()
            guard stat(ancestor.path, &info) == 0 else { continue }
            if (info.st_mode & S_IFMT) != S_IFDIR { return "\(ancestor.path) is a file, not a folder" }
            if access(ancestor.path, W_OK | X_OK) != 0, access(url.path, F_OK) != 0 { return "permission denied (in \(ancestor.path))" }
            var fs = statvfs()
            if statvfs(ancestor.path, &fs) == 0, fs.f_bavail == 0 { return "no space left on the device" }
            break
        }
        var info = stat()
        if stat(url.path, &info) != 0 { return errno == ENOENT ? "no such file or folder" : nil }
        if access(url.path, R_OK) != 0 { return "permission denied" }
        if (info.st_mode & S_IFMT) == S_IFDIR { return "\(path) is a folder, not a file" }
        return nil
    }
}
