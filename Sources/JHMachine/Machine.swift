import JHABI

/// The simulated hardware and the engine that runs it: vCPUs and their executor, the
/// virtual clock, the agenda of events, the seeded RNG, physical memory, the trace and
/// the fault-point seam.
///
/// Higher layers (Linux, hypervisor, driver) hold a reference to one `Machine`; nothing
/// in the package is global. A run is a pure function of the seed and the inputs.
///
/// Thread safety: mutable state is touched only by the one activity that is running.
/// Work handed to another vCPU's thread runs while the handing thread waits (see
/// `Handoff`), so accesses never overlap; broadcast work may touch only per-CPU state and
/// records into `LocalContext`. Thread Sanitizer checks this in CI.
public final class Machine: @unchecked Sendable {
    public let cpuCount: Int
    public let seed: UInt64
    public let executor: any VCPUExecutor
    /// The executor runs every work item on the caller's thread.
    public let isInline: Bool

    /// Every mutable field of the machine, in one allocation the machine owns.
    ///
    /// Why not stored properties: each access to a class's stored `var` from another
    /// module pays a dynamic exclusivity check (a thread-local access-set insert), and the
    /// hot path — `advance`, `record`, `check`, phase marks, comm-page reads — touches
    /// them several times per step. The machine's threading rule (one running activity
    /// at a time, handoffs with happens-before edges) already rules out overlapping
    /// accesses, so the fields live behind a pointer and the accessors below yield them.
    @usableFromInline
    struct State {
        @usableFromInline var rng: SplitMix64
        @usableFromInline var cost: CostModel
        @usableFromInline var profile: Profile
        @usableFromInline var trace: TraceLog
        @usableFromInline var faults: FaultInjector
        /// Whether any check can do something (a rule, or site counting): with no plan
        /// armed the seam is this one branch.
        @usableFromInline var faultsArmed: Bool
        @usableFromInline var memory = PhysicalMemory()
        @usableFromInline var events = EventQueue()
        @usableFromInline var phaseLedger: PhaseLedger?
        @usableFromInline var now: VirtualTime = .zero
        @usableFromInline var horizon: VirtualTime = .zero
        /// Set while a broadcast runs; recording from broadcast work is a bug.
        @usableFromInline var inBroadcast = false
        @usableFromInline init(rng: SplitMix64, cost: CostModel, profile: Profile, trace: TraceLog, faults: FaultInjector) {
            self.rng = rng; self.cost = cost; self.profile = profile; self.trace = trace
            self.faults = faults; faultsArmed = faults.isArmed
        }
    }
    @usableFromInline let state: UnsafeMutablePointer<State>

    public var rng: SplitMix64 {
        @inlinable _read { yield state.pointee.rng }
        @inlinable _modify { yield &state.pointee.rng }
    }
    public var cost: CostModel {
        @inlinable _read { yield state.pointee.cost }
        @inlinable _modify { yield &state.pointee.cost }
    }
    /// Which upstream quirks every layer reproduces.
    public var profile: Profile {
        @inlinable _read { yield state.pointee.profile }
        @inlinable _modify { yield &state.pointee.profile }
    }
    public var trace: TraceLog {
        @inlinable _read { yield state.pointee.trace }
        @inlinable _modify { yield &state.pointee.trace }
    }
    /// The active fault plan. Setting it re-arms the seam's fast path.
    public var faults: FaultInjector {
        get { state.pointee.faults }
        set {
            state.pointee.faults = newValue
            state.pointee.faultsArmed = newValue.isArmed
        }
    }
    public var memory: PhysicalMemory {
        @inlinable _read { yield state.pointee.memory }
        @inlinable _modify { yield &state.pointee.memory }
    }
    public var events: EventQueue {
        @inlinable _read { yield state.pointee.events }
        @inlinable _modify { yield &state.pointee.events }
    }
    /// Virtual time per phase of work (cpu_down, hypercall, …); nil (off) unless a
    /// benchmark installs one. See `PhaseLedger`.
    public var phaseLedger: PhaseLedger? {
        @inlinable _read { yield state.pointee.phaseLedger }
        @inlinable _modify { yield &state.pointee.phaseLedger }
    }
    /// The running activity's clock.
    @inlinable public var now: VirtualTime { state.pointee.now }
    /// The latest time any activity has reached.
    @inlinable public var horizon: VirtualTime { state.pointee.horizon }
    /// Layers describe each CPU for one-line status and hang reports.
    private var statusProviders: [(String, (CPUID) -> String)] = []

    public static let maxCPUs = 4096

    /// - Parameters:
    ///   - cpuCount: 1…4096 vCPUs.
    ///   - seed: every random choice of the run derives from it.
    public init(cpuCount: Int, seed: UInt64, executor kind: ExecutorKind = .dispatch,
                cost: CostModel = CostModel(), profile: Profile = .upstream, faults: FaultInjector = FaultInjector(),
                traceCapacity: Int = 1 << 20, traceLevel: TraceLevel = .full) throws(MachineError) {
        guard cpuCount >= 1 && cpuCount <= Self.maxCPUs else {
            throw MachineError.badCPUCount(cpuCount)
        }
        self.cpuCount = cpuCount
        self.seed = seed
        state = .allocate(capacity: 1)
        state.initialize(to: State(rng: SplitMix64(seed: seed), cost: cost, profile: profile,
                                   trace: TraceLog(capacity: traceCapacity, level: traceLevel), faults: faults))
        switch kind {
        case .dispatch: executor = DispatchExecutor(cpuCount: cpuCount)
        case .inline: executor = InlineExecutor()
        }
        isInline = kind == .inline
    }

    deinit {
        state.deinitialize(count: 1)
        state.deallocate()
    }

    public var allCPUs: CPUSet { CPUSet(range: 0..<cpuCount) }

    // MARK: Time

    /// Charges `d` of virtual time to the running activity.
    @inlinable
    public func advance(_ d: VirtualDuration) {
        precondition(!state.pointee.inBroadcast, "broadcast work must use its LocalContext")
        let t = state.pointee.now + d
        state.pointee.now = t
        if state.pointee.horizon < t { state.pointee.horizon = t }
    }

    /// Moves the running activity's clock forward to `t` (waiting); never backwards.
    public func wait(until t: VirtualTime) {
        if state.pointee.now < t { state.pointee.now = t }
        if state.pointee.horizon < state.pointee.now { state.pointee.horizon = state.pointee.now }
    }

    // MARK: Trace

    /// Records one step at the current time. Builds no text: the kind says how the
    /// arguments read, and text is rendered only when someone looks at the trace.
    /// At trace level `off` this is one branch.
    @discardableResult
    @inlinable
    public func record(_ kind: TraceKind, cpu: CPUID? = nil, result: TraceResult = .none,
                       a: Int = 0, b: Int = 0, c: Int = 0, d: Int = 0,
                       text: String = "", set: CPUSet = CPUSet()) -> UInt64 {
        precondition(!state.pointee.inBroadcast, "broadcast work must use its LocalContext")
        guard state.pointee.trace.isRecording else { return state.pointee.trace.skip() }
        return state.pointee.trace.append(TraceEvent(time: state.pointee.now, kind: kind, cpu: cpu, result: result,
                                                     a: a, b: b, c: c, d: d, text: text, set: set))
    }

    /// The trace level; may change between activities.
    public var traceLevel: TraceLevel {
        get { trace.level }
        set { trace.level = newValue }
    }

    // MARK: Faults

    /// The process the running system call serves (Linux's `current`), for `task=` rules
    /// and `verbose=2`; nil in kernel context (boot, admin writes from the lab).
    public var task: FaultTask?

    /// The fault-point seam: every primitive that can fail calls this first. Throws the
    /// planned errno (and records the injection) when the active plan says so. With no
    /// plan armed it is one branch; with a plan, a site no rule names costs one table
    /// load. The detail text (a sysfs path, a tag) is built only when a rule or the site
    /// log reads it.
    @inlinable
    public func check(_ key: FaultSiteKey, cpu: CPUID? = nil, size: Int = 0,
                      detail: @autoclosure () -> String? = nil) throws(Errno) {
        guard state.pointee.faultsArmed else { return }
        try checkArmed(key, cpu: cpu, size: size, detail: detail)
    }

    @usableFromInline
    func checkArmed(_ key: FaultSiteKey, cpu: CPUID?, size: Int, detail: () -> String?) throws(Errno) {
        precondition(!state.pointee.inBroadcast, "fault sites are checked outside broadcast work")
        // Through the state pointer, not the `faults` property: a get/set round trip would
        // copy the injector's arrays on every armed check.
        guard state.pointee.faults.wants(key) else { return }
        var site = FaultSite(key, cpu: cpu, size: size)
        let decided = state.pointee.faults.decide(site, detail: detail, task: task, siteErrno: key.defaultErrno)
        state.pointee.faultsArmed = state.pointee.faults.isArmed
        guard let v = decided else { return }
        site = state.pointee.faults.injections[state.pointee.faults.injections.count - 1]
        if trace.isRecording {
            record(MachineTrace.inject, cpu: site.cpu, result: .error(v.errno), text: site.description)
            if v.verbose > 0 {
                // fail_dump (lib/fault-inject.c), rendered from these events when shown.
                record(MachineTrace.faultNotice, cpu: site.cpu)
                record(MachineTrace.faultAttr, cpu: site.cpu, a: v.interval, b: v.probability, c: v.space, d: v.times,
                       text: key.attr)
                if v.verbose > 1 {
                    record(MachineTrace.faultTask, cpu: site.cpu, a: site.cpu ?? 0, b: task?.pid ?? 0,
                           text: task?.name ?? "swapper")
                    record(MachineTrace.faultCallTrace, cpu: site.cpu, text: site.description)
                }
            }
        } else {
            trace.skip(v.verbose == 0 ? 1 : v.verbose == 1 ? 3 : 5)
        }
        throw v.errno
    }

    // MARK: Running work on vCPUs

    /// Runs `work` on CPU `cpu`'s thread (its serial queue) and waits for it.
    @discardableResult
    public func run<T, E: Error>(on cpu: CPUID, _ work: () throws(E) -> T) throws(E) -> T {
        try executor.run(on: cpu, work)
    }

    /// Per-CPU scratch space for broadcast work: its own clock offset and trace buffer,
    /// merged in CPU order afterwards so the trace never depends on thread timing.
    public struct LocalContext {
        public internal(set) var cpu: CPUID
        public internal(set) var elapsed = VirtualDuration.zero
        var events: [TraceEvent] = []
        let start: VirtualTime
        let recording: Bool
        public mutating func advance(_ d: VirtualDuration) { elapsed = elapsed + d }
        /// Records one step of broadcast work (see `Machine.record`).
        public mutating func record(_ kind: TraceKind, result: TraceResult = .none,
                                    a: Int = 0, b: Int = 0, c: Int = 0, d: Int = 0,
                                    text: String = "", set: CPUSet = CPUSet()) {
            if recording {
                events.append(TraceEvent(time: start + elapsed, kind: kind, cpu: cpu, result: result,
                                         a: a, b: b, c: c, d: d, text: text, set: set))
            } else {
                skipped += 1
            }
        }
        var skipped = 0
    }

    /// Runs `work` on every CPU of `cpus` at once (an IPI broadcast). The activity's clock
    /// advances by the slowest CPU's time; events are recorded in ascending CPU order.
    public func broadcast<T>(_ cpus: CPUSet, _ work: (CPUID, inout LocalContext) -> T) -> [T] {
        if isInline {
            var results: [T] = []
            results.reserveCapacity(cpus.count)
            broadcastInline(cpus) { cpu, ctx in results.append(work(cpu, &ctx)) }
            return results
        }
        let list = Array(cpus)
        let start = now
        let recording = trace.isRecording
        state.pointee.inBroadcast = true
        let outcomes: [(T, LocalContext)] = executor.broadcast(list) { cpu in
            var ctx = LocalContext(cpu: cpu, start: start, recording: recording)
            let r = work(cpu, &ctx)
            return (r, ctx)
        }
        state.pointee.inBroadcast = false
        var slowest = VirtualDuration.zero
        for (_, ctx) in outcomes {
            for e in ctx.events { trace.append(e) }
            if ctx.skipped > 0 { trace.skip(ctx.skipped) }
            if slowest < ctx.elapsed { slowest = ctx.elapsed }
        }
        advance(slowest)
        return outcomes.map(\.0)
    }

    /// `broadcast` for work without a result (inline: no result array at all).
    public func broadcastEach(_ cpus: CPUSet, _ work: (CPUID, inout LocalContext) -> Void) {
        if isInline {
            broadcastInline(cpus, work)
        } else {
            let _: [Void] = broadcast(cpus, work)
        }
    }

    /// An IPI that every target acknowledges the same way: `ack(cpu)` runs on each CPU's
    /// thread and may touch only that CPU's state; each target then spends `cost` and
    /// records `kind` (result ok, argument `a` = its CPU). The trace, the clock and the
    /// per-CPU state end up exactly as after `broadcastEach` with that work.
    ///
    /// Why a primitive of its own: suspending root on a machine of thousands of CPUs is
    /// this, three times per create/start/destroy cycle. The targets only run `ack`; the
    /// events (all stamped `now + cost`, in ascending CPU order as a broadcast merges
    /// them) are appended or counted afterwards, so there is no per-target context, event
    /// buffer or clock, and the inline executor runs one plain loop.
    public func broadcastAck(_ cpus: CPUSet, cost: VirtualDuration, record kind: TraceKind,
                             _ ack: (CPUID) -> Void) {
        guard !cpus.isEmpty else { return }
        state.pointee.inBroadcast = true
        var n = 0
        if isInline {
            for cpu in cpus { ack(cpu); n += 1 }
        } else {
            let list = Array(cpus)
            n = list.count
            let _: [Void] = executor.broadcast(list, ack)
        }
        state.pointee.inBroadcast = false
        if state.pointee.trace.isRecording {
            let t = state.pointee.now + cost
            for cpu in cpus {
                state.pointee.trace.append(TraceEvent(time: t, kind: kind, cpu: cpu, result: .ok, a: cpu))
            }
        } else {
            state.pointee.trace.skip(n)
        }
        advance(cost)
    }

    /// The inline executor's broadcast: the same work in ascending CPU order on this
    /// thread, each CPU's events flushed as it finishes (the order the merge would give),
    /// through one reused context, so hundreds of targets cost no allocation each.
    private func broadcastInline(_ cpus: CPUSet, _ work: (CPUID, inout LocalContext) -> Void) {
        let start = now
        var ctx = LocalContext(cpu: 0, start: start, recording: trace.isRecording)
        var slowest = VirtualDuration.zero
        state.pointee.inBroadcast = true
        for cpu in cpus {
            ctx.cpu = cpu
            ctx.elapsed = .zero
            work(cpu, &ctx)
            if !ctx.events.isEmpty {
                for e in ctx.events { trace.append(e) }
                ctx.events.removeAll(keepingCapacity: true)
            }
            if ctx.skipped > 0 { trace.skip(ctx.skipped); ctx.skipped = 0 }
            if slowest < ctx.elapsed { slowest = ctx.elapsed }
        }
        state.pointee.inBroadcast = false
        advance(slowest)
    }

    // MARK: Events

    /// Schedules an activity at virtual time `t`.
    public func schedule(at t: VirtualTime, _ label: String, _ action: @escaping () -> Void) {
        events.schedule(at: t, label: label, action)
    }

    /// Runs scheduled activities in (time, sequence) order until none is left or `limit`
    /// events ran. Each starts with the clock at its own scheduled time.
    /// - Returns: the number of events run.
    @discardableResult
    public func runEvents(limit: Int = .max) -> Int {
        var n = 0
        while n < limit, let e = state.pointee.events.popNext() {
            state.pointee.now = e.time
            if state.pointee.horizon < e.time { state.pointee.horizon = e.time }
            e.action()
            n += 1
        }
        return n
    }

    // MARK: Status

    /// Registers a describer of CPUs for status lines and hang reports, e.g. the Linux
    /// hotplug state or the hypervisor owner. Capture layers weakly.
    public func addStatusProvider(_ name: String, _ describe: @escaping (CPUID) -> String) {
        statusProviders.append((name, describe))
    }

    /// One readable line per CPU, from every registered layer.
    public func statusLine(_ cpu: CPUID) -> String {
        let parts = statusProviders.map { "\($0.0): \($0.1(cpu))" }
        return "cpu\(cpu): " + (parts.isEmpty ? "powered" : parts.joined(separator: "; "))
    }
}

/// Errors in setting up a machine.
public enum MachineError: Error, Hashable, Sendable, CustomStringConvertible {
    case badCPUCount(Int)
    public var description: String {
        switch self {
        case .badCPUCount(let n): "a machine has 1…\(Machine.maxCPUs) CPUs, not \(n)"
        }
    }
}

/// A kernel oops of the simulated Linux: a bad pointer dereference or a bad free in
/// kernel code. The oopsing process is killed inside the system call (it never returns),
/// the kernel is tainted and, as the oops happened with `jailhouse_lock` held, the
/// Jailhouse device is dead until reboot. An outcome of the simulated kernel, never a trap.
public struct KernelOops: Sendable, Hashable, CustomStringConvertible {
    /// The kernel function the fault happened in (the oops report's RIP).
    public var function: String
    /// The first report line, e.g. "BUG: kernel NULL pointer dereference, address: 0x40".
    public var bug: String
    /// The upstream quirk behind it, if any.
    public var quirk: Quirk?
    public init(function: String, bug: String, quirk: Quirk?) {
        self.function = function; self.bug = bug; self.quirk = quirk
    }
    public var description: String {
        "Oops: \(bug) in \(function)" + (quirk.map { " (quirk \($0.number), \($0.rawValue))" } ?? "")
    }
}

/// A wait that no event can ever end: the simulator stops it and reports where.
///
/// Thrown instead of hanging the process (e.g. a management hypercall waiting forever
/// for an inmate that never answers, with `msg_reply_timeout` 0). A kernel oops ends
/// the system call the same way (the process never returns); `oops` says so.
public struct SimulationHang: Error, Sendable, CustomStringConvertible {
    /// Set when the call never returns because the kernel oopsed in it.
    public var oops: KernelOops?
    /// What was waiting, e.g. "hypervisor on cpu0 in cell_exchange_message(apic-demo)".
    public var waiter: String
    /// Why nothing can end the wait.
    public var reason: String
    /// One status line per CPU at the moment of the hang.
    public var cpuStatus: [String]
    public var time: VirtualTime

    public init(waiter: String, reason: String, machine: Machine) {
        self.waiter = waiter
        self.reason = reason
        cpuStatus = (0..<machine.cpuCount).map(machine.statusLine)
        time = machine.now
    }

    /// The report of a kernel oops (`waiter` is the killed process's system call).
    public init(oops: KernelOops, during call: String, machine: Machine) {
        self.init(waiter: call, reason: oops.description, machine: machine)
        self.oops = oops
    }

    public var description: String {
        if let oops {
            return "kernel oops at \(time) during \(waiter): \(oops)\n" + cpuStatus.map { "  " + $0 }.joined(separator: "\n")
        }
        return "hang at \(time): \(waiter) waits forever: \(reason)\n" + cpuStatus.map { "  " + $0 }.joined(separator: "\n")
    }
}
