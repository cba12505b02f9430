import JHABI
import JHMachine

/// A CPU hotplug state: a subset of `enum cpuhp_state` in include/linux/cpuhotplug.h, in
/// the kernel's order.
///
/// A CPU "is at" state S when every startup callback up to and including S has run.
/// Bring-up runs startup callbacks in ascending order, teardown runs teardown callbacks
/// in descending order. The raw values only order the states; they are not the kernel's
/// numbers (the kernel has ~200 states, most of them driver-specific).
public enum CPUHPState: Int, Comparable, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case offline
    // PREPARE section: runs on the control CPU before the AP is kicked / after it died.
    case createThreads
    case perfPrepare
    case workqueuePrep
    case rcutreePrep
    case timersPrepare
    /// Kicks the AP (INIT/SIPI) and waits for it to report alive; teardown is `finish_cpu`.
    case bringupCPU
    // STARTING section: runs on the hotplugged CPU with interrupts off; cannot fail.
    case apIdleDead
    case apOffline
    case apSchedStarting
    case apRcutreeDying
    case apSmpcfdDying
    case apOnline
    /// Teardown is `takedown_cpu`: the stop-machine handshake that kills the CPU.
    case teardownCPU
    // ONLINE section: runs on the hotplugged CPU's hotplug thread; can fail.
    case apOnlineIdle
    case apSmpbootThreads
    case apWorkqueueOnline
    case apRcutreeOnline
    case apActive
    case online

    public static func < (a: CPUHPState, b: CPUHPState) -> Bool { a.rawValue < b.rawValue }

    /// The kernel's enumerator name, e.g. `CPUHP_AP_ONLINE_IDLE`.
    public var cName: String {
        switch self {
        case .offline: "CPUHP_OFFLINE"
        case .createThreads: "CPUHP_CREATE_THREADS"
        case .perfPrepare: "CPUHP_PERF_PREPARE"
        case .workqueuePrep: "CPUHP_WORKQUEUE_PREP"
        case .rcutreePrep: "CPUHP_RCUTREE_PREP"
        case .timersPrepare: "CPUHP_TIMERS_PREPARE"
        case .bringupCPU: "CPUHP_BRINGUP_CPU"
        case .apIdleDead: "CPUHP_AP_IDLE_DEAD"
        case .apOffline: "CPUHP_AP_OFFLINE"
        case .apSchedStarting: "CPUHP_AP_SCHED_STARTING"
        case .apRcutreeDying: "CPUHP_AP_RCUTREE_DYING"
        case .apSmpcfdDying: "CPUHP_AP_SMPCFD_DYING"
        case .apOnline: "CPUHP_AP_ONLINE"
        case .teardownCPU: "CPUHP_TEARDOWN_CPU"
        case .apOnlineIdle: "CPUHP_AP_ONLINE_IDLE"
        case .apSmpbootThreads: "CPUHP_AP_SMPBOOT_THREADS"
        case .apWorkqueueOnline: "CPUHP_AP_WORKQUEUE_ONLINE"
        case .apRcutreeOnline: "CPUHP_AP_RCUTREE_ONLINE"
        case .apActive: "CPUHP_AP_ACTIVE"
        case .online: "CPUHP_ONLINE"
        }
    }
    public var description: String { cName }

    /// Looks a state up by its kernel name (for fault rules and tests).
    public init?(cName: String) {
        guard let s = Self.allCases.first(where: { $0.cName == cName }) else { return nil }
        self = s
    }

    /// The part of the hotplug sequence a state belongs to; decides where its callbacks
    /// run, whether they may fail, and which `CostModel` entry pays for them.
    public enum Section: Sendable, Hashable {
        case prepare, bringup, starting, teardown, online, endpoint
    }

    public var section: Section {
        switch self {
        case .offline, .online: .endpoint
        case .createThreads, .perfPrepare, .workqueuePrep, .rcutreePrep, .timersPrepare: .prepare
        case .bringupCPU: .bringup
        case .apIdleDead, .apOffline, .apSchedStarting, .apRcutreeDying, .apSmpcfdDying, .apOnline: .starting
        case .teardownCPU: .teardown
        case .apOnlineIdle, .apSmpbootThreads, .apWorkqueueOnline, .apRcutreeOnline, .apActive: .online
        }
    }

    /// The C startup callback (`cpuhp_hp_states[state].startup.single`), if any.
    public var startupCallback: String? {
        switch self {
        case .createThreads: "smpboot_create_threads"
        case .perfPrepare: "perf_event_init_cpu"
        case .workqueuePrep: "workqueue_prepare_cpu"
        case .rcutreePrep: "rcutree_prepare_cpu"
        case .timersPrepare: "timers_prepare_cpu"
        case .bringupCPU: "bringup_cpu"
        case .apSchedStarting: "sched_cpu_starting"
        case .apSmpbootThreads: "smpboot_unpark_threads"
        case .apWorkqueueOnline: "workqueue_online_cpu"
        case .apRcutreeOnline: "rcutree_online_cpu"
        case .apActive: "sched_cpu_activate"
        default: nil
        }
    }

    /// The C teardown callback (`cpuhp_hp_states[state].teardown.single`), if any.
    public var teardownCallback: String? {
        switch self {
        case .perfPrepare: "perf_event_exit_cpu"
        case .rcutreePrep: "rcutree_dead_cpu"
        case .timersPrepare: "timers_dead_cpu"
        case .bringupCPU: "finish_cpu"
        case .apSchedStarting: "sched_cpu_dying"
        case .apRcutreeDying: "rcutree_dying_cpu"
        case .apSmpcfdDying: "smpcfd_dying_cpu"
        case .teardownCPU: "takedown_cpu"
        case .apSmpbootThreads: "smpboot_park_threads"
        case .apWorkqueueOnline: "workqueue_offline_cpu"
        case .apRcutreeOnline: "rcutree_offline_cpu"
        case .apActive: "sched_cpu_deactivate"
        default: nil
        }
    }

    public func callback(_ direction: CPUHPDirection) -> String? {
        direction == .up ? startupCallback : teardownCallback
    }

    /// Whether the state has a callback in `direction`: a bit test, because the state
    /// machine asks it for every state it passes (a test checks it against `callback`).
    @inline(__always)
    public func hasCallback(_ direction: CPUHPDirection) -> Bool {
        (direction == .up ? Self.startupMask : Self.teardownMask) & (1 << UInt32(rawValue)) != 0
    }

    /// Bit `rawValue` set for each state with a startup / teardown callback (the states
    /// listed in `startupCallback` and `teardownCallback`).
    static let startupMask: UInt32 = 1 << 1 | 1 << 2 | 1 << 3 | 1 << 4 | 1 << 5 | 1 << 6 | 1 << 9
        | 1 << 15 | 1 << 16 | 1 << 17 | 1 << 18
    static let teardownMask: UInt32 = 1 << 2 | 1 << 4 | 1 << 5 | 1 << 6 | 1 << 9 | 1 << 10 | 1 << 11
        | 1 << 13 | 1 << 15 | 1 << 16 | 1 << 17 | 1 << 18

    /// Whether this state's callback in `direction` may fail. The kernel's rules: the
    /// STARTING section runs with interrupts off and cannot fail in either direction;
    /// PREPARE-section teardown (and `finish_cpu`) runs after the CPU is dead, when there
    /// is no way back, so it cannot fail either.
    public func isFallible(_ direction: CPUHPDirection) -> Bool {
        guard hasCallback(direction) else { return false }
        switch (section, direction) {
        case (.prepare, .up), (.bringup, .up), (.online, _), (.teardown, .down): return true
        default: return false
        }
    }

    /// Where the callback runs: the hotplugged CPU itself (STARTING section and the
    /// ONLINE section's hotplug thread) or the control CPU.
    public func runsOnTarget(_ direction: CPUHPDirection) -> Bool {
        section == .starting || section == .online
    }

    /// The state one below / above, clamped.
    var below: CPUHPState { CPUHPState(rawValue: rawValue - 1) ?? .offline }
    var above: CPUHPState { CPUHPState(rawValue: rawValue + 1) ?? .online }
}

extension CPUHPState {
    /// How many states of the given sections have a callback in `direction` (a fixed
    /// table, computed once, because the cost split is asked for at every step).
    static func callbackCount(_ direction: CPUHPDirection, _ sections: Set<Section>) -> Int {
        let table = direction == .up ? upCounts : downCounts
        return sections.reduce(0) { $0 + (table[$1] ?? 0) }
    }
    /// The counts the cost split needs at every step, computed once.
    enum CallbackCounts {
        static let downOnline = callbackCount(.down, [.online])
        static let downStarting = callbackCount(.down, [.starting])
        static let downPrepareBringup = callbackCount(.down, [.prepare, .bringup])
        static let upPrepare = callbackCount(.up, [.prepare])
        static let upStarting = callbackCount(.up, [.starting])
        static let upOnline = callbackCount(.up, [.online])
    }
    private static let upCounts = counts(.up)
    private static let downCounts = counts(.down)
    private static func counts(_ d: CPUHPDirection) -> [Section: Int] {
        var c: [Section: Int] = [:]
        for s in allCases where s.callback(d) != nil { c[s.section, default: 0] += 1 }
        return c
    }
}

/// Whether a step runs a startup (`up`) or teardown (`down`) callback.
public enum CPUHPDirection: String, Sendable, Hashable, Codable {
    case up, down
    var reversed: CPUHPDirection { self == .up ? .down : .up }
}

extension CostModel {
    /// Virtual time of one hotplug callback: its section's cost split evenly over the
    /// section's callbacks in that direction, so a whole `cpu_down` or `cpu_up` costs
    /// exactly the sum of the section constants.
    public func hotplugStepCost(_ state: CPUHPState, _ direction: CPUHPDirection) -> VirtualDuration {
        func share(_ total: VirtualDuration, _ n: Int) -> VirtualDuration {
            VirtualDuration(nanoseconds: total.nanoseconds / UInt64(max(1, n)))
        }
        typealias C = CPUHPState.CallbackCounts
        switch (state.section, direction) {
        case (.online, .down): return share(cpuDownOnlineSection, C.downOnline)
        case (.teardown, .down): return stopMachine
        case (.starting, .down): return share(cpuDownDyingSection, C.downStarting)
        case (.prepare, .down), (.bringup, .down): return share(cpuDownPrepareSection, C.downPrepareBringup)
        case (.prepare, .up): return share(cpuUpPrepareSection, C.upPrepare)
        case (.bringup, .up): return cpuUpBringup
        case (.starting, .up): return share(cpuUpStartingSection, C.upStarting)
        case (.online, .up): return share(cpuUpOnlineSection, C.upOnline)
        default: return .zero
        }
    }
}
