import JHABI
import JHMachine

/// A sleeping kernel mutex (`struct mutex`), held in virtual time.
///
/// Activities run one at a time and to completion (Docs/concurrency-model.md), so a
/// holder that locks and unlocks inside its activity holds the mutex over
/// `[acquire time, release time)` of virtual time. Later activities whose clock is still
/// inside that span must wait until `heldUntil`.
public final class KernelMutex: @unchecked Sendable, CustomStringConvertible {
    public let name: String
    /// The process holding it right now (inside the running activity), if any.
    public internal(set) var owner: PID?
    /// When the last holder released it; an activity that starts earlier waits until then.
    public internal(set) var heldUntil: VirtualTime = .zero
    /// Counters for views and invariant checks.
    public internal(set) var acquisitions = 0
    public internal(set) var contentions = 0
    public internal(set) var interruptions = 0
    public internal(set) var totalWait = VirtualDuration.zero

    public init(name: String) { self.name = name }
    public var isLocked: Bool { owner != nil }
    public var description: String { name }
}

extension Kernel {
    /// Takes a mutex, sleeping interruptibly if it is held. Mirrors
    /// `mutex_lock_interruptible` (kernel/locking/mutex.c).
    ///
    /// - Fast path: a mutex free at the caller's time is taken without looking at signals.
    /// - Slow path: the mutex was released at `heldUntil` later than now. If a signal is
    ///   pending, or arrives before `heldUntil`, the sleep ends with EINTR at the signal's
    ///   time (and the signal is consumed); otherwise the caller's clock jumps to
    ///   `heldUntil` and it takes the mutex. Waiters are therefore served in the order
    ///   their activities run, FIFO by (time, sequence).
    /// - A mutex still owned (locked in an earlier activity and never released, or locked
    ///   twice by one process) can only be freed by the running activity itself, which
    ///   waits: a deadlock. The simulator reports EDEADLK instead of hanging (unless a
    ///   signal interrupts the wait first).
    /// - Throws: `EINTR` (also when injected: `mutex_lock_interruptible`), `EDEADLK`.
    public func mutexLockInterruptible(_ m: KernelMutex, pid: PID) throws(Errno) {
        let cpu = processes[pid]?.cpu
        machine.advance(machine.cost.mutex)
        // Checked on every call (not only when the lock is contended) so a fault plan can
        // interrupt any lock attempt, as a signal racing with a short wait could.
        do { try machine.check(.mutexLockInterruptible, detail: m.name) } catch {
            m.interruptions += 1
            record(LinuxTrace.mutexLockInjected, cpu: cpu, result: .error(error), a: Int(pid.rawValue), text: m.name)
            throw error
        }
        if m.owner == nil && !(machine.now < m.heldUntil) {
            m.owner = pid
            m.acquisitions += 1
            record(LinuxTrace.mutexLock, cpu: cpu, result: .ok, a: Int(pid.rawValue), text: m.name)
            return
        }
        m.contentions += 1
        let freeAt: VirtualTime? = m.owner == nil ? m.heldUntil : nil
        if let s = nextSignal(pid), freeAt == nil || s < freeAt! {
            let start = machine.now
            machine.wait(until: s)
            consumeSignal(pid)
            m.interruptions += 1
            m.totalWait = m.totalWait + (machine.now - start)
            record(LinuxTrace.mutexLockInterrupted, cpu: cpu, result: .error(.interrupted), a: Int(pid.rawValue),
                   b: Int(bitPattern: UInt((machine.now - start).nanoseconds)), text: m.name)
            throw .interrupted
        }
        guard let freeAt else {
            record(LinuxTrace.mutexLockDeadlock, cpu: cpu, result: .error(.deadlock), a: Int(pid.rawValue),
                   b: Int(m.owner!.rawValue), text: m.name)
            throw .deadlock
        }
        let start = machine.now
        let phase = machine.beginPhase(.lockWait)
        machine.wait(until: freeAt)
        machine.endPhase(phase)
        let waited = machine.now - start
        m.totalWait = m.totalWait + waited
        record(LinuxTrace.mutexWait, cpu: cpu, a: Int(pid.rawValue), b: Int(bitPattern: UInt(waited.nanoseconds)), text: m.name)
        m.owner = pid
        m.acquisitions += 1
        record(LinuxTrace.mutexLock, cpu: cpu, result: .ok, a: Int(pid.rawValue), text: m.name)
    }

    /// Releases a mutex at the current time. Mirrors `mutex_unlock`. Unlocking a mutex
    /// the caller does not own is a kernel bug; it is recorded and ignored.
    public func mutexUnlock(_ m: KernelMutex, pid: PID) {
        guard m.owner == pid else {
            record(LinuxTrace.mutexUnlockNotOwner, cpu: processes[pid]?.cpu, result: .error(.notPermitted),
                   a: Int(pid.rawValue), text: m.name)
            return
        }
        machine.advance(machine.cost.mutex)
        m.owner = nil
        if m.heldUntil < machine.now { m.heldUntil = machine.now }
        record(LinuxTrace.mutexUnlock, cpu: processes[pid]?.cpu, result: .ok, a: Int(pid.rawValue), text: m.name)
    }
}
