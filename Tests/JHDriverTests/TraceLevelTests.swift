import JHABI
@testable import JHDriver
import JHHypervisor
@testable import JHLinux
import JHMachine
import Testing

/// Trace levels on the whole box: what a run does never depends on how much of its
/// trace is kept.
@Suite struct TraceLevelTests {
    /// Enables, then creates and destroys tiny-demo `cycles` times (and smp-demo once with
    /// a failing cpu_down, so a rollback is in the run too).
    func churn(_ level: TraceLevel, executor: ExecutorKind = .inline, cycles: Int) throws -> Rig {
        let rig = try Rig(seed: 5, executor: executor, faults: ["cpu_down:cpu=3:nth=1:errno=EBUSY"], traceLevel: level)
        try rig.enable()
        #expect(try rig.create("smp-demo") == Errno.busy.negated)
        for _ in 0..<cycles {
            #expect(try rig.create("tiny-demo") == 0)
            #expect(try rig.destroy("tiny-demo") == 0)
        }
        return rig
    }

    @Test func levelsGiveEqualOutcomesAndFullAndHashEqualHashes() throws {
        for executor in [ExecutorKind.inline, .dispatch] {
            let full = try churn(.full, executor: executor, cycles: 3)
            let hash = try churn(.hash, executor: executor, cycles: 3)
            let off = try churn(.off, executor: executor, cycles: 3)
            #expect(full.machine.trace.hash == hash.machine.trace.hash)
            #expect(full.machine.now == hash.machine.now && hash.machine.now == off.machine.now)
            #expect(full.kernel.dmesg() == hash.kernel.dmesg() && hash.kernel.dmesg() == off.kernel.dmesg())
            #expect(full.box.invariantViolations().isEmpty && off.box.invariantViolations().isEmpty)
            #expect(full.machine.trace.recordedCount == off.machine.trace.recordedCount)
            #expect(full.kernel.online == off.kernel.online)
        }
    }

    @Test func bothExecutorsGiveIdenticalTracesAtHashLevel() throws {
        let a = try churn(.hash, executor: .inline, cycles: 4)
        let b = try churn(.hash, executor: .dispatch, cycles: 4)
        #expect(a.machine.trace.hash == b.machine.trace.hash)
        let c = try churn(.full, executor: .inline, cycles: 4)
        let d = try churn(.full, executor: .dispatch, cycles: 4)
        #expect(c.machine.trace.events == d.machine.trace.events)
        #expect(c.machine.trace.events.map(\.line) == d.machine.trace.events.map(\.line))
    }

    /// A long `hash`-level run keeps no more than a short one: no trace events, the
    /// kernel log within its ring, no processes or allocations left behind.
    @Test func aLongHashRunKeepsNoMoreThanAShortOne() throws {
        let short = try churn(.hash, cycles: 5)
        let long = try churn(.hash, cycles: 150)
        #expect(long.machine.trace.recordedCount > 20 * short.machine.trace.recordedCount)
        #expect(short.machine.trace.events.isEmpty && long.machine.trace.events.isEmpty)
        #expect(long.machine.trace.events.capacity == 0)
        #expect(long.kernel.log.usedBytes <= long.kernel.log.capacityBytes)
        #expect(long.kernel.liveAllocations.count == short.kernel.liveAllocations.count)
        #expect(long.kernel.processes.count == short.kernel.processes.count)
    }
}
