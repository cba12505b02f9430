import JHLab
import JHMachine

/// `jhsim bench churn|sweep`: argument parsing, progress and output. The `jhsim`
/// executable passes its arguments through; tests call this directly.
public enum BenchCLI {
    public static let usage = """
        usage: jhsim bench churn [--cpus N] [--cell-cpus K] [--cycles M | --seconds S] [--executor dispatch|inline]
                                 [--processes P] [--trace off|hash|full] [--seed S] [--json]
               jhsim bench sweep [SCENARIO] [--max-runs N] [--json]
        """

    /// Where a bench command runs and what it may use.
    public struct Environment: Sendable {
        public var currentDirectory: String
        /// The progress bar is drawn on stderr only when stderr is a terminal (isatty).
        public var stderrIsTerminal: Bool
        public var allocations: AllocationCounter
        public init(currentDirectory: String, stderrIsTerminal: Bool,
                    allocations: AllocationCounter = .unavailable("no allocation counter in this process")) {
            self.currentDirectory = currentDirectory; self.stderrIsTerminal = stderrIsTerminal
            self.allocations = allocations
        }
    }

    /// A parsed command line.
    public enum Command: Sendable, Hashable {
        case churn(ChurnOptions, json: Bool)
        case sweep(scenario: String?, maxRuns: Int?, json: Bool)
    }

    /// Parses and validates `args` (after `bench`).
    public static func parse(_ args: [String]) throws(BenchUsageError) -> Command {
        guard let sub = args.first else { throw BenchUsageError("bench needs a subcommand: churn or sweep") }
        var rest = args.dropFirst()
        var json = false
        switch sub {
        case "churn":
            var o = ChurnOptions()
            var cycles: Int?
            var seconds: Double?
            while var a = rest.popFirst() {
                var inline: String? = nil
                if a.hasPrefix("--"), let eq = a.firstIndex(of: "=") {
                    inline = String(a[a.index(after: eq)...]); a = String(a[..<eq])
                }
                func value() throws(BenchUsageError) -> String {
                    if let inline { return inline }
                    guard let v = rest.popFirst() else { throw BenchUsageError("option \(a) needs a value") }
                    return v
                }
                func integer() throws(BenchUsageError) -> Int {
                    let v = try value()
                    guard let n = Int(v) else { throw BenchUsageError("\(a) takes a whole number, not '\(v)'") }
                    return n
                }
                switch a {
                case "--cpus": o.cpus = try integer()
                case "--cell-cpus": o.cellCPUs = try integer()
                case "--processes": o.processes = try integer()
                case "--cycles":
                    guard cycles == nil else { throw BenchUsageError("--cycles is given twice") }
                    cycles = try integer()
                case "--seconds":
                    guard seconds == nil else { throw BenchUsageError("--seconds is given twice") }
                    let v = try value()
                    guard let s = Double(v) else { throw BenchUsageError("--seconds takes a number, not '\(v)'") }
                    seconds = s
                case "--executor":
                    let v = try value()
                    guard let e = ExecutorKind(rawValue: v) else {
                        throw BenchUsageError("--executor takes dispatch or inline, not '\(v)'")
                    }
                    o.executor = e
                case "--seed":
                    let v = try value()
                    guard let s = UInt64(v) else { throw BenchUsageError("--seed takes a non-negative 64-bit number, not '\(v)'") }
                    o.seed = s
                case "--trace":
                    let v = try value()
                    guard let level = TraceLevel(rawValue: v) else {
                        throw BenchUsageError("--trace takes off, hash or full, not '\(v)'")
                    }
                    o.traceLevel = level
                case "--json": json = true
                default:
                    throw BenchUsageError("unknown argument '\(a)' for bench churn")
                }
            }
            if cycles != nil, seconds != nil { throw BenchUsageError("give --cycles or --seconds, not both") }
            if let cycles { o.stop = .cycles(cycles) }
            if let seconds { o.stop = .seconds(seconds) }
            try o.validate()
            return .churn(o, json: json)
        case "sweep":
            var scenario: String?
            var maxRuns: Int?
            while let a = rest.popFirst() {
                switch a {
                case "--json": json = true
                case "--max-runs":
                    guard let v = rest.popFirst() else { throw BenchUsageError("option --max-runs needs a value") }
                    guard let n = Int(v), n >= 1 else { throw BenchUsageError("--max-runs takes a whole number ≥ 1, not '\(v)'") }
                    maxRuns = n
                default:
                    guard !a.hasPrefix("-") else { throw BenchUsageError("unknown argument '\(a)' for bench sweep") }
                    guard scenario == nil else { throw BenchUsageError("bench sweep takes one scenario file, not also '\(a)'") }
                    scenario = a
                }
            }
            return .sweep(scenario: scenario, maxRuns: maxRuns, json: json)
        default:
            throw BenchUsageError("unknown bench subcommand '\(sub)'; valid: churn, sweep")
        }
    }

    /// Runs `jhsim bench ARGS`. Progress goes to `stderrSink` as it happens, and only on a
    /// terminal; the table or JSON is in the result's stdout.
    /// - Returns: status 0, 1 for a usage error, 2 when the simulator failed.
    public static func run(_ args: [String], environment: Environment, stderrSink: @escaping (String) -> Void) -> CommandResult {
        let command: Command
        do {
            command = try parse(args)
        } catch {
            return CommandResult(stderr: "jhsim: \(error.message)\n\(usage)\n", status: 1)
        }
        let bar = environment.stderrIsTerminal ? ProgressBar(sink: stderrSink) : nil
        let progress: ((Double, String) -> Void)? = bar.map { b in { b.update($0, $1) } }
        defer { bar?.finish() }
        do {
            switch command {
            case .churn(let o, let json):
                let r = try ChurnBench(options: o, allocations: environment.allocations).run(progress: progress)
                bar?.finish()
                return CommandResult(stdout: json ? ChurnReport.json(r).text(indent: 2) + "\n" : ChurnReport.text(r))
            case .sweep(let scenario, let maxRuns, let json):
                let r = try SweepBench(scenario: scenario, maxRuns: maxRuns, currentDirectory: environment.currentDirectory,
                                       allocations: environment.allocations).run(progress: progress)
                bar?.finish()
                return CommandResult(stdout: json ? SweepBench.json(r).text(indent: 2) + "\n" : SweepBench.text(r))
            }
        } catch let e as BenchUsageError {
            return CommandResult(stderr: "jhsim: \(e.message)\n\(usage)\n", status: 1)
        } catch let e as LabError {
            return CommandResult(stderr: "jhsim: \(e.message)\n", status: 1)
        } catch {
            return CommandResult(stderr: "jhsim: bench failed: \(error)\n", status: 2)
        }
    }
}
