import ArgumentParser
import JHConfig

extension ConfigCLI.ShowFormat: ExpressibleByArgument {}

/// `jhsim config show FILE [--format text|json|yaml]`.
struct ConfigShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print a binary config as text, JSON (stable interface) or YAML source.",
        discussion: "The YAML output builds back to identical bytes with `jhsim config build`."
    )

    @Argument(help: "A binary config file, or a built-in name (see `jhsim config list`).")
    var file: String

    @Option(help: "Output format: text, json or yaml.")
    var format: ConfigCLI.ShowFormat = .text

    func run() throws { try finish(ConfigCLI.show(path: file, format: format)) }
}
