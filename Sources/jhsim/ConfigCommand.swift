import ArgumentParser

/// `jhsim config …`: check, show, build and synthesise configuration files.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check, show, build and synthesise Jailhouse configurations."
    )
}
