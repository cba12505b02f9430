import JHABI

/// The per-CPU hotplug state machine of kernel/cpu.c (`struct cpuhp_cpu_state` plus
/// `cpuhp_invoke_callback_range`, `cpuhp_reset_state` and the rollback in
/// `cpuhp_up_callbacks`/`cpuhp_down_callbacks`), as a pure value.
///
/// Its mutating methods never perform effects; they return the next `Action`, and the
/// owner (`Kernel`) runs the callback on the right CPU, charges virtual time, checks the
/// fault seam and reports back with `stepSucceeded()` or `stepFailed(_:)` (the swift-nio
/// state-machine pattern). That keeps every rule testable without threads.
///
/// Rules, as in the kernel:
/// - Bring-up runs the startup callback of every state above the current one up to the
///   target; after a success the CPU is at that state. Teardown runs the teardown callback
///   of the current state and every state down to (not including) the target; after a
///   success the CPU is one below. States without a callback are passed silently.
/// - A failure rolls the CPU back to where the operation started, by running the
///   opposite callbacks from where it stopped (the failing state's callback is not undone).
/// - A failure during that rollback stops it: the CPU stays at the intermediate state and
///   the original error is reported together with the rollback error (the kernel WARNs).
///
/// One deviation, documented in Docs/concurrency-model.md: when an ONLINE-section
/// startup callback fails during `cpu_up`, Linux's AP thread rolls back only to
/// `CPUHP_AP_ONLINE_IDLE` and leaves the CPU alive but inactive; the simulator rolls the
/// whole way back to `CPUHP_OFFLINE`, as for any other failure.
public struct CPUHotplugMachine: Sendable, Hashable {
    /// Where the CPU is.
    public private(set) var state: CPUHPState
    /// What the machine is doing.
    public private(set) var phase: Phase = .idle
    /// The state whose callback was last handed out and not yet reported.
    public private(set) var pending: CPUHPState? = nil
    /// The state armed through `cpuN/hotplug/fail` (`st->fail`): the next time its
    /// callback is due, it fails with -EAGAIN instead of running, once.
    public internal(set) var fail: CPUHPState? = nil

    public enum Phase: Sendable, Hashable {
        case idle
        /// Running callbacks from `origin` towards `target`.
        case running(direction: CPUHPDirection, origin: CPUHPState, target: CPUHPState)
        /// Undoing a failed operation back to `origin`.
        case rollingBack(direction: CPUHPDirection, origin: CPUHPState, error: Errno, failedAt: CPUHPState)
    }

    /// One callback to run.
    public struct Step: Sendable, Hashable {
        public var state: CPUHPState
        /// `up` runs the startup callback, `down` the teardown callback.
        public var direction: CPUHPDirection
        /// Part of undoing a failed operation.
        public var isRollback: Bool
        public var isFallible: Bool { state.isFallible(direction) }
        public var runsOnTarget: Bool { state.runsOnTarget(direction) }
        public var callback: String { state.callback(direction) ?? "-" }
    }

    public enum Action: Sendable, Hashable {
        /// Run this callback, then call `stepSucceeded()` or `stepFailed(_:)`.
        case invoke(Step)
        /// The CPU reached the target.
        case finished
        /// A callback failed with `error` at `failedAt`; the CPU is back where it started.
        case failed(error: Errno, failedAt: CPUHPState)
        /// A callback failed and so did the rollback: the CPU is left at `stuckAt`.
        case rollbackFailed(error: Errno, failedAt: CPUHPState, rollbackError: Errno, stuckAt: CPUHPState)
    }

    public init(state: CPUHPState) { self.state = state }

    /// Whether the CPU is between OFFLINE and ONLINE (during an operation, or left there
    /// by a failed rollback).
    public var isIntermediate: Bool { state != .offline && state != .online }

    /// Starts moving the CPU to `target`. Mirrors `cpuhp_set_state` + the callback range.
    public mutating func begin(target: CPUHPState) -> Action {
        precondition(phase == .idle, "hotplug operation already running")
        if target == state { return .finished }
        let direction: CPUHPDirection = target > state ? .up : .down
        phase = .running(direction: direction, origin: state, target: target)
        return advance()
    }

    /// The callback handed out last returned 0.
    public mutating func stepSucceeded() -> Action {
        guard let p = pending else { preconditionFailure("no hotplug step pending") }
        pending = nil
        switch phase {
        case .running(let d, _, _), .rollingBack(let d, _, _, _):
            state = d == .up ? p : p.below
        case .idle:
            preconditionFailure("no hotplug operation running")
        }
        return advance()
    }

    /// The callback handed out last failed with `error`.
    public mutating func stepFailed(_ error: Errno) -> Action {
        guard let p = pending else { preconditionFailure("no hotplug step pending") }
        pending = nil
        switch phase {
        case .running(let d, let origin, _):
            // Mirrors cpuhp_reset_state(): turn round towards where we came from.
            phase = .rollingBack(direction: d.reversed, origin: origin, error: error, failedAt: p)
            return advance()
        case .rollingBack(_, _, let original, let failedAt):
            phase = .idle
            return .rollbackFailed(error: original, failedAt: failedAt, rollbackError: error, stuckAt: state)
        case .idle:
            preconditionFailure("no hotplug operation running")
        }
    }

    /// Passes states without a callback and hands out the next callback, or ends.
    private mutating func advance() -> Action {
        let direction: CPUHPDirection, target: CPUHPState, rollback: Bool
        switch phase {
        case .idle: return .finished
        case .running(let d, _, let t): direction = d; target = t; rollback = false
        case .rollingBack(let d, let origin, _, _): direction = d; target = origin; rollback = true
        }
        while state != target {
            let next = direction == .up ? state.above : state
            if next.hasCallback(direction) {
                pending = next
                return .invoke(Step(state: next, direction: direction, isRollback: rollback))
            }
            state = direction == .up ? next : next.below
        }
        let done = phase
        phase = .idle
        if case .rollingBack(_, _, let e, let at) = done { return .failed(error: e, failedAt: at) }
        return .finished
    }
}
