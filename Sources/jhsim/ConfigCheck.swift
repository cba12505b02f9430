import ArgumentParser
import JHConfig

/// `jhsim config check SYSCONFIG [CELLCONFIG…]` — upstream's `jailhouse config check`
/// (tools/jailhouse-config-check): the same report and exit codes (`ConfigCheckReport`).
struct ConfigCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a system config and its cell configs as upstream's `jailhouse config check` does.",
        discussion: """
            Prints upstream's fixed report: memory regions overlapping inside a cell or with the \
            hypervisor memory, and regions that leave PCI MMCONFIG, an IOMMU unit, the xAPIC or an \
            IOAPIC (x86; GIC on ARM) unintercepted. Exit status 0 when nothing is found, 1 on a \
            finding or a config upstream's parser rejects, 2 on argument errors. jhsim's stricter \
            checks (driver rules, RAM and CPU shared between cells) are `jhsim config lint`.
            """
    )

    @Argument(help: ArgumentHelp("The system config first, then any number of cell configs (files or built-in names).",
                                 valueName: "SYSCONFIG [CELLCONFIG ...]"))
    var files: [String] = []

    func run() throws { try finish(ConfigCheckReport.run(arguments: files)) }
}

/// `jhsim config lint FILE…` — jhsim's own validator (`ConfigChecker`): everything the
/// driver and hypervisor would refuse, plus what they accept but should not (RAM or CPUs
/// shared between cells, quirk 8).
struct ConfigLint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lint",
        abstract: "jhsim's stricter validator: driver rules per file, RAM and CPU sharing between cells.",
        discussion: "Exit status 0 when no file has an error (warnings do not fail), 1 otherwise."
    )

    @Argument(help: "Config files (.cell) or built-in names: one system config and any number of cell configs.")
    var files: [String]

    @Flag(help: "Print findings as a JSON array of {file, severity, struct, field, offset, message}.")
    var json = false

    func run() throws { try finish(ConfigCLI.lint(paths: files, json: json)) }
}
