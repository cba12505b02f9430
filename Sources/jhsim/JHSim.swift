import ArgumentParser
import Foundation
import JHDriver
import JHFaults
import JHLab

/// `jhsim`: the command-line face of the simulator, thin over JHLab and JHConfig.
/// Subcommands mirror tools/jailhouse.c where they overlap.
@main
struct JHSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jhsim",
        abstract: "A deterministic simulator of the Jailhouse partitioning hypervisor.",
        discussion: """
        Commands that overlap with the real `jailhouse` tool take the same arguments and \
        print the same output and errors. Every machine command accepts --lab DIR and \
        --fault RULE (repeatable). Run `jhsim demo` for a guided tour.
        """,
        version: "jhsim \(JHSimVersion.string) (simulating Jailhouse e57d1eff)",
        subcommands: [
            LabCmd.self, EnableCmd.self, DisableCmd.self, ConsoleCmd.self, CellCmd.self,
            CPUCmd.self, CPUsCmd.self, InmateCmd.self, TraceCmd.self, DrawCmd.self, RunCmd.self,
            DemoCmd.self, FaultsCmd.self, QuirksCmd.self, ConfigCommand.self,
        ]
    )

    /// Lets `--lab DIR`, `--fault RULE` and `--caps TEXT` also come before the command name
    /// (`jhsim --lab /tmp/l cell list`): they are moved behind it, where JHLab reads them.
    static func main() {
        // jhsim simulates privileged operations and needs no privilege of its own: drop
        // every capability before any other thread exists, so all threads inherit none.
        let held = HostPrivileges.dropAll()
        if ProcessInfo.processInfo.environment["JHSIM_DEBUG"] != nil {
            let now = HostPrivileges.current()
            let line = held.map { "jhsim: debug: dropped every capability (held before: \($0); now: \(now))\n" }
                ?? "jhsim: debug: could not drop capabilities (now: \(now))\n"
            FileHandle.standardError.write(Data(line.utf8))
        }
        var args = Array(CommandLine.arguments.dropFirst())
        var moved: [String] = []
        while let first = args.first {
            if first.hasPrefix("--lab=") || first.hasPrefix("--fault=") || first.hasPrefix("--caps=") {
                moved.append(first)
                args.removeFirst()
            } else if first == "--lab" || first == "--fault" || first == "--caps", args.count >= 2 {
                moved += args.prefix(2)
                args.removeFirst(2)
            } else {
                break
            }
        }
        if !moved.isEmpty, !args.isEmpty {
            args.insert(contentsOf: moved, at: 1)
        } else {
            args = moved + args
        }
        main(args)
    }
}

/// Runs a learner-facing command through JHLab's runner and exits with its status.
func forward(_ argv: [String]) throws {
    let env = ProcessInfo.processInfo
    let runner = LabCommandRunner(
        factory: .standard,
        environment: LabEnvironment(currentDirectory: FileManager.default.currentDirectoryPath,
                                    variables: env.environment,
                                    stderrIsTerminal: isatty(2) == 1))
        // `faults sweep|campaign|shrink|run` live in JHFaults, above JHLab: plug them in.
        // `--jsonl` lines reach standard output as each run finishes, not at the end.
        // $JHSIM_WORKER replaces this jhsim as the child of --isolate and --jobs (a wrapper
        // such as `nice`, or a test's stand-in that dies like a trapping worker).
        .withFaultTools(executable: env.environment["JHSIM_WORKER"] ?? Bundle.main.executablePath,
                        standardOutput: { FileHandle.standardOutput.write(Data($0.utf8)) })
    let result = runner.run(argv) { line in
        FileHandle.standardError.write(Data(line.utf8))
    }
    FileHandle.standardOutput.write(Data(result.stdout.utf8))
    FileHandle.standardError.write(Data(result.stderr.utf8))
    if result.status != 0 { throw ExitCode(result.status) }
}

/// The common shape of a forwarding subcommand: every argument goes to JHLab as is, so
/// the parsing rules of tools/jailhouse.c apply unchanged.
protocol Forwarding: ParsableCommand {
    var arguments: [String] { get }
}
extension Forwarding {
    func run() throws { try forward([Self._commandName] + arguments) }
}

struct LabCmd: Forwarding {
    static let configuration = CommandConfiguration(commandName: "lab",
        abstract: "Create, reset or describe the lab (a simulated machine that lives across invocations).",
        usage: "jhsim \(Help.labInit)\njhsim lab reset\njhsim lab info")
    @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
}
struct EnableCmd: Forwarding {
    static let configuration = CommandConfiguration(commandName: "enable",
        abstract: "Enable the hypervisor (JAILHOUSE_ENABLE); the default 4-CPU lab uses the built-in qemu-x86.",
        usage: "jhsim enable [SYSCONFIG]")
    @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
}
struct DisableCmd: Forwarding {
    static let configuration = CommandConfiguration(commandName: "disable", abstract: "Disable the hypervisor (JAILHOUSE_DISABLE).")
    @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
}
struct ConsoleCmd: Forwarding {
    static let configuration = CommandConfiguration(commandName: "console", abstract: "Print the hypervisor console.",
        usage: "jhsim console [-f|--follow]")
    @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
}
struct CellCmd: Forwarding {
    static let configuration = CommandConfiguration(commandName: "cell",
        abstract: "Create, list, load, start, shut down, destroy cells; show statistics.",
        usage: """
        jhsim cell create CELLCONFIG
        jhsim cell list [--json]
        jhsim cell load {ID|[--name] NAME} {IMAGE | -s|--string STRING} [-a|--address ADDRESS] ...
        jhsim cell start {ID|[--name] NAME} [--inmate KIND]
        jhsim cell shutdown {ID|[--name] NAME}
        jhsim cell destroy {ID|[--name] NAME}
        jhsim cell stats {ID|[--name] NAME}
        """)
    @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
}
struct CPUCmd: Forwarding {
    static let configuration = CommandConfiguration(commandName: "cpu", abstract: "Admin CPU hotplug.",
        usage: "jhsim cpu online|offline N")
    @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
}
struct CPUsCmd: Forwarding {
    static let configuration = CommandConfiguration(commandName: "cpus",
        abstract: "Every CPU as Linux, the driver and the hypervisor see it.", usage: "jhsim cpus [--json]")
    @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
}
struct InmateCmd: Forwarding {
    static let configuration = CommandConfiguration(commandName: "inmate",
        abstract: "Choose how a cell's inmate behaves.", usage: "jhsim inmate {ID|[--name] NAME} KIND")
    @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
}
struct TraceCmd: Forwarding {
    static let configuration = CommandConfiguration(commandName: "trace",
        abstract: "The steps of the last command(s), optionally explained or exported for Perfetto.",
        usage: "jhsim trace [--last N|--all] [--explain] [--chrome FILE.json]")
    @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
}
struct DrawCmd: Forwarding {
    static let configuration = CommandConfiguration(commandName: "draw",
        abstract: "Draw the CPU-ownership timeline (SVG) or the state machines (Graphviz DOT).",
        usage: "jhsim draw timeline [-o FILE.svg]\njhsim draw states [-o FILE.dot]")
    @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
}
struct RunCmd: Forwarding {
    static let configuration = CommandConfiguration(commandName: "run",
        abstract: "Run a scenario file (commands plus expectations) on a fresh box.",
        usage: "jhsim run SCENARIO [--trace] [--json] [--in-lab]")
    @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
}
struct DemoCmd: Forwarding {
    static let configuration = CommandConfiguration(commandName: "demo",
        abstract: "The guided tour on the built-in 4-CPU machine (no files needed).")
    @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
}
struct FaultsCmd: Forwarding {
    static let configuration = CommandConfiguration(commandName: "faults",
        abstract: "Fault sites, and fault-injection research: sweeps, seeded campaigns, shrinking, merging shards.",
        usage: """
        jhsim faults list
        jhsim faults sweep [SCENARIO] [--profile upstream|fixed] [--sites A,B] [--errnos] [--max-runs N] [--check-expect] [--isolate] [--json]
                           [--shard K/N] [--out FILE.jsonl | --resume FILE.jsonl] [--jsonl] [--jobs J]
        jhsim faults campaign [SCENARIO] --seed S --runs N [--rules-per-run K] [--no-shrink] [--profile P] [--check-expect] [--isolate] [--json]
                              [--shard K/N] [--out FILE.jsonl | --resume FILE.jsonl] [--jsonl] [--jobs J]
        jhsim faults merge FILE.jsonl... [--json]
        jhsim faults shrink [SCENARIO] --rule RULE... [--plan FILE] [--seed S] [--profile P] [--check-expect] [--isolate] [--json]
        jhsim faults run [SCENARIO] --rule RULE... [--plan FILE] [--seed S] [--profile P] [--check-expect] [--json]
        """)
    @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
}
struct QuirksCmd: Forwarding {
    static let configuration = CommandConfiguration(commandName: "quirks",
        abstract: "The upstream quirks and whether the lab's profile has them.")
    @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
}
