import ArgumentParser
import CMallocCounter
import Foundation
import JHBench

/// `jhsim bench churn|sweep`: measures the simulator itself. Parsing and the work live in
/// JHBench; this passes the arguments, the terminal decision and the malloc counter.
struct BenchCmd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the simulator: cell create/destroy churn, fault-sweep runs per second.",
        usage: BenchCLI.usage.replacingOccurrences(of: "usage: ", with: "")
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: "\n"),
        discussion: "Docs/benchmarks.md explains every figure. Progress is drawn only when stderr is a terminal.")
    @Argument(parsing: .captureForPassthrough) var arguments: [String] = []

    func run() throws {
        let counter: AllocationCounter = jhsim_malloc_counting() == 1
            ? AllocationCounter(read: { jhsim_malloc_count() }, unavailableReason: "")
            : .unavailable("this build does not interpose malloc (sanitizer build)")
        let env = BenchCLI.Environment(currentDirectory: FileManager.default.currentDirectoryPath,
                                       stderrIsTerminal: isatty(2) == 1, allocations: counter)
        let result = BenchCLI.run(arguments, environment: env) { text in
            FileHandle.standardError.write(Data(text.utf8))
        }
        FileHandle.standardOutput.write(Data(result.stdout.utf8))
        FileHandle.standardError.write(Data(result.stderr.utf8))
        if result.status != 0 { throw ExitCode(result.status) }
    }
}
