import Foundation
import Imaging

/// How the ranks of an MPI job (`mpirun -np N savl upscale DIR -o OUT`) share a batch's files.
public enum UpscaleDistribution: String, CaseIterable, Sendable {
    /// Each rank takes the next file, largest first, from a queue on rank 0 whenever it is free (`WorkQueue`).
    case dynamic
    /// Dealt before any work by `UpscaleRanks.share`, alike on every rank, with no messages.
    case `static`
}

/// How `savl upscale` shares a batch among the ranks of an MPI job.
///
/// Files are taken largest first (pixels from the file's header; its size in bytes when the header
/// cannot be read). The static deal, computed alike by every rank from the same file list, gives each
/// to the rank with the least work dealt so far (longest-processing-time-first scheduling, within 4/3
/// of the best possible deal when the estimates are right); the dynamic one hands them out in the same
/// order to whichever rank is free. Each rank writes its own outputs and reports its own failures;
/// rank 0 prints the totals, and every rank exits with status 1 when a file failed on any rank.
public enum UpscaleRanks {
    /// The indices of `jobs` that `rank` of `ranks` upscales under the static deal, in the order it does them.
    public static func share(of jobs: [UpscaleJob], rank: Int, ranks: Int) -> [Int] {
        guard ranks > 1 else { return Array(jobs.indices) }
        return deal(costs: jobs.map { cost(of: $0.input) }, ranks: ranks)[rank]
    }

    /// The indices of `jobs`, largest first (ties in list order).
    public static func largestFirst(_ jobs: [UpscaleJob]) -> [Int] {
        byDecreasingCost(jobs.map { cost(of: $0.input) })
    }

    static func byDecreasingCost(_ costs: [Double]) -> [Int] {
        costs.indices.sorted { costs[$0] != costs[$1] ? costs[$0] > costs[$1] : $0 < $1 }
    }

    /// Longest-processing-time-first: indices by decreasing cost (ties by index), each to the least-loaded rank (ties to the lowest).
    static func deal(costs: [Double], ranks: Int) -> [[Int]] {
        var load = [Double](repeating: 0, count: ranks)
        var shares = [[Int]](repeating: [], count: ranks)
        for i in byDecreasingCost(costs) {
            let rank = load.indices.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 }!
            shares[rank].append(i)
            load[rank] += costs[i]
        }
        return shares
    }

    /// The work of upscaling `url`, in pixels: from a PNG, JPEG, WebP or BMP header, else the file's size in bytes
    /// (0 for a file that cannot be read; it fails quickly wherever it goes).
    static func cost(of url: URL) -> Double {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return 0 }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 1 << 16)) ?? Data())
        if let (width, height) = dimensions(head) { return Double(width) * Double(height) }
        let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
        return Double(attributes?[.size] as? Int ?? 0)
    }

    /// Width and height from the first bytes of a PNG (IHDR), JPEG (the first SOF marker), WebP or BMP file.
    static func dimensions(_ b: [UInt8]) -> (Int, Int)? {
        func be(_ at: Int, _ n: Int) -> Int? { at + n <= b.count ? b[at..<(at + n)].reduce(0) { $0 << 8 | Int($1) } : nil }
        func le(_ at: Int, _ n: Int) -> Int? { at + n <= b.count ? b[at..<(at + n)].reversed().reduce(0) { $0 << 8 | Int($1) } : nil }
        if b.starts(with: [0x89, 0x50, 0x4E, 0x47]), let w = be(16, 4), let h = be(20, 4) { return (w, h) }
        if let size = WebP.size(ofHeader: b) { return size }
        if b.starts(with: [0x42, 0x4D]), let w = le(18, 4), let h = le(22, 4) { return (w, abs(Int(Int32(truncatingIfNeeded: h)))) }
        guard b.starts(with: [0xFF, 0xD8]) else { return nil }
        var at = 2
        while at + 4 <= b.count, b[at] == 0xFF {
            let marker = b[at + 1]
            if marker == 0xFF { at += 1; continue }
            guard let length = be(at + 2, 2) else { return nil }
            if (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker) {
                guard let h = be(at + 5, 2), let w = be(at + 7, 2) else { return nil }
                return (w, h)
            }
            at += 2 + length
        }
        return nil
    }
}
