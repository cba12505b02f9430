import JHFaults
import JHLab

/// `jhsim bench sweep [SCENARIO]`: how many scenario runs per second a fault sweep does
/// (`jhsim faults sweep`'s own `Sweep`, unchanged), with the run's peak memory.
public struct SweepBench: Sendable {
    public var scenario: String?
    public var maxRuns: Int?
    public var currentDirectory: String
    public var allocations: AllocationCounter

    public init(scenario: String?, maxRuns: Int?, currentDirectory: String,
                allocations: AllocationCounter = .unavailable("no allocation counter in this process")) {
        self.scenario = scenario; self.maxRuns = maxRuns; self.currentDirectory = currentDirectory
        self.allocations = allocations
    }

    public struct Result: Sendable {
        public var scenario: String
        /// Scenario runs: the fault-free baseline plus one per swept fault.
        public var runs: Int
        public var faultRuns: Int
        public var failingRuns: Int
        public var wallNs: UInt64
        public var mallocs: UInt64?
        public var mallocReason: String?
        public var peakRSSBytes: UInt64
        public var runsPerSecond: Double { wallNs > 0 ? Double(runs) / (Double(wallNs) / 1e9) : 0 }
        public var mallocsPerRun: Double? { mallocs.map { runs > 0 ? Double($0) / Double(runs) : 0 } }
    }

    public func run(progress: ((Double, String) -> Void)? = nil) throws -> Result {
        if let maxRuns, maxRuns < 1 { throw BenchUsageError("--max-runs takes at least 1, not \(maxRuns)") }
        let target = try scenario.map { try FaultScenario.load($0, currentDirectory: currentDirectory) }
            ?? FaultScenario.builtin(baseDirectory: currentDirectory)
        let runner = FaultRunner(target: target, settings: RunSettings(),
                                 environment: LabEnvironment(currentDirectory: currentDirectory))
        let before = allocations.read()
        let start = monotonicNanoseconds()
        let report = try Sweep(runner: runner, maxRuns: maxRuns).run { done, total, _ in
            progress?(total > 0 ? Double(done) / Double(total) : 1, "\(done)/\(total) runs")
        }
        let wall = monotonicNanoseconds() &- start
        let after = allocations.read()
        guard report.baselineFailures.isEmpty else {
            throw BenchFailure("the fault-free run of \(report.scenario) already fails; nothing was swept "
                               + "(see `jhsim faults sweep \(scenario ?? "")`)")
        }
        var mallocs: UInt64? = nil
        if let a = before, let b = after { mallocs = b &- a }
        return Result(scenario: report.scenario, runs: report.runs + 1, faultRuns: report.runs,
                      failingRuns: report.failing.count, wallNs: wall, mallocs: mallocs,
                      mallocReason: mallocs == nil ? allocations.unavailableReason : nil, peakRSSBytes: peakRSSBytes())
    }

    public static func text(_ r: Result) -> String {
        var s = "jhsim bench sweep: \(r.scenario): \(r.runs) scenario runs (1 fault-free + \(r.faultRuns) with one fault each)\n\n"
        let rows: [(String, String)] = [
            ("runs/s", ChurnReport.grouped(r.runsPerSecond)),
            ("total", ChurnReport.duration(r.wallNs)),
            ("mean per run", ChurnReport.duration(r.runs > 0 ? r.wallNs / UInt64(r.runs) : 0)),
            ("mallocs per run", r.mallocsPerRun.map { ChurnReport.grouped($0) } ?? "n/a (\(r.mallocReason ?? "not measured"))"),
            ("peak RSS", ChurnReport.bytes(r.peakRSSBytes)),
            ("failing runs", String(r.failingRuns)),
        ]
        for (k, v) in rows { s += "  " + ChurnReport.pad(k, 18) + v + "\n" }
        return s
    }

    public static func json(_ r: Result) -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("kind", .string("sweep")),
            ("scenario", .string(r.scenario)),
            ("runs", .int(Int64(r.runs))),
            ("faultRuns", .int(Int64(r.faultRuns))),
            ("failingRuns", .int(Int64(r.failingRuns))),
            ("wallNs", .int(Int64(r.wallNs))),
            ("runsPerSecond", .raw(ChurnReport.fixed(r.runsPerSecond, 3))),
            ("mallocsPerRun", r.mallocsPerRun.map { .raw(ChurnReport.fixed($0, 3)) } ?? .null),
        ]
        if r.mallocsPerRun == nil { pairs.append(("mallocsPerRunReason", .string(r.mallocReason ?? "not measured"))) }
        pairs.append(("peakRSSBytes", .int(Int64(r.peakRSSBytes))))
        return .object(pairs)
    }
}
