import Testing
import Dispatch
@testable import JHMachine
import JHABI

/// Trace kinds of the toy workloads (ids from the machine range's test corner).
enum ToyTrace {
    static let step = TraceKind(id: 0x0f20, .machine, "step", "i={i:a}")
    static let nested = TraceKind(id: 0x0f21, .machine, "nested")
    static let ack = TraceKind(id: 0x0f22, .machine, "ack", "round={round:a}")
    static let sums = TraceKind(id: 0x0f23, .machine, "sums", "{sums:t}")
    static let park = TraceKind(id: 0x0f24, .hypervisor, "park", "cpu={cpu:a}")
    static let cpuDown = TraceKind(id: 0x0f25, .linux, "cpu_down", phase: .begin, "cpu={cpu:a}")
}

/// A toy workload that exercises handoffs, nested handoffs, broadcasts, faults and events.
func toyRun(seed: UInt64, executor: ExecutorKind, cpus: Int = 8, level: TraceLevel = .full,
            rounds: Int = 20, capacity: Int = 1 << 20) throws -> Machine {
    let m = try Machine(cpuCount: cpus, seed: seed, executor: executor, traceCapacity: capacity, traceLevel: level)
    var perCPU = [Int](repeating: 0, count: cpus)
    for i in 0..<rounds {
        let target = Int(m.rng.next() % UInt64(cpus))
        m.run(on: target) {
            m.advance(.us(UInt64(1 + i)))
            m.record(ToyTrace.step, cpu: target, a: i)
            let other = (target + 1) % cpus
            m.run(on: other) { m.record(ToyTrace.nested, cpu: other) }
        }
        let acks = m.broadcast(CPUSet(range: 0..<cpus)) { cpu, ctx in
            ctx.advance(.ns(UInt64(100 * (cpu + 1))))
            ctx.record(ToyTrace.ack, a: i)
            return cpu * i
        }
        for (k, v) in acks.enumerated() { perCPU[k] += v }
    }
    m.record(ToyTrace.sums, text: perCPU.map(String.init).joined(separator: ","))
    return m
}

@Suite struct ExecutorTests {
    @Test func dispatchAndInlineGiveIdenticalTraces() throws {
        for seed in UInt64(0)..<20 {
            let a = try toyRun(seed: seed, executor: .dispatch)
            let b = try toyRun(seed: seed, executor: .inline)
            #expect(a.trace.hash == b.trace.hash, "seed \(seed)")
            #expect(a.now == b.now)
        }
    }

    @Test func differentSeedsDiffer() throws {
        #expect(try toyRun(seed: 1, executor: .inline).trace.hash != toyRun(seed: 2, executor: .inline).trace.hash)
    }

    @Test func workRunsOnTheTargetCPUsQueue() throws {
        let ex = DispatchExecutor(cpuCount: 4)
        for cpu in 0..<4 {
            let seen = ex.run(on: cpu) { ex.currentCPU }
            #expect(seen == cpu)
        }
        #expect(ex.currentCPU == nil)
        let seen = ex.broadcast([3, 1, 2]) { _ in ex.currentCPU }
        #expect(seen == [3, 1, 2])
    }

    @Test func handoffToTheCurrentCPURunsInline() throws {
        let ex = DispatchExecutor(cpuCount: 2)
        let r = ex.run(on: 1) { ex.run(on: 1) { ex.currentCPU } }
        #expect(r == 1)
        let b = ex.run(on: 0) { ex.broadcast([0, 1]) { _ in ex.currentCPU } }
        #expect(b == [0, 1])
    }

    @Test func errorsCrossTheHandoff() throws {
        let m = try Machine(cpuCount: 2, seed: 0)
        #expect(throws: Errno.busy) {
            try m.run(on: 1) { () throws(Errno) in throw Errno.busy }
        }
    }

    @Test func broadcastAdvancesBySlowestAndRecordsInCPUOrder() throws {
        let m = try Machine(cpuCount: 4, seed: 0)
        _ = m.broadcast([3, 0, 2]) { cpu, ctx in
            ctx.advance(.us(UInt64(cpu)))
            ctx.record(ToyTrace.ack)
        }
        #expect(m.now == VirtualTime(nanoseconds: 3000))
        #expect(m.trace.events.map(\.cpu) == [0, 2, 3])
    }

    @Test func machineRefusesBadCPUCounts() {
        #expect(throws: MachineError.badCPUCount(0)) { try Machine(cpuCount: 0, seed: 1) }
        #expect(throws: MachineError.badCPUCount(4097)) { try Machine(cpuCount: 4097, seed: 1) }
    }

    @Test func thousandCPUsDoNotExhaustThreads() throws {
        let m = try Machine(cpuCount: 1024, seed: 7)
        let r = m.broadcast(m.allCPUs) { cpu, ctx in ctx.advance(.ns(1)); return cpu }
        #expect(r.count == 1024 && r.last == 1023)
        for cpu in stride(from: 0, to: 1024, by: 97) { #expect(m.run(on: cpu) { cpu } == cpu) }
    }
}

/// Test-only site handles (ids 48…63 are left to tests).
extension FaultSiteKey {
    static let toyCPUDown = FaultSiteKey(48, "cpu_down", defaultErrno: .busy)
    static let toyKmalloc = FaultSiteKey(49, "kmalloc", defaultErrno: .noMemory, attr: "failslab")
}

@Suite struct FaultTests {
    let catalog = [
        FaultSiteInfo(.toyCPUDown, layer: .linux, meaning: "x", perCPU: true),
        FaultSiteInfo(.toyKmalloc, layer: .linux, meaning: "y", sized: true),
    ]

    @Test func nthHitOfASiteFails() throws {
        var f = FaultInjector(rules: [try FaultRule(parsing: "kmalloc:nth=2", catalog: catalog)])
        #expect(f.decide(FaultSite("kmalloc")) == nil)
        #expect(f.decide(FaultSite("kmalloc")) == .noMemory)
        #expect(f.decide(FaultSite("kmalloc")) == nil)
    }

    @Test func everyHitForOneCPUFails() throws {
        var f = FaultInjector(rules: [try FaultRule(parsing: "cpu_down:cpu=3:errno=EIO", catalog: catalog)])
        #expect(f.decide(FaultSite("cpu_down", cpu: 2)) == nil)
        #expect(f.decide(FaultSite("cpu_down", cpu: 3)) == .ioError)
        #expect(f.decide(FaultSite("cpu_down", cpu: 3)) == .ioError)
    }

    @Test func badRulesAreExplained() {
        #expect(throws: FaultRuleError.self) { try FaultRule(parsing: "nope", catalog: catalog) }
        #expect(throws: FaultRuleError.self) { try FaultRule(parsing: "kmalloc:cpu=1", catalog: catalog) }
        #expect(throws: FaultRuleError.self) { try FaultRule(parsing: "kmalloc:errno=EWHAT", catalog: catalog) }
        #expect(throws: FaultRuleError.self) { try FaultRule(parsing: "kmalloc:colour=red", catalog: catalog) }
        do {
            _ = try FaultRule(parsing: "nope", catalog: catalog)
        } catch {
            #expect(error.message.contains("cpu_down, kmalloc"))
        }
    }

    @Test func machineRecordsInjectedFaults() throws {
        let m = try Machine(cpuCount: 2, seed: 0, faults: FaultInjector(rules: [FaultRule(site: "kmalloc", errno: .noMemory)]))
        #expect(throws: Errno.noMemory) { try m.check(.toyKmalloc) }
        #expect(m.trace.events.last?.layer == .fault)
    }
}

@Suite struct EventQueueTests {
    @Test func eventsRunInTimeThenSchedulingOrder() throws {
        let m = try Machine(cpuCount: 1, seed: 0, executor: .inline)
        var order: [String] = []
        m.schedule(at: .init(nanoseconds: 50), "b") { order.append("b@\(m.now.nanoseconds)") }
        m.schedule(at: .init(nanoseconds: 10), "a") { order.append("a@\(m.now.nanoseconds)"); m.advance(.ns(100)) }
        m.schedule(at: .init(nanoseconds: 50), "c") { order.append("c@\(m.now.nanoseconds)") }
        #expect(m.runEvents() == 3)
        #expect(order == ["a@10", "b@50", "c@50"])
        #expect(m.horizon.nanoseconds == 110)
    }

    @Test func physicalMemoryIsSparseAndZeroFilled() {
        var mem = PhysicalMemory()
        #expect(mem.read(0x1000, count: 4) == [0, 0, 0, 0])
        mem.write(0x1ffe, [1, 2, 3, 4])
        #expect(mem.read(0x1ffe, count: 4) == [1, 2, 3, 4])
        #expect(mem.residentFrames == 2)
        mem.writeU32(0x10, 0xdeadbeef)
        #expect(mem.readU32(0x10) == 0xdeadbeef)
        mem.zero(0x2000, count: 4096)
        #expect(mem.residentFrames == 2)
    }
}
