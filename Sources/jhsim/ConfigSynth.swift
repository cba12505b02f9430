import ArgumentParser
import JHConfig

/// `jhsim config synth --cpus N [--cells k]` — a consistent system config and k-CPU cells.
struct ConfigSynth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Generate a system config for N CPUs and as many k-CPU cell configs as fit (never CPU 0)."
    )

    @Option(help: "CPUs of the machine (1…4096).")
    var cpus: Int

    @Option(help: "CPUs per cell.")
    var cells: Int = 1

    @Option(help: "Write at most this many cell configs.")
    var maxCells: Int?

    @Flag(help: "Also write the YAML source of every config.")
    var yaml = false

    @Option(name: .shortAndLong, help: "Output directory.")
    var output: String = "."

    func run() throws {
        try finish(ConfigCLI.synth(cpus: cpus, perCell: cells, maxCells: maxCells, yaml: yaml, outputDir: output))
    }
}
