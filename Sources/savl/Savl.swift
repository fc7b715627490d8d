import ArgumentParser

@main
struct Savl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "savl",
        abstract: "Real-world image super-resolution with per-pixel degradation estimates (SAVL).",
        subcommands: [BenchCommand.self, DegradeCommand.self, BenchDegradationsCommand.self, BenchImagingCommand.self, EvalCommand.self, TrainCommand.self, UpscaleCommand.self, InspectCommand.self, ServeCommand.self])
}
