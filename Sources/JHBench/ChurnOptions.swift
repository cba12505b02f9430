import JHMachine

/// A bad `jhsim bench` argument, with the message the user sees.
public struct BenchUsageError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What `jhsim bench churn` runs: P simulated processes, each creating and destroying its
/// own K-CPU cell on an N-CPU machine, until M cycles are done or S seconds have passed.
public struct ChurnOptions: Sendable, Hashable {
    public enum Stop: Sendable, Hashable {
        case cycles(Int)
        case seconds(Double)
    }

    /// CPUs of the machine; 4 is the built-in qemu-x86 box, any other count is
    /// synthesised like `jhsim config synth`.
    public var cpus = 4
    /// CPUs of each churned cell.
    public var cellCPUs = 1
    public var stop = Stop.cycles(1000)
    public var executor = ExecutorKind.dispatch
    /// Simulated processes churning different cells at once.
    public var processes = 1
    public var seed: UInt64 = 1
    /// How much of the trace the run keeps: `off` (the default, leanest), `hash` (nothing
    /// kept, determinism hash computed) or `full` (events kept up to a small capacity).
    public var traceLevel = TraceLevel.off

    public static let maxCycles = 100_000_000
    public static let maxSeconds = 86_400.0

    public init(cpus: Int = 4, cellCPUs: Int = 1, stop: Stop = .cycles(1000), executor: ExecutorKind = .dispatch,
                processes: Int = 1, seed: UInt64 = 1, traceLevel: TraceLevel = .off) {
        self.cpus = cpus; self.cellCPUs = cellCPUs; self.stop = stop; self.executor = executor
        self.processes = processes; self.seed = seed; self.traceLevel = traceLevel
    }

    /// Rejects combinations that cannot run, with the reason.
    public func validate() throws(BenchUsageError) {
        guard cpus >= 2, cpus <= Machine.maxCPUs else {
            throw BenchUsageError("--cpus takes 2…\(Machine.maxCPUs) (CPU 0 stays with Linux, a cell needs another), not \(cpus)")
        }
        guard cellCPUs >= 1 else { throw BenchUsageError("--cell-cpus takes at least 1, not \(cellCPUs)") }
        guard cellCPUs < cpus else {
            throw BenchUsageError("--cell-cpus (\(cellCPUs)) must be less than --cpus (\(cpus)): CPU 0 never leaves the root cell")
        }
        guard processes >= 1 else { throw BenchUsageError("--processes takes at least 1, not \(processes)") }
        guard processes * cellCPUs <= cpus - 1 else {
            throw BenchUsageError("\(processes) processes × \(cellCPUs)-CPU cells need \(processes * cellCPUs) CPUs besides CPU 0; "
                                  + "the machine has \(cpus - 1)")
        }
        switch stop {
        case .cycles(let m):
            guard m >= 1, m <= Self.maxCycles else { throw BenchUsageError("--cycles takes 1…\(Self.maxCycles), not \(m)") }
            guard m >= processes else {
                throw BenchUsageError("--cycles (\(m)) must be at least --processes (\(processes)): every process churns at least once")
            }
        case .seconds(let s):
            guard s > 0, s <= Self.maxSeconds, s.isFinite else {
                throw BenchUsageError("--seconds takes a number above 0 and at most \(Int(Self.maxSeconds)), not \(s)")
            }
        }
    }
}
