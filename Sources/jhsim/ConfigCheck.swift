import ArgumentParser
import JHConfig

/// `jhsim config check FILE…` — the offline validator (cf. tools/jailhouse-config-check).
struct ConfigCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate binary configs; a system config plus cells are also checked together.",
        discussion: "Exit status 0 when no file has an error (warnings do not fail), 1 otherwise."
    )

    @Argument(help: "Config files (.cell) or built-in names: one system config and any number of cell configs.")
    var files: [String]

    @Flag(help: "Print findings as a JSON array of {file, severity, struct, field, offset, message}.")
    var json = false

    func run() throws { try finish(ConfigCLI.check(paths: files, json: json)) }
}
