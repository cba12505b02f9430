import Testing
import JHABI
import JHMachine
@testable import JHLinux

/// One "system call" of a process: lock, hold for `hold`, unlock; outcome recorded.
func scheduleLockedSection(_ k: Kernel, _ m: KernelMutex, _ pid: PID, at t: UInt64, hold: UInt64,
                           log: @escaping (String) -> Void) {
    k.machine.schedule(at: VirtualTime(nanoseconds: t), "ioctl \(pid)") {
        do throws(Errno) {
            try k.mutexLockInterruptible(m, pid: pid)
            log("\(pid.rawValue) got@\(k.machine.now.nanoseconds)")
            k.machine.advance(.ns(hold))
            k.mutexUnlock(m, pid: pid)
        } catch {
            log("\(pid.rawValue) \(error.name)@\(k.machine.now.nanoseconds)")
        }
    }
}

@Suite struct MutexTests {
    @Test func uncontendedLockAndUnlock() throws {
        let k = try makeKernel()
        let m = KernelMutex(name: "jailhouse_lock")
        let p = k.spawnProcess(name: "jailhouse")
        try k.mutexLockInterruptible(m, pid: p)
        #expect(m.owner == p && m.isLocked)
        k.mutexUnlock(m, pid: p)
        #expect(m.owner == nil && m.heldUntil == k.machine.now && m.acquisitions == 1 && m.contentions == 0)
    }

    @Test func waitersAreServedInActivityOrder() throws {
        let k = try makeKernel()
        let m = KernelMutex(name: "jailhouse_lock")
        let (a, b, c) = (k.spawnProcess(name: "a"), k.spawnProcess(name: "b"), k.spawnProcess(name: "c"))
        var log: [String] = []
        let cost = k.machine.cost.mutex.nanoseconds
        scheduleLockedSection(k, m, a, at: 0, hold: 1000) { log.append($0) }
        scheduleLockedSection(k, m, c, at: 200, hold: 1000) { log.append($0) }
        scheduleLockedSection(k, m, b, at: 100, hold: 1000) { log.append($0) }
        k.machine.runEvents()
        // a holds [cost, 1000+2·cost]; b (arrived at 100) is next, then c.
        let aRelease = 1000 + 2 * cost
        let bRelease = aRelease + 1000 + cost
        #expect(log == ["\(a.rawValue) got@\(cost)", "\(b.rawValue) got@\(aRelease)", "\(c.rawValue) got@\(bRelease)"])
        #expect(m.contentions == 2 && m.acquisitions == 3)
        #expect(k.events("mutex_wait").map(\.detail) == [
            "lock=jailhouse_lock pid=\(b.rawValue) waited=\(aRelease - 100 - cost)",
            "lock=jailhouse_lock pid=\(c.rawValue) waited=\(bRelease - 200 - cost)"])
    }

    @Test func pendingSignalInterruptsTheSleepButNotTheFastPath() throws {
        let k = try makeKernel()
        let m = KernelMutex(name: "l")
        let (a, b) = (k.spawnProcess(name: "a"), k.spawnProcess(name: "b"))
        var log: [String] = []
        k.sendSignal(b)      // pending from time 0
        scheduleLockedSection(k, m, a, at: 0, hold: 5000) { log.append($0) }
        scheduleLockedSection(k, m, b, at: 100, hold: 10) { log.append($0) }
        k.machine.runEvents()
        #expect(log[1] == "\(b.rawValue) EINTR@\(100 + k.machine.cost.mutex.nanoseconds)")
        #expect(!k.signalPending(b) && m.interruptions == 1)
        // A free lock is taken even with a signal pending.
        let c = k.spawnProcess(name: "c")
        k.machine.wait(until: m.heldUntil)
        k.sendSignal(c)
        try k.mutexLockInterruptible(m, pid: c)
        #expect(m.owner == c && k.signalPending(c))
        #expect(k.deliverSignals(c) == 1)
    }

    @Test func signalArrivingBeforeTheReleaseInterruptsAtItsTime() throws {
        let k = try makeKernel()
        let m = KernelMutex(name: "l")
        let (a, b, c) = (k.spawnProcess(name: "a"), k.spawnProcess(name: "b"), k.spawnProcess(name: "c"))
        var log: [String] = []
        k.sendSignal(b, at: VirtualTime(nanoseconds: 2000))
        k.sendSignal(c, at: VirtualTime(nanoseconds: 90_000))   // after the release: no effect
        scheduleLockedSection(k, m, a, at: 0, hold: 5000) { log.append($0) }
        scheduleLockedSection(k, m, b, at: 100, hold: 10) { log.append($0) }
        scheduleLockedSection(k, m, c, at: 150, hold: 10) { log.append($0) }
        k.machine.runEvents()
        #expect(log[1] == "\(b.rawValue) EINTR@2000")
        #expect(log[2].hasPrefix("\(c.rawValue) got@"))
        #expect(k.events("mutex_lock").contains { $0.result == .error(.interrupted) && $0.detail.contains("waited=1870") })
    }

    @Test func injectedEINTRAndDeadlock() throws {
        let k = try makeKernel(faults: ["mutex_lock_interruptible:nth=1"])
        let m = KernelMutex(name: "l")
        let p = k.spawnProcess(name: "p")
        #expect(throws: Errno.interrupted) { try k.mutexLockInterruptible(m, pid: p) }
        try k.mutexLockInterruptible(m, pid: p)
        #expect(throws: Errno.deadlock) { try k.mutexLockInterruptible(m, pid: p) }
        let q = k.spawnProcess(name: "q")
        k.mutexUnlock(m, pid: q)   // not the owner: ignored
        #expect(m.owner == p)
        k.sendSignal(q, at: k.machine.now + .us(1))
        #expect(throws: Errno.interrupted) { try k.mutexLockInterruptible(m, pid: q) }
    }
}
