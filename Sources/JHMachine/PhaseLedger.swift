/// What a span of virtual time was spent on, for the modelled breakdown of a cell create
/// or destroy (`jhsim bench churn`). Each phase is marked where the model does that work,
/// so the breakdown comes from the simulation's own clock, not from the cost constants.
public enum CostPhase: Int, CaseIterable, Sendable, Codable {
    /// Whatever the enclosing operation does outside the named phases (copy_from_user,
    /// kmalloc, the jailhouse_lock fast path, sysfs, PCI claims, hypervisor bookkeeping
    /// between phases). The bench opens it around each whole system call.
    case other
    /// Waiting for a sleeping mutex another activity held (`__mutex_lock_common`).
    case lockWait
    /// Taking a CPU away from Linux (`cpu_down` of `remove_cpu`).
    case cpuDown
    /// A hypercall's VM exit, handler and VM entry, minus the phases nested in it.
    case hypercall
    /// Suspending a cell's other CPUs (`cell_suspend`: NMI and acknowledgements).
    case suspension
    /// Parking a CPU in wait-for-SIPI (`arch_park_cpu`).
    case park
    /// Giving a CPU back to Linux (`cpu_up` of `add_cpu`).
    case cpuUp

    /// The snake-case name used in tables and JSON.
    public var name: String {
        switch self {
        case .other: "other"
        case .lockWait: "lock_wait"
        case .cpuDown: "cpu_down"
        case .hypercall: "hypercall"
        case .suspension: "suspension"
        case .park: "park"
        case .cpuUp: "cpu_up"
        }
    }
}

/// Virtual time per `CostPhase`, counted exclusively: a phase nested in another (park
/// inside the CELL_CREATE hypercall) is charged to itself only, so the totals of one
/// operation add up to its whole duration when the outermost phase spans it.
///
/// Off unless someone asks (`Machine.phaseLedger` is nil by default): marking a phase
/// then costs one branch.
public struct PhaseLedger: Sendable, Hashable {
    /// Exclusive virtual time per phase, indexed by `CostPhase.rawValue`.
    public private(set) var totals: [VirtualDuration]
    /// Open phases, innermost last: the phase, when it began, and the time already
    /// charged to phases nested in it.
    private var open: [Open] = []

    private struct Open: Sendable, Hashable {
        var phase: CostPhase
        var start: VirtualTime
        var nested: VirtualDuration
    }

    public init() {
        totals = Array(repeating: .zero, count: CostPhase.allCases.count)
        open.reserveCapacity(8)
    }

    public subscript(_ p: CostPhase) -> VirtualDuration { totals[p.rawValue] }

    /// The sum over every phase.
    public var total: VirtualDuration { totals.reduce(.zero, +) }

    /// Phases still open (0 between operations).
    public var depth: Int { open.count }

    /// Adds every total (in nanoseconds, by `CostPhase.rawValue`) to `sums` and zeroes
    /// them, without allocating: a benchmark drains the ledger after each operation.
    public mutating func drain(into sums: inout [UInt64]) {
        for i in totals.indices {
            sums[i] &+= totals[i].nanoseconds
            totals[i] = .zero
        }
    }

    mutating func begin(_ p: CostPhase, at t: VirtualTime) -> Int {
        open.append(Open(phase: p, start: t, nested: .zero))
        return open.count - 1
    }

    /// Closes the phase opened at `depth` (and any left open inside it by a throw that
    /// skipped its end, which `defer` makes impossible but costs nothing to tolerate).
    mutating func end(_ depth: Int, at t: VirtualTime) {
        while open.count > depth {
            let o = open.removeLast()
            let elapsed = t - o.start
            let own = elapsed.nanoseconds >= o.nested.nanoseconds ? elapsed.nanoseconds - o.nested.nanoseconds : 0
            totals[o.phase.rawValue] = totals[o.phase.rawValue] + .ns(own)
            if !open.isEmpty { open[open.count - 1].nested = open[open.count - 1].nested + elapsed }
        }
    }
}

/// Returned by `Machine.beginPhase`, handed back to `endPhase`.
public struct PhaseMark: Sendable {
    @usableFromInline let depth: Int
    @usableFromInline init(depth: Int) { self.depth = depth }
}

extension Machine {
    /// Opens a phase of the modelled breakdown at the running activity's time. Pair it
    /// with `defer { machine.endPhase(mark) }`. A no-op when no ledger is installed.
    @inlinable
    public func beginPhase(_ p: CostPhase) -> PhaseMark {
        guard state.pointee.phaseLedger != nil else { return PhaseMark(depth: -1) }
        return beginLedgerPhase(p)
    }

    @usableFromInline
    func beginLedgerPhase(_ p: CostPhase) -> PhaseMark {
        PhaseMark(depth: state.pointee.phaseLedger!.begin(p, at: state.pointee.now))
    }

    /// Closes a phase opened by `beginPhase`, charging its exclusive time.
    @inlinable
    public func endPhase(_ mark: PhaseMark) {
        guard mark.depth >= 0 else { return }
        endLedgerPhase(mark)
    }

    @usableFromInline
    func endLedgerPhase(_ mark: PhaseMark) {
        guard state.pointee.phaseLedger != nil else { return }
        state.pointee.phaseLedger!.end(mark.depth, at: state.pointee.now)
    }
}
