import ArgumentParser
import JHConfig

/// `jhsim config build SOURCE -o FILE` — compiles YAML or JSON source (Docs/config-format.md).
struct ConfigBuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Compile a YAML or JSON config source into the revision-14 binary."
    )

    @Argument(help: "The YAML or JSON source.")
    var source: String

    @Option(name: .shortAndLong, help: "Output file (written atomically).")
    var output: String

    @Flag(help: "Write the file even when the checker finds errors (for test fixtures).")
    var force = false

    func run() throws { try finish(ConfigCLI.build(source: source, output: output, force: force)) }
}
