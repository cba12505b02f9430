import Testing
import JHABI
@testable import JHMachine

@Suite struct TraceLevelTests {
    @Test func everyLevelGivesTheSameOutcomeAndFullAndHashTheSameHash() throws {
        for seed in UInt64(0)..<6 {
            for executor in [ExecutorKind.inline, .dispatch] {
                let full = try toyRun(seed: seed, executor: executor, level: .full)
                let hash = try toyRun(seed: seed, executor: executor, level: .hash)
                let off = try toyRun(seed: seed, executor: executor, level: .off)
                #expect(full.now == hash.now && hash.now == off.now, "seed \(seed)")
                #expect(full.trace.hash == hash.trace.hash, "seed \(seed) \(executor)")
                #expect(full.trace.recordedCount == hash.trace.recordedCount)
                #expect(hash.trace.recordedCount == off.trace.recordedCount)
                #expect(!full.trace.events.isEmpty)
                #expect(hash.trace.events.isEmpty && off.trace.events.isEmpty)
            }
        }
    }

    @Test func theHashCoversArgumentsNotOnlyKinds() throws {
        let a = try Machine(cpuCount: 2, seed: 0, traceLevel: .hash)
        let b = try Machine(cpuCount: 2, seed: 0, traceLevel: .hash)
        a.record(ToyTrace.step, cpu: 1, a: 1)
        b.record(ToyTrace.step, cpu: 1, a: 2)
        #expect(a.trace.hash != b.trace.hash)
        let c = try Machine(cpuCount: 2, seed: 0, traceLevel: .hash)
        let d = try Machine(cpuCount: 2, seed: 0, traceLevel: .hash)
        c.record(ToyTrace.sums, text: "1,2")
        d.record(ToyTrace.sums, text: "1,3")
        #expect(c.trace.hash != d.trace.hash)
    }

    @Test func hashLevelKeepsTheLayersAChecksAskFor() throws {
        var injector = FaultInjector()
        injector.add(FaultRule(site: "step", nth: 2, errno: .busy))
        let m = try Machine(cpuCount: 2, seed: 0, faults: injector, traceLevel: .hash)
        m.trace.keptLayers = [.fault]
        for i in 0..<4 {
            m.record(ToyTrace.step, a: i)
            _ = try? m.check(FaultSiteKey(50, "step", defaultErrno: .busy), cpu: 1)
        }
        #expect(m.trace.events.count == 1)
        let e = try #require(m.trace.events.first)
        #expect(e.kind == MachineTrace.inject && e.text == "step:cpu=1" && e.result == .error(.busy) && e.cpu == 1)
        #expect(e.seq == 2, "sequence numbers count every event, kept or not")
    }

    @Test func offRecordsNothingAndLeavesTheHashAtItsStart() throws {
        let m = try Machine(cpuCount: 4, seed: 0, traceLevel: .off)
        let start = m.trace.hash
        _ = m.broadcast([0, 1, 2, 3]) { cpu, ctx in ctx.record(ToyTrace.park, a: cpu) }
        m.record(ToyTrace.nested)
        #expect(m.trace.hash == start && m.trace.events.isEmpty && m.trace.recordedCount == 5)
    }

    @Test func theLevelCanChangeDuringARun() throws {
        let m = try Machine(cpuCount: 2, seed: 0, traceLevel: .hash)
        m.record(ToyTrace.step, a: 1)
        m.traceLevel = .full
        m.record(ToyTrace.step, a: 2)
        #expect(m.trace.events.map(\.a) == [2])
        #expect(m.trace.events.first?.seq == 1)
    }

    /// Memory of a long run at `hash` does not grow with its length: nothing is kept, and
    /// at `full` the log stays within its capacity.
    @Test func aLongRunKeepsNoMoreThanAShortOne() throws {
        let short = try toyRun(seed: 3, executor: .inline, level: .hash, rounds: 10)
        let long = try toyRun(seed: 3, executor: .inline, level: .hash, rounds: 2_000)
        #expect(long.trace.recordedCount > 100 * short.trace.recordedCount / 2)
        #expect(short.trace.events.isEmpty && long.trace.events.isEmpty)
        #expect(long.trace.events.capacity == 0, "no buffer was ever grown")
        let capped = try toyRun(seed: 3, executor: .inline, level: .full, rounds: 2_000, capacity: 64)
        #expect(capped.trace.events.count <= 80)
        #expect(capped.trace.droppedCount + capped.trace.events.count == Int(capped.trace.recordedCount))
    }

    @Test func templatesRenderTypedArguments() {
        let k = TraceKind(id: 0x0f30, .linux, "x", "cpu={cpu:a} addr=0x{addr:b:x} n={n:c:u} on={on:s} who={who:t}",
                          mirrors: "f{cpu:a} (x.c)")
        let e = TraceEvent(time: .zero, kind: k, a: 3, b: 255, c: -1, text: "me", set: [1, 2, 3, 5])
        #expect(e.detail == "cpu=3 addr=0xff n=18446744073709551615 on=1-3,5 who=me")
        #expect(e.mirrors == "f3 (x.c)")
        #expect(e.field("on") == "1-3,5" && e.number("addr") == 255 && e.number("who") == nil && e.field("nope") == nil)
        #expect(k.fieldNames == ["cpu", "addr", "n", "on", "who"])
        #expect(MachineTrace.all.allSatisfy { MachineTrace.ids.contains($0.id) })
    }
}
