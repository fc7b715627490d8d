import Degradations
import Foundation
import Imaging
import SAVL
import SeededRandom
import Testing
@testable import Training

@Suite struct DatasetTests {
    @Test func photosAreFoundRecursivelyInPathOrder() throws {
        let folder = try temporaryFolder("files")
        defer { try? FileManager.default.removeItem(at: folder) }
        let nested = folder.appendingPathComponent("b/deeper")
        try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: true)
        for path in ["z.png", "a.JPG", "b/deeper/c.jpeg", "b/x.png", ".hidden.png", "notes.txt"] {
            try Data([0]).write(to: folder.appendingPathComponent(path))
        }
        let files = try PhotoDataset.imageFiles(in: [folder]).map { String($0.path.dropFirst(folder.path.count + 1)) }
        #expect(files == ["a.JPG", "b/deeper/c.jpeg", "b/x.png", "z.png"])
        let error = try #require(throws: DatasetError.self) { try PhotoDataset.imageFiles(in: [folder.appendingPathComponent("none")]) }
        #expect(error.message.hasSuffix("none: no such folder"))
    }

    @Test func grayPhotosBecomeRGBAndUnusablePhotosAreListed() throws {
        let folder = try temporaryFolder("photos")
        defer { try? FileManager.default.removeItem(at: folder) }
        let gray = syntheticPhoto(width: 40, height: 36, variant: 1, channels: 1)
        try writeImage(gray, to: folder.appendingPathComponent("gray.png"))
        try writeImage(syntheticPhoto(width: 20, height: 60, variant: 2), to: folder.appendingPathComponent("narrow.png"))
        try Data("not an image".utf8).write(to: folder.appendingPathComponent("broken.png"))
        try writeImage(syntheticPhoto(width: 80, height: 72, variant: 3), to: folder.appendingPathComponent("photo.jpg"), quality: 95)

        let photos = try PhotoDataset(folders: [folder], jpegDownscale: 2, minimumSide: 32)
        #expect(photos.photos.map { URL(fileURLWithPath: $0.path).lastPathComponent } == ["gray.png", "photo.jpg"])
        #expect(photos.photos[1].width == 40 && photos.photos[1].height == 36, "the JPEG is shrunk by 2")
        let crop = photos.crop(0, x: 3, y: 2, size: 32)
        #expect(crop.channels == 3 && crop.width == 32)
        #expect(crop.planes[0] == gray.planes[2 * 40 + 3] && crop.planes[32 * 32] == crop.planes[0] && crop.planes[2 * 32 * 32] == crop.planes[0])
        let skipped = Dictionary(uniqueKeysWithValues: photos.skipped.map { (URL(fileURLWithPath: $0.path).lastPathComponent, $0.reason) })
        #expect(skipped["narrow.png"] == "20x60 is smaller than the 32 px crop")
        #expect(skipped["broken.png"]?.contains("not a PNG, JPEG, WebP or BMP") == true, "\(skipped)")

        let none = try #require(throws: DatasetError.self) { try PhotoDataset(folders: [folder], minimumSide: 100) }
        #expect(none.message.contains("no usable photo") && none.message.contains("smaller than the 100 px crop"))
    }

    @Test func symmetriesAreTheEightOfTheSquare() {
        let image = Image(width: 3, height: 3, channels: 1, planes: (0..<9).map(Float.init))
        let all = (0..<4).flatMap { turns in [false, true].map { SquareSymmetry(quarterTurns: turns, mirrored: $0).apply(image).planes } }
        #expect(Set(all.map { $0.map(Int.init) }).count == 8)
        // A quarter turn counter-clockwise: the top row becomes the left column, read upwards.
        #expect(SquareSymmetry(quarterTurns: 1, mirrored: false).apply(image).planes == [2, 5, 8, 1, 4, 7, 0, 3, 6])
        #expect(SquareSymmetry(quarterTurns: 0, mirrored: true).apply(image).planes == [2, 1, 0, 5, 4, 3, 8, 7, 6])
        var turned = image
        for _ in 0..<4 { turned = SquareSymmetry(quarterTurns: 1, mirrored: false).apply(turned) }
        #expect(turned == image)
    }

    /// Batch k is a function of (seed, k) alone: built twice, by another builder, or by the prefetcher from any start.
    @Test func batchesDependOnlyOnSeedAndStep() throws {
        let space = try Workspace("batches", count: 3)
        defer { space.remove() }
        let config = try tinyConfig(photos: space.photos, steps: 10, stage1Steps: 5, mix: DegradationMix())
        let photos = try PhotoDataset(folders: [space.photos], minimumSide: config.data.hrCropSize)
        let builder = try BatchBuilder(photos: photos, config: config)
        let batch = try builder.batch(step: 3)
        #expect(batch.lr.shape == [2, 3, 8, 8] && batch.hr.shape == [2, 3, 32, 32] && batch.content.shape == [2, 3, 8, 8])
        let again = try BatchBuilder(photos: photos, config: config).batch(step: 3)
        #expect(again.lr.values == batch.lr.values && again.hr.values == batch.hr.values && again.content.values == batch.content.values)
        #expect(try builder.batch(step: 4).hr.values != batch.hr.values)
        var reseeded = config
        reseeded.seed = 1
        #expect(try BatchBuilder(photos: photos, config: reseeded).batch(step: 3).hr.values != batch.hr.values)

        let prefetcher = BatchPrefetcher(builder: builder, steps: 2..<5, capacity: 2)
        let fetched = try (2..<5).map { _ in try prefetcher.next() }
        #expect(fetched.map(\.step) == [2, 3, 4])
        #expect(fetched[1].lr.values == batch.lr.values)
        let beyond = try #require(throws: DatasetError.self) { try prefetcher.next() }
        #expect(beyond.message.contains("no batch for step 5"))
    }

    /// The content z is the MATLAB-bicubic downscale of the HR crop; the LR is on the 8-bit grid.
    @Test func pairsHoldTheContentOfTheirHRCrop() throws {
        let space = try Workspace("pairs", count: 2)
        defer { space.remove() }
        let config = try tinyConfig(photos: space.photos, steps: 10, stage1Steps: 5, mix: .only(.heterogeneous))
        let builder = try BatchBuilder(photos: PhotoDataset(folders: [space.photos], minimumSide: 32), config: config)
        let batch = try builder.batch(step: 0)
        let side = 32 * 32 * 3
        let hr = Image(width: 32, height: 32, channels: 3, planes: Array(batch.hr.values[side..<(2 * side)]))
        let content = resize(hr, width: 8, height: 8, method: .matlabBicubic)
        #expect(Array(batch.content.values[(8 * 8 * 3)..<(2 * 8 * 8 * 3)]) == content.planes)
        #expect(batch.lr.values.allSatisfy { abs(($0 * 255).rounded() - $0 * 255) < 1e-3 && (0...1).contains($0) })
        #expect(batch.lr.values != batch.content.values, "the LR is degraded, not the clean downscale")
    }
}

/// The degradation mix, cross-content partners and the oracle's maps.
@Suite struct PairRecipeTests {
    @Test func mixDrawsEachPresetInItsShare() {
        let mix = DegradationMix(bicubic: 0.2, mild: 0, realesrgan: 0.3, heterogeneous: 0.5)
        #expect(mix.preset(at: 0) == .bicubic && mix.preset(at: 0.1999) == .bicubic)
        #expect(mix.preset(at: 0.2) == .realesrgan && mix.preset(at: 0.4999) == .realesrgan)
        #expect(mix.preset(at: 0.5) == .heterogeneous && mix.preset(at: 0.999999) == .heterogeneous)
        #expect(DegradationMix.only(.mild).preset(at: 0.7) == .mild)
        #expect(DegradationMix().shares.map(\.1) == [0.2, 0.2, 0.3, 0.3])
    }

    /// Clean pairs are the bicubic downscale on the 8-bit grid, and their oracle maps are zero.
    @Test func cleanPairsAreClean() throws {
        let space = try Workspace("clean", count: 2)
        defer { space.remove() }
        var config = try tinyConfig(photos: space.photos, steps: 10, stage1Steps: 5, mix: .only(.bicubic))
        config.model.code = .oracle
        config.model.latentDim = 6
        let builder = try BatchBuilder(photos: PhotoDataset(folders: [space.photos], minimumSide: 32), config: config)
        let batch = try builder.batch(step: 1)
        #expect(batch.lr.values == batch.content.values.map { ($0 * 255).rounded() / 255 })
        #expect(batch.maps?.shape == [2, 6, 8, 8] && batch.maps?.values.allSatisfy { $0 == 0 } == true)
        #expect(batch.partner == nil)
    }

    /// Crop B is another crop with the same degradation and other noise; it exists only in stage 1 of a
    /// model with a decoder, and A's pairs are the same with or without it.
    @Test func partnersShareTheDegradationInStageOne() throws {
        let space = try Workspace("partners", count: 3)
        defer { space.remove() }
        var config = try tinyConfig(photos: space.photos, steps: 10, stage1Steps: 5, mix: .only(.realesrgan))
        let photos = try PhotoDataset(folders: [space.photos], minimumSide: 32)
        let plain = try BatchBuilder(photos: photos, config: config).batch(step: 2)
        config.objective.crossContent = true
        let builder = try BatchBuilder(photos: photos, config: config)
        let batch = try builder.batch(step: 2)
        #expect(batch.lr.values == plain.lr.values && batch.hr.values == plain.hr.values)
        let partner = try #require(batch.partner)
        #expect(partner.lr.shape == batch.lr.shape && partner.content.shape == batch.content.shape)
        #expect(partner.content.values != batch.content.values && partner.lr.values != batch.lr.values)
        #expect(try builder.batch(step: 7).partner == nil, "stage 2 needs no partner")
        config.model.code = .none
        #expect(try BatchBuilder(photos: photos, config: config).batch(step: 2).partner == nil, "no decoder, no partner")

        let pair = try builder.pair(using: SeededGenerator(seed: 5), partner: true)
        let again = try builder.pair(using: SeededGenerator(seed: 5), partner: true)
        #expect(pair.parameters.pipeline == .secondOrder && again.partner?.lr.planes == pair.partner?.lr.planes)
    }

    /// The oracle's planes: the three maps scaled, then the per-image parameters, constant over the image.
    @Test func oracleMapsFollowTheParameters() throws {
        let sampler = try DegradationSampler(config: .preset(.heterogeneous))
        var rng = SeededGenerator(seed: 3)
        let hr = syntheticPhoto(width: 64, height: 64, variant: 1)
        let (p, result) = try sampler.degrade(hr, scale: 4, using: &rng)
        let planes = OracleMaps.planes(parameters: p, maps: result.maps)
        let n = 16 * 16
        #expect(planes.count == SAVLConfig.oracleChannels * n)
        #expect(Array(planes[0..<n]) == result.maps.blurWidth.map { $0 / 3 })
        #expect(Array(planes[n..<(2 * n)]) == result.maps.noiseSigma.map { $0 / 25 })
        #expect(Array(planes[(2 * n)..<(3 * n)]) == result.maps.jpegQuality.map { (100 - $0) / 70 })
        for c in 3..<6 { #expect(Set(planes[(c * n)..<((c + 1) * n)]).count == 1) }
        let jpeg = Float(100 - min(p.first!.jpegQuality, p.second!.jpegQuality)) / 70
        #expect(planes[5 * n] == jpeg)
        #expect(planes.allSatisfy { $0 >= 0 && $0 <= 2 })
    }

    /// JPEG photos are shrunk by `jpegDownscale`, or by less to keep the crop: a 481x321 photo (BSDS500)
    /// becomes 288x192 for a 192 px crop, and 240x160 for a 160 px crop.
    @Test func jpegShrinkKeepsTheCrop() throws {
        let folder = try temporaryFolder("shrink")
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeImage(syntheticPhoto(width: 481, height: 321, variant: 0), to: folder.appendingPathComponent("bsds.jpg"))
        let kept = try PhotoDataset(folders: [folder], jpegDownscale: 2, minimumSide: 192)
        #expect(kept.photos.map { [$0.width, $0.height] } == [[288, 192]])
        let halved = try PhotoDataset(folders: [folder], jpegDownscale: 2, minimumSide: 160)
        #expect(halved.photos.map { [$0.width, $0.height] } == [[240, 160]])
        #expect(throws: DatasetError.self) { try PhotoDataset(folders: [folder], jpegDownscale: 2, minimumSide: 400) }
    }
}
