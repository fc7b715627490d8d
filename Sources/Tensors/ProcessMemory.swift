import Foundation

/// This process's resident memory as the kernel counts it (`/proc/self/status`), for benchmarks'
/// memory figures; 0 where that file cannot be read.
public enum ProcessMemory {
    /// Peak resident set size in MB (VmHWM).
    public static func peakResidentMegabytes() -> Double { statusMegabytes("VmHWM:") }

    /// Current resident set size in MB (VmRSS).
    public static func residentMegabytes() -> Double { statusMegabytes("VmRSS:") }

    private static func statusMegabytes(_ field: String) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kb / 1024
    }
}
