import ArgumentParser

/// `jhsim`: the command-line face of the simulator, thin over JHLab and JHConfig.
/// Subcommands mirror tools/jailhouse.c where they overlap.
@main
struct JHSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jhsim",
        abstract: "A deterministic simulator of the Jailhouse partitioning hypervisor.",
        version: "0.1.0",
        subcommands: [ConfigCommand.self]
    )
}
