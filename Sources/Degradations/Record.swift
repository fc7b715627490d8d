import Foundation

/// What `savl degrade` writes beside each LR image: where it came from, the seeds, every parameter,
/// and the ground-truth map files with the value ranges their 16-bit pixels span.
public struct DegradationRecord: Codable, Equatable, Sendable {
    /// One ground-truth map file.
    public struct MapFile: Codable, Equatable, Sendable {
        /// File name, relative to the record.
        public var file: String
        /// The values that 16-bit pixel 0 and 65535 stand for.
        public var range: [Double]
        /// What the values are.
        public var meaning: String

        /// The entry for one map file.
        public init(file: String, kind: GroundTruthMaps.Kind) {
            self.file = file
            self.range = [kind.range.lowerBound, kind.range.upperBound]
            self.meaning = kind.meaning
        }
    }

    /// The HR crop that was degraded, in source pixels.
    public struct Crop: Codable, Equatable, Sendable {
        /// Left, top, width and height.
        public var x: Int, y: Int, width: Int, height: Int
        /// Creates a crop.
        public init(x: Int, y: Int, width: Int, height: Int) {
            self.x = x
            self.y = y
            self.width = width
            self.height = height
        }
    }

    /// Format version of this record.
    public var version = 1
    /// Source file name.
    public var source: String
    /// Preset name, or "config" when a configuration file was given.
    public var preset: String
    /// The seed given on the command line.
    public var seed: UInt64
    /// The seed this image was degraded with (`TestSet.imageSeed(setSeed:fileName:)`).
    public var imageSeed: UInt64
    /// The HR region that was degraded (the whole image when no crop was asked for).
    public var crop: Crop
    /// The LR file name.
    public var lr: String
    /// Everything that was applied.
    public var parameters: DegradationParameters
    /// Ground-truth maps by kind (`blurWidth`, `noiseSigma`, `jpegQuality`, `affected`), when written.
    public var maps: [String: MapFile]?

    /// Creates a record.
    public init(source: String, preset: String, seed: UInt64, imageSeed: UInt64, crop: Crop, lr: String,
                parameters: DegradationParameters, maps: [String: MapFile]?) {
        self.source = source
        self.preset = preset
        self.seed = seed
        self.imageSeed = imageSeed
        self.crop = crop
        self.lr = lr
        self.parameters = parameters
        self.maps = maps
    }

    /// Pretty JSON with sorted keys, so equal records are equal bytes.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

/// Naming and seeding of fixed test sets (`Set14-hetero-x4`), so everyone evaluates on the same inputs.
public enum TestSet {
    /// The default name of a set built from `folder` with `preset` at `scale`: `Set14-hetero-x4`.
    public static func name(folder: String, preset: String, scale: Int) -> String {
        "\(folder)-\(preset)-x\(scale)"
    }

    /// The seed for one image: the set seed mixed with a 64-bit FNV-1a hash of its file name, through
    /// SplitMix64, so adding or removing other images changes nothing for this one.
    public static func imageSeed(setSeed: UInt64, fileName: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in fileName.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        var z = setSeed &+ hash &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
