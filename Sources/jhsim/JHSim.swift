import ArgumentParser
import Foundation
import JHDriver
import JHFaults
import JHLab

/// `jhsim`: the command-line face of the simulator, thin over JHLab and JHConfig.
///
/// Every learner-facing command (the ones that mirror tools/jailhouse.c and the
/// simulator's own: lab, cpus, trace, draw, run, faults, …) goes to JHLab's runner as is,
/// so parsing, help texts and exit statuses are the same in-process (tests) and here.
/// Only `config …` and `bench …` are parsed by swift-argument-parser.
@main
struct JHSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jhsim",
        abstract: "A deterministic simulator of the Jailhouse partitioning hypervisor.",
        discussion: "Run `jhsim --help` for every command; this parser only handles `jhsim config` and `jhsim bench`.",
        version: "jhsim \(JHSimVersion.string) (simulating Jailhouse e57d1eff)",
        subcommands: [ConfigCommand.self, BenchCmd.self]
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
        // libjhsim-preload's child: one request on stdin/stdout (a socket), no parsing.
        if args == ["_preload"] {
            let server = PreloadServer(factory: .standard, channel: DescriptorChannel(input: 0, output: 1)) { line in
                FileHandle.standardError.write(Data(line.utf8))
            }
            Foundation.exit(server.serve())
        }
        // `exec` replaces this process, so it is run here rather than through a runner.
        if commandName(args) == "exec" { runExec(args) }
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
        // `jhsim help config|bench [SUB]` is `jhsim config|bench [SUB] --help`.
        if args.first == "help", let what = args.dropFirst().first, what == "config" || what == "bench" {
            args = Array(args.dropFirst()) + ["--help"]
        }
        guard args.first == "config" || args.first == "bench" else {
            do { try forward(args) } catch { exit(withError: error) }
            return
        }
        do {
            var command = try parseAsRoot(args)
            try command.run()
        } catch {
            // One usage exit status for the whole tool, as tools/jailhouse.c has: 1
            // (swift-argument-parser would say 64).
            if exitCode(for: error) == .validationFailure {
                var text = fullMessage(for: error)
                // Every jhsim usage error starts with `jhsim: `, whichever parser saw it.
                if text.hasPrefix("Error: ") { text = "jhsim: " + text.dropFirst(7) }
                FileHandle.standardError.write(Data((text + "\n").utf8))
                Foundation.exit(1)
            }
            exit(withError: error)
        }
    }
}

/// The first argument that is not a global option (`--lab DIR`, `--fault RULE`,
/// `--caps TEXT`, also `--x=value`): the command's name.
func commandName(_ args: [String]) -> String? {
    var i = 0
    while i < args.count {
        let a = args[i]
        if a == "--lab" || a == "--fault" || a == "--caps" { i += 2; continue }
        if a.hasPrefix("--lab=") || a.hasPrefix("--fault=") || a.hasPrefix("--caps=") { i += 1; continue }
        return a
    }
    return nil
}

/// The runner every command goes through, with the library's location filled in.
func makeRunner() -> LabCommandRunner {
    let env = ProcessInfo.processInfo
    var runner = LabCommandRunner(
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
    if let exe = Bundle.main.executablePath {
        runner.executable = exe
        runner.preloadLibrary = URL(fileURLWithPath: exe).deletingLastPathComponent()
            .appendingPathComponent("libjhsim-preload.so").path
    }
    return runner
}

/// `jhsim exec -- COMMAND…`: replaces this process by COMMAND, with the library
/// preloaded and the lab selected; never returns.
func runExec(_ argv: [String]) -> Never {
    switch makeRunner().execPlan(argv) {
    case .finish(let r):
        FileHandle.standardOutput.write(Data(r.stdout.utf8))
        FileHandle.standardError.write(Data(r.stderr.utf8))
        exit(r.status)
    case .run(let plan):
        for key in ProcessInfo.processInfo.environment.keys where plan.environment[key] == nil { unsetenv(key) }
        for (key, value) in plan.environment { setenv(key, value, 1) }
        let cArgs = plan.arguments.map { strdup($0) } + [nil]
        execvp(plan.arguments[0], cArgs)
        let e = errno
        FileHandle.standardError.write(Data("jhsim: exec: \(plan.arguments[0]): \(String(cString: strerror(e)))\n".utf8))
        exit(e == ENOENT ? 127 : 126)
    }
}

/// Runs a learner-facing command through JHLab's runner and exits with its status.
func forward(_ argv: [String]) throws {
    let runner = makeRunner()
    let result = runner.run(argv) { line in
        FileHandle.standardError.write(Data(line.utf8))
    }
    FileHandle.standardOutput.write(Data(result.stdout.utf8))
    FileHandle.standardError.write(Data(result.stderr.utf8))
    if result.status != 0 { throw ExitCode(result.status) }
}

