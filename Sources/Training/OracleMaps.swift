import Degradations
import Foundation
import Imaging
import SAVL

/// The ground-truth degradation of a training pair as the `oracle` model reads it: `SAVLConfig.oracleChannels`
/// planes at LR resolution, each scaled to about [0, 1], all zero for a clean (bicubic) pair.
///
/// 0. first-order blur width (the `blurWidth` map) / 3 HR pixels;
/// 1. second-order noise sigma (the `noiseSigma` map) / 25;
/// 2. final JPEG severity (100 - the `jpegQuality` map) / 70;
/// 3. first-order noise strength (Gaussian sigma / 30, Poisson scale / 3), the same at every pixel;
/// 4. second-order blur width / 1.5 (0 without that blur), the same at every pixel;
/// 5. severity of the stages' own JPEG, (100 - the lower of the two qualities) / 70, the same at every pixel.
///
/// The first three are what varies over a heterogeneous image; the last three are the other steps of the
/// second-order pipeline that change the LR most, so the oracle knows what each pixel received.
public enum OracleMaps {
    /// The planes (channel-major, `channels * width * height` values) of a pair's parameters and maps.
    public static func planes(parameters p: DegradationParameters, maps: GroundTruthMaps) -> [Float] {
        let n = maps.width * maps.height
        guard p.pipeline == .secondOrder, let first = p.first, let second = p.second else {
            return [Float](repeating: 0, count: SAVLConfig.oracleChannels * n)
        }
        var out: [Float] = []
        out.reserveCapacity(SAVLConfig.oracleChannels * n)
        out += maps.blurWidth.map { $0 / 3 }
        out += maps.noiseSigma.map { $0 / 25 }
        out += maps.jpegQuality.map { (100 - $0) / 70 }
        let noise = first.noise.strength.levels.reduce(0, +) / Double(first.noise.strength.levels.count)
        let firstNoise = first.noise.kind == .gaussian ? noise / 30 : noise / 3
        let secondBlur = second.blur.map { $0.levels.map { BlurKernel($0).width }.reduce(0, +) / Double($0.levels.count) / 1.5 } ?? 0
        let stageJPEG = Double(100 - min(first.jpegQuality, second.jpegQuality)) / 70
        for value in [firstNoise, secondBlur, stageJPEG] { out += [Float](repeating: Float(value), count: n) }
        return out
    }

    /// The planes of a clean (bicubic) LR image of `width` x `height`: all zero.
    public static func clean(width: Int, height: Int) -> Image {
        Image(width: width, height: height, channels: SAVLConfig.oracleChannels, value: 0)
    }

    /// The planes of an LR image of a test set written by `savl degrade --test-set`: its record
    /// `params/<stem>.json` beside the `LR` folder, and the 16-bit maps the record names in `maps/`.
    public static func planes(recordOf lrFile: URL, width: Int, height: Int) throws -> Image {
        let root = lrFile.deletingLastPathComponent().deletingLastPathComponent()
        let stem = lrFile.deletingPathExtension().lastPathComponent
        let recordURL = root.appendingPathComponent("params").appendingPathComponent("\(stem).json")
        let record: DegradationRecord
        do {
            record = try JSONDecoder().decode(DegradationRecord.self, from: Data(contentsOf: recordURL))
        } catch {
            throw TrainingError("\(recordURL.path): no degradation record for \(lrFile.lastPathComponent) (\(error.localizedDescription)); an oracle reads the maps of a test set written by savl degrade --test-set")
        }
        guard let files = record.maps else { throw TrainingError("\(recordURL.path) names no maps") }
        var maps = GroundTruthMaps(width: width, height: height)
        for kind in [GroundTruthMaps.Kind.blurWidth, .noiseSigma, .jpegQuality] {
            guard let entry = files[kind.rawValue] else { throw TrainingError("\(recordURL.path) names no \(kind.rawValue) map") }
            let url = root.appendingPathComponent("maps").appendingPathComponent(entry.file)
            let image = try readImage(at: url)
            guard image.width == width, image.height == height, image.channels == 1 else {
                throw TrainingError("\(url.path) is \(image.width)x\(image.height) with \(image.channels) channels; the LR image is \(width)x\(height), one channel expected")
            }
            maps[kind] = GroundTruthMaps.values(of: image, kind: kind)
        }
        return Image(width: width, height: height, channels: SAVLConfig.oracleChannels, planes: planes(parameters: record.parameters, maps: maps))
    }
}
