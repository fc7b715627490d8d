import Foundation

/// How one axis of an image is cut into overlapping tiles, and how the tiles' outputs are blended.
///
/// Tiles are placed evenly so that neighbours overlap by at least `overlap` input pixels. Each tile's
/// blend weight along the axis is zero for the `margin` pixels next to an inner edge (where its output
/// is wrong: the network saw padding there, not the neighbour's pixels), then ramps linearly up to one
/// over `feather` pixels. The weights are normalised so that at every position the tiles' weights sum
/// to exactly one: no weight buffer is needed and a flat image stays flat.
public struct TileAxis: Equatable, Sendable {
    /// Length of the axis in input pixels.
    public let length: Int
    /// Input-pixel extent of each tile.
    public let extents: [Range<Int>]
    /// Pixels at each inner edge with weight zero.
    public let margin: Int
    /// Pixels over which the weight rises from zero to one.
    public let feather: Int
    /// For each tile, the input pixels it alone accounts for in image-wide statistics (a partition of the axis).
    public let owned: [Range<Int>]

    /// Plans an axis of `length` pixels in tiles of `tile` pixels (0: one tile) overlapping by `overlap`,
    /// starting at multiples of `alignment`; `radius` is the network's receptive radius.
    public init(length: Int, tile: Int, overlap: Int, radius: Int, alignment: Int = 1) {
        precondition(length > 0 && tile >= 0 && overlap >= 0 && alignment >= 1)
        self.length = length
        if tile == 0 || length <= tile {
            extents = [0..<length]
        } else {
            // Aligning a start down moves it by up to alignment - 1, so the step leaves room for that.
            let step = max(1, tile - overlap - (alignment - 1))
            let count = (length - tile + step - 1) / step + 1
            // The fewest tiles of at most `tile` pixels, then as small as they can be: less overlap than spreading them.
            let needed = (length + (count - 1) * (overlap + alignment - 1) + count - 1) / count
            let tile = min(tile, (needed + alignment - 1) / alignment * alignment)
            var starts: [Int] = []
            for i in 0..<count {
                let start = Int((Double(i) * Double(length - tile) / Double(count - 1)).rounded()) / alignment * alignment
                if starts.last != start { starts.append(start) }
            }
            extents = starts.indices.map { i in starts[i]..<(i == starts.count - 1 ? length : starts[i] + tile) }
        }
        let fullFeather = min(overlap, 16)
        margin = max(0, min(radius, (overlap - fullFeather) / 2))
        feather = max(1, overlap - 2 * margin)
        var owned: [Range<Int>] = []
        for i in extents.indices {
            let lower = i == 0 ? 0 : (extents[i].lowerBound + extents[i - 1].upperBound) / 2
            let upper = i == extents.count - 1 ? length : (extents[i + 1].lowerBound + extents[i].upperBound) / 2
            owned.append(lower..<upper)
        }
        self.owned = owned
    }

    /// Whether every position with a non-zero weight is at least `radius` pixels from the tile's inner edges,
    /// so that the blend of tiles equals the network's output on the whole image (up to rounding).
    public func isExact(radius: Int) -> Bool {
        extents.count == 1 || (margin >= radius && zip(extents, extents.dropFirst()).allSatisfy { $0.upperBound - $1.lowerBound >= 2 * margin + 1 })
    }

    /// The normalised weights of every tile at output resolution (`scale` output pixels per input pixel):
    /// `weights[i][k]` is the weight of tile i at output position `extents[i].lowerBound * scale + k`.
    public func weights(scale: Int) -> [[Float]] {
        let raw = extents.indices.map { i -> [Double] in
            let e = extents[i]
            let first = i == 0, last = i == extents.count - 1
            return (0..<(e.count * scale)).map { k in
                let distance = Double(min(first ? Int.max : k, last ? Int.max : e.count * scale - 1 - k))
                let ramp = (distance - Double(margin * scale) + 1) / Double(feather * scale)
                return min(1, max(0, ramp))
            }
        }
        var total = [Double](repeating: 0, count: length * scale)
        for (i, e) in extents.enumerated() {
            for (k, w) in raw[i].enumerated() { total[e.lowerBound * scale + k] += w }
        }
        return extents.indices.map { i in
            raw[i].enumerated().map { k, w in Float(w / total[extents[i].lowerBound * scale + k]) }
        }
    }
}

/// The tiles of a whole image: rows by columns of `TileAxis`.
public struct TilePlan: Equatable, Sendable {
    /// How the rows are cut.
    public let rows: TileAxis
    /// How the columns are cut.
    public let columns: TileAxis
    /// Tile side asked for (0: the whole image in one tile).
    public let tile: Int
    /// Overlap between neighbouring tiles, in input pixels.
    public let overlap: Int
    /// The network's receptive radius in input pixels.
    public let radius: Int

    /// Plans tiles of `tile` pixels (0: one tile) overlapping by `overlap`, starting at multiples of `alignment`.
    public init(width: Int, height: Int, tile: Int, overlap: Int, radius: Int, alignment: Int = 1) {
        rows = TileAxis(length: height, tile: tile, overlap: overlap, radius: radius, alignment: alignment)
        columns = TileAxis(length: width, tile: tile, overlap: overlap, radius: radius, alignment: alignment)
        self.tile = tile
        self.overlap = overlap
        self.radius = radius
    }

    /// The number of tiles.
    public var count: Int { rows.extents.count * columns.extents.count }

    /// The tiles, row of tiles by row of tiles, top to bottom and left to right.
    public var tiles: [Tile] {
        rows.extents.indices.flatMap { i in
            columns.extents.indices.map { j in
                Tile(row: i, column: j, rows: rows.extents[i], columns: columns.extents[j],
                     ownedRows: rows.owned[i], ownedColumns: columns.owned[j], endsRow: j == columns.extents.count - 1)
            }
        }
    }

    /// Whether the blended output equals the whole-image output up to rounding.
    public var isExact: Bool { rows.isExact(radius: radius) && columns.isExact(radius: radius) }

    /// The largest tile, in input pixels.
    public var largestTile: (width: Int, height: Int) {
        (columns.extents.map(\.count).max() ?? 0, rows.extents.map(\.count).max() ?? 0)
    }

    /// Sum of the tiles' areas over the image's area: the compute overhead of tiling.
    public var overhead: Double {
        let area = Double(rows.length * columns.length)
        return Double(rows.extents.map(\.count).reduce(0, +) * columns.extents.map(\.count).reduce(0, +)) / area
    }

    /// One line about the plan, e.g. `3x2 tiles of up to 384x384, overlap 48 (exact)`.
    public var summary: String {
        if count == 1 { return "1 tile (\(columns.length)x\(rows.length))" }
        let largest = largestTile
        return "\(columns.extents.count)x\(rows.extents.count) tiles of up to \(largest.width)x\(largest.height), overlap \(overlap) "
            + (isExact ? "(exact)" : "(feathered; exact needs \(2 * radius + 16))")
    }
}

/// One tile of a `TilePlan`: where it lies, and the pixels it alone accounts for in image-wide statistics.
public struct Tile: Equatable, Sendable {
    /// Its row and column in the plan.
    public let row: Int, column: Int
    /// The input pixels it covers.
    public let rows: Range<Int>, columns: Range<Int>
    /// The input pixels it owns (the tiles' owned pixels partition the image).
    public let ownedRows: Range<Int>, ownedColumns: Range<Int>
    /// Whether it is the last tile of its row of tiles.
    public let endsRow: Bool
}

/// The compute cost of small tiles. Neighbouring tiles overlap, so each tile's core is its side less the
/// overlap: tiles of side N overlapping by O cost about (N / (N - O))² the compute of one whole-image pass
/// (32-pixel tiles with an overlap of 32 would cost hundreds of times). Tiling is kept within `maxOverhead`.
public enum TileCost {
    /// The most compute tiling may add: the tiles' total area over the image's.
    public static let maxOverhead = 2.0

    /// The compute factor of tiles of side `tile` overlapping by `overlap`, starts on an `alignment` grid,
    /// on a large image (on a small one the factor is at most this).
    public static func overhead(tile: Int, overlap: Int, alignment: Int = 1) -> Double {
        let step = tile - overlap - (alignment - 1)
        guard tile > 0 else { return 1 }
        guard step > 0 else { return .infinity }
        return pow(Double(tile) / Double(step), 2)
    }

    /// The smallest tile side (a multiple of `alignment`) whose overlap `overlap` stays within `maxOverhead`.
    public static func smallestTile(overlap: Int, alignment: Int = 1) -> Int {
        var tile = max(alignment, overlap + 1)
        while overhead(tile: tile, overlap: overlap, alignment: alignment) > maxOverhead { tile += 1 }
        return (tile + alignment - 1) / alignment * alignment
    }
}
