import JHDriver
import JHFaults
import JHLab
import JHMachine

/// An enabled box with one cell to churn, stepped directly (no agenda): the benchmark
/// package's create+destroy step, and the setup `ChurnBench` shares.
public final class ChurnRig {
    public let box: SimulatedBox
    public let workload: ChurnWorkload

    /// Builds and enables the machine `ChurnWorkload.make` picks for these sizes.
    /// - Throws: `BenchUsageError` for impossible sizes, `BenchFailure` when enable fails.
    public init(cpus: Int, cellCPUs: Int, processes: Int = 1, executor: ExecutorKind, seed: UInt64 = 1,
                traceLevel: TraceLevel = .off) throws {
        try ChurnOptions(cpus: cpus, cellCPUs: cellCPUs, stop: .cycles(max(1, processes)), executor: executor,
                         processes: processes, seed: seed).validate()
        workload = ChurnWorkload.make(cpus: cpus, cellCPUs: cellCPUs, processes: processes)
        box = try SimulatedBox(cpus: cpus, seed: seed, executor: executor, traceLevel: traceLevel)
        // At `full`, keep the kept trace short; its hash still covers every event.
        box.machine.trace.capacity = 1 << 12
        let system = workload.systemConfig
        let enabled = try run { (t: JailhouseTool) throws(SimulationHang) -> Int64 in try t.enable(system) }
        guard enabled == 0 else { throw BenchFailure("enable of \(workload.machineName) failed: \(describe(enabled))") }
    }

    /// One system call by a fresh `jailhouse` process on CPU 0, as the real tool runs.
    func run(_ call: (JailhouseTool) throws(SimulationHang) -> Int64) throws(SimulationHang) -> Int64 {
        let pid = box.kernel.spawnProcess(name: "jailhouse", cpu: 0)
        defer { box.kernel.exitProcess(pid) }
        return try call(JailhouseTool(box: box, pid: pid))
    }

    /// `jailhouse cell create` then `jailhouse cell destroy` of the first cell.
    public func cycle() throws(BenchFailure) {
        let cell = workload.cells[0]
        for (what, call) in [("create", { (t: JailhouseTool) throws(SimulationHang) -> Int64 in try t.cellCreate(cell.config) }),
                             ("destroy", { (t: JailhouseTool) throws(SimulationHang) -> Int64 in try t.cellDestroy(.name(cell.name)) })] {
            let ret: Int64
            do { ret = try run(call) } catch { throw BenchFailure("cell \(what) \(cell.name) never returned: \(error)") }
            guard ret == 0 else { throw BenchFailure("cell \(what) \(cell.name) failed: \(describe(ret))") }
        }
    }
}

/// The runs of a single-fault sweep (default errnos), to be run one at a time: the
/// benchmark package's sweep step. `Sweep` builds the same list.
public struct SweepRig: Sendable {
    public let runner: FaultRunner
    public let plans: [FaultPlan]

    public init(scenario: String? = nil, currentDirectory: String) throws {
        let target = try scenario.map { try FaultScenario.load($0, currentDirectory: currentDirectory) }
            ?? FaultScenario.builtin(baseDirectory: currentDirectory)
        let (prepared, base) = try FaultRunner(target: target, settings: RunSettings(),
                                               environment: LabEnvironment(currentDirectory: currentDirectory)).prepared()
        runner = prepared
        let catalog = SimulatedBox.faultCatalog
        var order: [String] = []
        var hits: [String: Int] = [:]
        for s in base.checkedSites {
            if hits[s.name] == nil { order.append(s.name) }
            hits[s.name, default: 0] += 1
        }
        var plans: [FaultPlan] = []
        for name in order {
            guard let info = catalog.first(where: { $0.name == name }) else { continue }
            for nth in 1 ... (hits[name] ?? 0) {
                plans.append(FaultPlan(rules: [FaultRule(site: name, nth: nth, errno: info.defaultErrno)]))
            }
        }
        guard !plans.isEmpty else { throw BenchFailure("the scenario reaches no fault site") }
        self.plans = plans
    }

    /// Runs plan `i` (modulo the number of plans).
    public func run(_ i: Int) throws -> RunResult {
        try runner.run(plans[i % plans.count])
    }
}
