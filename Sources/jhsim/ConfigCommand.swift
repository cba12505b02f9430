import ArgumentParser
import JHConfig

#if canImport(Glibc)
import Glibc
#endif

/// `jhsim config …`: check, lint, show, build and synthesise configuration files.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check, show, build and synthesise Jailhouse configurations.",
        subcommands: [ConfigList.self, ConfigCheck.self, ConfigLint.self, ConfigShow.self, ConfigBuild.self, ConfigSynth.self]
    )
}

/// Prints a library command's output (stdout, then stderr) and exits with its code.
func finish(_ out: CommandOutput) throws {
    if !out.stdout.isEmpty { print(out.stdout, terminator: "") }
    if !out.stderr.isEmpty { FileHandleStderr.write(out.stderr) }
    if out.exitCode != 0 { throw ExitCode(out.exitCode) }
}

/// Writes to standard error without Foundation.
enum FileHandleStderr {
    static func write(_ s: String) {
        fflush(nil)
        var bytes = Array(s.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

/// `jhsim config list` — the built-in configs, usable by name wherever a file goes.
struct ConfigList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the built-in configs (kind, CPUs, size); their names work wherever a config file does."
    )

    func run() throws { try finish(ConfigCLI.list()) }
}
