import JHABI
import JHConfig
import JHDriver
import JHLinux
import JHMachine

/// A simulator failure during a benchmark (a create that should succeed did not): the
/// benchmark stops and says what happened instead of measuring something else.
public struct BenchFailure: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The machine and cells a churn runs on.
public struct ChurnWorkload: Sendable, Hashable {
    public struct Cell: Sendable, Hashable {
        public var name: String
        public var config: [UInt8]
        public var cpus: CPUSet
    }

    /// `qemu-x86` or `synth-N`.
    public var machineName: String
    public var systemConfig: [UInt8]
    /// One cell per process.
    public var cells: [Cell]
    /// Why a 4-CPU run uses a synthesised machine, when it does.
    public var note: String?

    /// The built-in qemu-x86 box with built-in cells when `cpus` is 4 and enough
    /// CPU-disjoint built-in cells of `cellCPUs` CPUs exist; otherwise a machine and cells
    /// synthesised exactly as `jhsim config synth --cpus N --cells K` writes them.
    public static func make(cpus: Int, cellCPUs: Int, processes: Int) -> ChurnWorkload {
        if cpus == 4 {
            var taken = CPUSet()
            var chosen: [Cell] = []
            for name in BuiltinConfigs.cellNames {
                guard chosen.count < processes, let bytes = BuiltinConfigs.cell(named: name),
                      let c = try? CellConfig.decode(bytes), c.cpus.count == cellCPUs, !c.cpus.contains(0),
                      c.cpus.isDisjoint(with: taken) else { continue }
                taken.formUnion(c.cpus)
                chosen.append(Cell(name: c.name, config: bytes, cpus: c.cpus))
            }
            if chosen.count == processes {
                return ChurnWorkload(machineName: "qemu-x86", systemConfig: BuiltinConfigs.qemuX86, cells: chosen, note: nil)
            }
        }
        let cells = Synth.cells(cpus: cpus, perCell: cellCPUs, limit: processes).map {
            Cell(name: $0.name, config: $0.encode(), cpus: $0.cpus)
        }
        let note = cpus == 4
            ? "qemu-x86 has no \(processes) CPU-disjoint built-in \(cellCPUs)-CPU cells; the 4-CPU machine is synthesised" : nil
        return ChurnWorkload(machineName: "synth-\(cpus)", systemConfig: Synth.system(cpus: cpus, perCell: cellCPUs).encode(),
                             cells: cells, note: note)
    }
}

/// Modelled (virtual) time of one kind of operation, summed over every time it ran.
public struct ModelledOperation: Sendable, Hashable {
    public var count = 0
    /// Sum of each operation's virtual duration, from its activity's start (its arrival)
    /// to its return.
    public var totalNs: UInt64 = 0
    /// The same time split by `CostPhase` (index = raw value), from the machine's
    /// `PhaseLedger`; sums to `totalNs`.
    public var phaseNs = [UInt64](repeating: 0, count: CostPhase.allCases.count)
    /// Operations that had to wait for `jailhouse_lock`.
    public var waitedForLock = 0
    public var maxNs: UInt64 = 0

    public var meanNs: UInt64 { count > 0 ? (totalNs + UInt64(count) / 2) / UInt64(count) : 0 }
    public func meanNs(_ p: CostPhase) -> UInt64 {
        count > 0 ? (phaseNs[p.rawValue] + UInt64(count) / 2) / UInt64(count) : 0
    }
}

/// Everything one churn run measured.
public struct ChurnResult: Sendable {
    public var options: ChurnOptions
    public var workload: ChurnWorkload
    /// Completed create+destroy cycles (over all processes).
    public var cycles: Int
    /// Wall time of the churn loop, setup excluded.
    public var wallNs: UInt64
    /// CPU time (user + system, every thread) the process used during the loop: on a
    /// shared machine it moves less than wall time when other work takes the CPUs.
    public var cpuNs: UInt64
    /// Wall time per cycle: one process's create plus its destroy.
    public var perCycle: LatencyHistogram
    public var create: ModelledOperation
    public var destroy: ModelledOperation
    /// Allocation calls during the loop; nil with `mallocReason` when not measurable.
    public var mallocs: UInt64?
    public var mallocReason: String?
    public var peakRSSBytes: UInt64
    /// Dispatch executor only: thread handoffs during the loop and the bare cost of one,
    /// measured right after the loop in the same process.
    public var handoffs: Int?
    public var handoffNs: UInt64?
    /// Determinism hash of the run's trace (same seed and options ⇒ same hash, on both
    /// executors and at `hash` and `full`, when the run is bounded by cycles); nil at `off`.
    public var traceHash: String?
    /// Events recorded, and events still kept at the end (0 below `full`).
    public var traceEventsRecorded: UInt64
    public var traceEventsKept: Int
    /// Virtual time at the end of the run.
    public var virtualEndNs: UInt64

    public var cyclesPerSecond: Double { wallNs > 0 ? Double(cycles) / (Double(wallNs) / 1e9) : 0 }
    /// Cycles per second of CPU time used.
    public var cyclesPerCPUSecond: Double { cpuNs > 0 ? Double(cycles) / (Double(cpuNs) / 1e9) : 0 }
    public var mallocsPerCycle: Double? { mallocs.map { cycles > 0 ? Double($0) / Double(cycles) : 0 } }
    public var handoffsPerCycle: Double? { handoffs.map { cycles > 0 ? Double($0) / Double(cycles) : 0 } }
    /// The cycles/s a run would reach if every handoff cost `handoffNs` and nothing else
    /// cost anything: the handoff-bound limit.
    public var handoffLimitCyclesPerSecond: Double? {
        guard let h = handoffsPerCycle, let ns = handoffNs, h > 0, ns > 0 else { return nil }
        return 1e9 / (h * Double(ns))
    }
    /// cycles/s as a fraction of the handoff-bound limit.
    public var handoffEfficiency: Double? { handoffLimitCyclesPerSecond.map { cyclesPerSecond / $0 } }
}

/// `jhsim bench churn`: processes create and destroy their cells through the whole stack
/// (user space → ioctl → driver → Linux hotplug → hypercalls → hypervisor and back).
///
/// Each system call is one activity on the machine's agenda, run by a fresh `jailhouse`
/// process as the real tool does, so P processes contend for `jailhouse_lock` in virtual
/// time exactly as `Docs/concurrency-model.md` describes. Each process starts after a
/// seeded jitter below 1 µs and issues its next call when the previous one returns.
public struct ChurnBench: Sendable {
    public var options: ChurnOptions
    public var allocations: AllocationCounter

    public init(options: ChurnOptions, allocations: AllocationCounter = .unavailable("no allocation counter in this process")) {
        self.options = options; self.allocations = allocations
    }

    /// Runs the churn. `progress` gets (fraction done, label) after every cycle; a
    /// terminal progress bar throttles itself.
    public func run(progress: ((Double, String) -> Void)? = nil) throws -> ChurnResult {
        try options.validate()
        let o = options
        let rig = try ChurnRig(cpus: o.cpus, cellCPUs: o.cellCPUs, processes: o.processes, executor: o.executor, seed: o.seed,
                               traceLevel: o.traceLevel)
        let box = rig.box, workload = rig.workload
        let machine = box.machine
        machine.phaseLedger = PhaseLedger()

        let state = LoopState(processes: o.processes, stop: o.stop)
        let cells = workload.cells

        func issue(_ p: Int, create: Bool, at t: VirtualTime) {
            machine.schedule(at: t, create ? "bench create" : "bench destroy") {
                state.lastProcess = p
                state.lastCompletedCycle = false
                let start = machine.now
                let mark = machine.beginPhase(.other)
                let pid = box.kernel.spawnProcess(name: "jailhouse", cpu: 0)
                let tool = JailhouseTool(box: box, pid: pid)
                let ret: Int64
                do {
                    ret = create ? try tool.cellCreate(cells[p].config) : try tool.cellDestroy(.name(cells[p].name))
                } catch {
                    state.failure = "cell \(create ? "create" : "destroy") \(cells[p].name) never returned: \(error)"
                    return
                }
                box.kernel.exitProcess(pid)
                machine.endPhase(mark)
                let took = (machine.now - start).nanoseconds
                let waitedBefore = create ? state.create.phaseNs[CostPhase.lockWait.rawValue] : state.destroy.phaseNs[CostPhase.lockWait.rawValue]
                if create {
                    machine.phaseLedger!.drain(into: &state.create.phaseNs)
                    state.create.add(took, waited: state.create.phaseNs[CostPhase.lockWait.rawValue] != waitedBefore)
                } else {
                    machine.phaseLedger!.drain(into: &state.destroy.phaseNs)
                    state.destroy.add(took, waited: state.destroy.phaseNs[CostPhase.lockWait.rawValue] != waitedBefore)
                }
                guard ret == 0 else {
                    state.failure = "cell \(create ? "create" : "destroy") \(cells[p].name) failed: \(describe(ret))"
                    return
                }
                if create {
                    issue(p, create: false, at: machine.now)
                } else {
                    state.lastCompletedCycle = true
                    if state.mayStartCycle() { issue(p, create: true, at: machine.now) }
                }
            }
        }

        for p in 0 ..< o.processes {
            _ = state.mayStartCycle()
            issue(p, create: true, at: machine.now + .ns(machine.rng.next() % 1000))
        }

        let dispatch = machine.executor as? DispatchExecutor
        let handoffsBefore = dispatch?.handoffCount ?? 0
        let mallocsBefore = allocations.read()
        let cpuBefore = processCPUNanoseconds()
        let loopStart = monotonicNanoseconds()
        state.loopStart = loopStart
        var cycleWall = [UInt64](repeating: 0, count: o.processes)
        var histogram = LatencyHistogram()
        var completed = 0
        while state.failure == nil {
            let t0 = monotonicNanoseconds()
            guard machine.runEvents(limit: 1) == 1 else { break }
            let dt = monotonicNanoseconds() &- t0
            let p = state.lastProcess
            cycleWall[p] &+= dt
            if state.lastCompletedCycle {
                histogram.record(cycleWall[p])
                cycleWall[p] = 0
                completed += 1
                if let progress {
                    switch o.stop {
                    case .cycles(let m): progress(Double(completed) / Double(m), "\(completed)/\(m) cycles")
                    case .seconds(let s):
                        let elapsed = Double(monotonicNanoseconds() &- loopStart) / 1e9
                        progress(elapsed / s, "\(completed) cycles, \(Int(elapsed))/\(Int(s.rounded(.up))) s")
                    }
                }
            }
        }
        let wall = monotonicNanoseconds() &- loopStart
        let cpu = processCPUNanoseconds() &- cpuBefore
        let mallocsAfter = allocations.read()
        let handoffs = dispatch.map { $0.handoffCount - handoffsBefore }
        if let failure = state.failure { throw BenchFailure(failure) }

        var mallocs: UInt64? = nil
        var reason: String? = allocations.unavailableReason
        if let a = mallocsBefore, let b = mallocsAfter {
            mallocs = b &- a
            reason = nil
        }
        let rss = peakRSSBytes()
        let handoffNs = dispatch == nil ? nil : HandoffProbe.measure()
        return ChurnResult(options: o, workload: workload, cycles: completed, wallNs: wall, cpuNs: cpu, perCycle: histogram,
                           create: state.create, destroy: state.destroy, mallocs: mallocs, mallocReason: reason,
                           peakRSSBytes: rss, handoffs: handoffs, handoffNs: handoffNs,
                           traceHash: o.traceLevel == .off ? nil : machine.trace.hashHex,
                           traceEventsRecorded: machine.trace.recordedCount, traceEventsKept: machine.trace.events.count,
                           virtualEndNs: machine.horizon.nanoseconds)
    }
}

/// `0`, `-EBUSY (Device or resource busy)`, or the raw value.
func describe(_ ret: Int64) -> String {
    if ret == 0 { return "0" }
    if let e = Errno.fromReturn(ret) { return "-\(e.name) (\(e.message))" }
    return String(ret)
}

/// The mutable state shared by the loop and the activities it runs (one at a time).
private final class LoopState {
    let stop: ChurnOptions.Stop
    var started = 0
    var loopStart: UInt64 = 0
    var lastProcess = 0
    var lastCompletedCycle = false
    var failure: String?
    var create = ModelledOperation()
    var destroy = ModelledOperation()

    init(processes: Int, stop: ChurnOptions.Stop) { self.stop = stop }

    /// Whether another cycle may begin (and counts it if so).
    func mayStartCycle() -> Bool {
        switch stop {
        case .cycles(let m):
            guard started < m else { return false }
        case .seconds(let s):
            guard started == 0 || loopStart == 0 || Double(monotonicNanoseconds() &- loopStart) < s * 1e9 else { return false }
        }
        started += 1
        return true
    }
}

extension ModelledOperation {
    mutating func add(_ ns: UInt64, waited: Bool) {
        count += 1
        totalNs &+= ns
        if ns > maxNs { maxNs = ns }
        if waited { waitedForLock += 1 }
    }
}
