// swift-tools-version:6.0
import PackageDescription

/// Hot loops are compiled for the AVX2 level (haswell); without it SIMD code becomes library calls.
let fast: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]

let package = Package(
    name: "savl",
    products: [
        .executable(name: "savl", targets: ["savl"]),
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "Layers", targets: ["Layers"]),
        .library(name: "Imaging", targets: ["Imaging"]),
        .library(name: "Degradations", targets: ["Degradations"]),
        .library(name: "Evaluation", targets: ["Evaluation"]),
        .library(name: "Collectives", targets: ["Collectives"]),
        .library(name: "Restoration", targets: ["Restoration"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        // Debian's C libraries.
        .systemLibrary(name: "CDNNL", pkgConfig: nil),
        .systemLibrary(name: "COpenBLAS"),
        .systemLibrary(name: "CPNG"),
        .systemLibrary(name: "CTurboJPEG"),
        .systemLibrary(name: "CWebP"),
        .systemLibrary(name: "CMPI"),   // Open MPI's header only: the library is loaded at run time under a launcher

        // The library, bottom to top.
        .target(name: "SeededRandom", swiftSettings: fast),
        .target(name: "FileSupport"),
        .target(name: "Collectives", dependencies: ["CMPI"]),
        .target(name: "Tensors", dependencies: ["CDNNL", "COpenBLAS", "SeededRandom"], swiftSettings: fast),
        .target(name: "Layers", dependencies: ["Tensors", "FileSupport"], swiftSettings: fast),
        .target(name: "Imaging", dependencies: ["CPNG", "CTurboJPEG", "CWebP", "SeededRandom", "FileSupport"], swiftSettings: fast),
        .target(name: "Degradations", dependencies: ["Imaging", "SeededRandom", "FileSupport"], swiftSettings: fast),
        .target(name: "Evaluation", dependencies: ["Imaging"], swiftSettings: fast),
        .target(name: "SAVL", dependencies: ["Layers"], swiftSettings: fast),
        .target(name: "Training", dependencies: ["SAVL", "Degradations", "Evaluation", "Collectives", "Yams"], swiftSettings: fast),

        // The model files of Models/, embedded in the binary.
        .target(name: "CSAVLModels", cSettings: [.headerSearchPath("../../Models")]),

        // Inference on photos: tiled upscaling, batches, model loading, the degradation field.
        .target(name: "Restoration",
                dependencies: ["SAVL", "Layers", "Tensors", "Imaging", "Degradations", "Evaluation", "FileSupport", "CSAVLModels"],
                swiftSettings: fast),

        // `savl serve`: the page, the JSON API and the job queue.
        .target(name: "WebServer", dependencies: ["Restoration", "Imaging", "Tensors", .product(name: "Hummingbird", package: "hummingbird")]),

        // The command-line tool.
        .executableTarget(
            name: "savl",
            dependencies: [
                "Tensors", "Layers", "Imaging", "Degradations", "Evaluation", "SAVL", "Training", "Collectives", "Restoration", "WebServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: fast),

        // Tests.
        .testTarget(name: "SeededRandomTests", dependencies: ["SeededRandom"]),
        .testTarget(name: "CollectivesTests", dependencies: ["Collectives"]),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "LayersTests", dependencies: ["Layers"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging"], resources: [.copy("Fixtures")]),
        .testTarget(name: "DegradationsTests", dependencies: ["Degradations"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation"]),
        .testTarget(name: "SAVLTests", dependencies: ["SAVL"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TrainingTests", dependencies: ["Training"]),
        .target(name: "TestPhotos", dependencies: ["Imaging", "SAVL", "Layers", "Tensors", "SeededRandom"], path: "Tests/TestPhotos"),
        .testTarget(name: "RestorationTests", dependencies: ["Restoration", "TestPhotos"]),
        .testTarget(name: "WebServerTests",
                    dependencies: ["WebServer", "TestPhotos", "savl", .product(name: "HummingbirdTesting", package: "hummingbird")]),
        .testTarget(name: "savlTests", dependencies: ["savl", "Restoration", "TestPhotos"]),
    ],
    swiftLanguageModes: [.v5]
)
