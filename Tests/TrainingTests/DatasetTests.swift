import Foundation
import Imaging
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
        #expect(skipped["broken.png"]?.contains("not a PNG or JPEG") == true, "\(skipped)")

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
        let config = try tinyConfig(photos: space.photos, steps: 10, stage1Steps: 5, degradation: .mix)
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
        let config = try tinyConfig(photos: space.photos, steps: 10, stage1Steps: 5, degradation: .heterogeneous)
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
