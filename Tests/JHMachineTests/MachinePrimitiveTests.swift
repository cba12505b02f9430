import Testing
@testable import JHMachine
import JHABI

/// One test per machine primitive the upper layers build on.
@Suite struct MachinePrimitiveTests {
    @Test func waitNeverGoesBackwardsAndHorizonTracksTheLatest() throws {
        let m = try Machine(cpuCount: 1, seed: 0, executor: .inline)
        m.advance(.us(5))
        m.wait(until: VirtualTime(nanoseconds: 1000))
        #expect(m.now.nanoseconds == 5000)
        m.wait(until: VirtualTime(nanoseconds: 9000))
        #expect(m.now.nanoseconds == 9000 && m.horizon.nanoseconds == 9000)
        m.schedule(at: .zero, "early") {}
        m.runEvents()
        #expect(m.now == .zero && m.horizon.nanoseconds == 9000)
    }

    @Test func runEventsHonoursTheLimitAndEventsCanSchedule() throws {
        let m = try Machine(cpuCount: 1, seed: 0, executor: .inline)
        var ran: [String] = []
        m.schedule(at: VirtualTime(nanoseconds: 5), "a") {
            ran.append("a")
            m.schedule(at: m.now + .ns(1), "a2") { ran.append("a2") }
        }
        m.schedule(at: VirtualTime(nanoseconds: 7), "b") { ran.append("b") }
        #expect(m.events.pendingLabels == ["a", "b"])
        #expect(m.runEvents(limit: 1) == 1)
        #expect(m.events.nextTime?.nanoseconds == 6)
        #expect(m.runEvents() == 2 && ran == ["a", "a2", "b"] && m.events.isEmpty)
    }

    @Test func traceLineHashAndCapacity() throws {
        var log = TraceLog(capacity: 2)
        let e = TraceEvent(time: VirtualTime(nanoseconds: 42), kind: ToyTrace.cpuDown, cpu: 3, result: .error(.busy), a: 3)
        #expect(e.line == "42 cpu3 linux > cpu_down cpu=3 -EBUSY")
        #expect(TraceEvent(time: .zero, kind: MachineTrace.inject, result: .value(-5)).line == "0 - fault inject = -5")
        log.append(e); log.append(e)
        let h2 = log.hash
        log.append(e)
        // Old events are dropped in batches: up to a quarter capacity (here 1) is kept
        // beyond the capacity, then the log shrinks back to the newest `capacity`.
        #expect(log.events.count == 3 && log.droppedCount == 0 && log.recordedCount == 3)
        #expect(log.hash != h2 && log.hashHex.count == 16)
        log.append(e)
        #expect(log.events.count == 2 && log.droppedCount == 2 && log.recordedCount == 4)
        #expect(log.events.map(\.seq) == [2, 3])
    }

    @Test func virtualTimeFormats() {
        #expect(VirtualTime(nanoseconds: 1_234_567_890).dmesgStamp == "1.234567")
        #expect(VirtualTime(nanoseconds: 5_000).dmesgStamp == "0.000005")
        #expect(VirtualDuration.ns(850).description == "850ns")
        #expect(VirtualDuration.us(12).description == "12.0us")
        #expect(VirtualDuration.ms(4).description == "4.00ms")
        #expect(VirtualDuration.ms(1500).description == "1.500s")
        #expect(VirtualDuration.us(3) * 2 == .us(6) && VirtualDuration.us(3) * -1 == .zero)
        #expect(VirtualTime(nanoseconds: 5) - VirtualTime(nanoseconds: 9) == .zero)
    }

    @Test func costModelByName() {
        var c = CostModel()
        let known = c.set("ipi", nanoseconds: 2000)
        let unknown = c.set("warp_drive", nanoseconds: 1)
        #expect(known && c.ipi == .us(2) && !unknown)
        #expect(Set(CostModel.names.map(\.0)).count == CostModel.names.count)
    }

    @Test func faultRuleRoundTripAndSiteCounting() throws {
        let catalog = [FaultSiteInfo(.toyCPUDown, layer: .linux, meaning: "x", perCPU: true)]
        let r = try FaultRule(parsing: "cpu_down:cpu=3:state=CPUHP_AP_ACTIVE:nth=2:errno=EIO", catalog: catalog)
        #expect(r.description == "cpu_down:cpu=3:state=CPUHP_AP_ACTIVE:nth=2:errno=EIO")
        #expect(try FaultRule(parsing: r.description, catalog: catalog) == r)
        var f = FaultInjector(rules: [r])
        f.countsSites = true
        #expect(f.decide(FaultSite("cpu_down", cpu: 3, detail: "CPUHP_AP_ACTIVE")) == nil)
        #expect(f.decide(FaultSite("cpu_down", cpu: 3, detail: "CPUHP_TEARDOWN_CPU")) == nil)
        #expect(f.decide(FaultSite("cpu_down", cpu: 3, detail: "CPUHP_AP_ACTIVE")) == .ioError)
        #expect(f.siteHits["cpu_down"] == 3)
        #expect(FaultSite("kmalloc", detail: "cfg").description == "kmalloc:cfg")
    }

    @Test func statusLinesAndHangReports() throws {
        let m = try Machine(cpuCount: 2, seed: 0, executor: .inline)
        #expect(m.statusLine(1) == "cpu1: powered")
        m.addStatusProvider("linux") { $0 == 0 ? "online" : "offline" }
        m.addStatusProvider("hv") { _ in "root" }
        #expect(m.statusLine(1) == "cpu1: linux: offline; hv: root")
        let hang = SimulationHang(waiter: "cpu0", reason: "inmate never replies", machine: m)
        #expect(hang.cpuStatus.count == 2)
        #expect(hang.description.contains("waits forever: inmate never replies"))
        #expect(hang.description.contains("cpu0: linux: online; hv: root"))
    }

    @Test func rngIsSeededAndForksIndependently() {
        var a = SplitMix64(seed: 9), b = SplitMix64(seed: 9)
        #expect(a.next() == b.next())
        var fa = a.fork()
        _ = b.next()
        #expect(fa.next() != a.next())
        #expect(SplitMix64(seed: 1).state != SplitMix64(seed: 2).state)
    }

    @Test func broadcastWorkMayNotRecordThroughTheMachineButItsContextWorks() throws {
        let m = try Machine(cpuCount: 3, seed: 0)
        let r = m.broadcast([0, 1, 2]) { cpu, ctx in
            ctx.record(ToyTrace.park, a: cpu)
            return ctx.cpu
        }
        #expect(r == [0, 1, 2])
        #expect(m.trace.events.map(\.cpu) == [0, 1, 2])
        #expect(m.broadcast([]) { c, _ in c }.isEmpty)
    }
}
