import Foundation
import SAVL
import Testing
@testable import Training

/// Loading, defaults, overrides and validation of the YAML training configuration.
@Suite struct ConfigTests {
    @Test func emptyFileGivesTheDocumentedDefaults() throws {
        let config = try TrainingConfig.load(yaml: "")
        #expect(config == TrainingConfig())
        #expect(config.model == (try SAVLConfig.preset("small", scale: 4)))
        #expect(config.optimizer.beta1 == 0.9 && config.optimizer.beta2 == 0.99 && config.optimizer.emaDecay == 0.999 && config.optimizer.emaWarmup)
        #expect(config.data.hrCropSize == 192 && config.batchSize == 16 && config.lrCropSize == 48)
    }

    @Test func keysOverrideDefaultsAndThePresetSetsTheModel() throws {
        let config = try TrainingConfig.load(yaml: """
            steps: 50
            stage1Steps: 20
            model:
              preset: tiny
              scale: 2
              latentDim: 6
            optimizer:
              learningRate: 1e-3
            data:
              folders: photos
              hrCropSize: 64
            """)
        var model = try SAVLConfig.preset("tiny", scale: 2)
        model.latentDim = 6
        #expect(config.model == model)
        #expect(config.steps == 50 && config.stage1Steps == 20)
        #expect(config.optimizer.learningRate == 1e-3)
        #expect(config.data.folders == ["photos"])
        #expect(config.stage(ofStep: 19) == 1 && config.stage(ofStep: 20) == 2)
    }

    @Test func resolvedYAMLReadsBackUnchanged() throws {
        var config = TrainingConfig()
        config.optimizer.learningRate = 3e-4
        config.data.folders = ["a b", "yes", "2020"]
        config.validation.folder = ""
        let text = try config.yaml()
        #expect(text.contains("learningRate: 0.0003"), "\(text)")
        #expect(text.hasPrefix("seed: 0\nsteps: 3600\n"), "\(text)")
        #expect(try TrainingConfig.load(yaml: text) == config)
    }

    @Test func overridesSetNestedKeysWithYAMLValues() throws {
        let config = try TrainingConfig.load(yaml: "steps: 10\nstage1Steps: 5", overrides: [
            "optimizer.learningRate=5e-4", "data.folders=[x, y]", "model.preset=tiny", "data.flips=false", "seed=7",
        ])
        #expect(config.optimizer.learningRate == 5e-4 && config.data.folders == ["x", "y"] && config.seed == 7)
        #expect(config.model.preset == "tiny" && !config.data.flips)
    }

    @Test(arguments: [
        ("stpes: 10", "stpes: unknown key (did you mean 'steps'?)"),
        ("optimizer:\n  learningrate: 1e-4", "optimizer.learningrate: unknown key (did you mean 'learningRate'?)"),
        ("model:\n  latent_dim: 8", "model.latent_dim: unknown key (did you mean 'latentDim'?)"),
        ("data:\n  zzz: 1", "data.zzz: unknown key; known keys of data: "),
    ])
    func unknownKeysAreNamed(yaml: String, message: String) throws {
        let error = try #require(throws: ConfigError.self) { try TrainingConfig.load(yaml: yaml) }
        #expect(error.message.hasPrefix(message), "\(error.message)")
    }

    /// A number key whose default is a whole number still takes a fraction (the defaults are read back from
    /// JSON, where Float 1 and Int 1 look the same), and gives a whole number to an integer key.
    @Test func fractionsOverWholeNumberDefaults() throws {
        let config = try TrainingConfig.load(yaml: "objective:\n  alpha: 0.5\n  freeBits: 0.05\nsteps: 2e3")
        #expect(config.objective.alpha == 0.5 && config.objective.freeBits == 0.05 && config.steps == 2000)
        let negative = try #require(throws: ConfigError.self) { try TrainingConfig.load(yaml: "objective:\n  freeBits: -1") }
        #expect(negative.message.hasPrefix("objective.freeBits: must be a finite number of nats >= 0"), "\(negative.message)")
    }

    @Test(arguments: [
        ("steps: many", "steps: expected an integer, got 'many'"),
        ("steps: 2.5", "steps: expected an integer, got 2.5"),
        ("data: [a]", "data: expected a mapping of"),
        ("data:\n  flips: 3", "data.flips: expected true or false, got 3"),
        ("validation:\n  degradation: jpeg", "validation.degradation: 'jpeg' is not one of bicubic, mild, realesrgan, heterogeneous"),
        ("data:\n  mix: {bicubic: 0.5}", "data.mix: shares must sum to 1, got 1.3"),
        ("data:\n  mix: {bicubic: -0.1, mild: 0.5}", "data.mix.bicubic: must be in [0, 1], got -0.1"),
        ("data:\n  mix: {blurry: 0.5}", "data.mix.blurry: unknown key"),
        ("data:\n  degradation: mix", "data.degradation: unknown key"),
        ("model:\n  code: vae", "model.code: 'vae' is not one of variational, deterministic, global, none, oracle"),
        ("model:\n  skip: lanczos", "model.skip: 'lanczos' is not one of bilinear, bicubic"),
        ("model:\n  code: oracle\n  latentDim: 4", "model.latentDim: must be at least 6 for the oracle"),
        ("model:\n  preset: huge", "model.preset: unknown preset 'huge'"),
        ("model:\n  scale: 3", "model.scale: must be 2 or 4, got 3"),
        ("optimizer:\n  learningRate: -1", "optimizer.learningRate: must be positive, got -1.0"),
        ("optimizer:\n  beta2: 1", "optimizer.beta2: must be in [0, 1), got 1.0"),
        ("data:\n  hrCropSize: 190", "data.hrCropSize: must be a multiple of the scale 4, got 190"),
        ("data:\n  hrCropSize: 16", "data.hrCropSize: must give an LR crop of at least 8 px"),
        ("data:\n  folders: []", "data.folders: needs at least one folder"),
        ("checkpoints:\n  keepLast: 0", "checkpoints.keepLast: must be at least 1, got 0"),
        ("batchSize: 0", "batchSize: must be at least 1, got 0"),
        ("stage1Steps: 0", "stage1Steps: must be at least 1 when the model has a degradation encoder"),
        ("- a\n- b", "configuration: the top level must be a mapping"),
        ("steps: [1", "configuration: not valid YAML"),
    ])
    func badValuesAreNamed(yaml: String, message: String) throws {
        let error = try #require(throws: ConfigError.self) { try TrainingConfig.load(yaml: yaml) }
        #expect(error.message.hasPrefix(message), "\(error.message)")
    }

    @Test func badOverridesAreNamed() throws {
        let noEquals = try #require(throws: ConfigError.self) { try TrainingConfig.load(yaml: "", overrides: ["steps"]) }
        #expect(noEquals.message.contains("expected key=value"))
        let typo = try #require(throws: ConfigError.self) { try TrainingConfig.load(yaml: "", overrides: ["optimiser.learningRate=1"]) }
        #expect(typo.message.hasPrefix("optimiser: unknown key (did you mean 'optimizer'?)"), "\(typo.message)")
        let notMap = try #require(throws: ConfigError.self) { try TrainingConfig.load(yaml: "", overrides: ["steps.x=1"]) }
        #expect(notMap.message == "steps: expected an integer, got a mapping (x)", "\(notMap.message)")
        let through = try #require(throws: ConfigError.self) { try TrainingConfig.load(yaml: "steps: 3", overrides: ["steps.x=1"]) }
        #expect(through.message.contains("'steps' is not a mapping"), "\(through.message)")
    }

    @Test func attentionModelsNeedCropsThatFitTheirWindows() throws {
        let error = try #require(throws: ConfigError.self) {
            try TrainingConfig.load(yaml: "model: {preset: paper}\ndata: {hrCropSize: 160}")
        }
        #expect(error.message.hasPrefix("data.hrCropSize: must give an LR crop that is a multiple of the attention window 16"))
        #expect(try TrainingConfig.load(yaml: "model: {preset: paper}").model.blockKind == .attention)
    }
}

extension ConfigTests {
    /// A configuration file that sets nothing is a mistake, not a request for the defaults.
    @Test func anEmptyConfigurationFileIsAnError() throws {
        let folder = try temporaryFolder("empty-config")
        defer { try? FileManager.default.removeItem(at: folder) }
        for (name, text) in [("empty.yml", ""), ("comments.yml", "# nothing yet\n\n"), ("braces.yml", "{}\n")] {
            let url = folder.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            let error = try #require(throws: ConfigError.self) { try TrainingConfig.load(contentsOf: url) }
            #expect(error.message.hasPrefix("\(url.path): empty configuration"), "\(error.message)")
        }
        let unreadable = try #require(throws: ConfigError.self) { try TrainingConfig.load(contentsOf: folder) }
        #expect(!unreadable.message.contains("NSCocoaErrorDomain"), "\(unreadable.message)")
    }

    /// Every folder a run reads is checked before any photo is loaded.
    @Test func missingFoldersAreFoundBeforeLoadingPhotos() throws {
        let space = try Workspace("paths", count: 2)
        defer { space.remove() }
        var config = try tinyConfig(photos: space.photos, steps: 1, stage1Steps: 1)
        config.validation.folder = space.root.appendingPathComponent("no-such-eval").path
        var messages: [String] = []
        let error = try #require(throws: DatasetError.self) {
            try Trainer(config: config, runDirectory: space.run("run"), reporter: ProgressReporter(mode: .quiet) { messages.append($0) })
        }
        #expect(error.message == "validation.folder: \(config.validation.folder): no such folder", "\(error.message)")
        #expect(messages.isEmpty, "nothing was loaded: \(messages)")
        config.validation.folder = space.photos.path
        config.data.folders = [space.photos.path, space.photos.appendingPathComponent("photo0.png").path]
        let file = try #require(throws: DatasetError.self) { try config.checkPaths() }
        #expect(file.message.hasSuffix("photo0.png: a file, not a folder"), "\(file.message)")
    }
}
