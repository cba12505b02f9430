import Foundation
@testable import JHBench
import JHLab
import JHABI
import JHMachine
import Testing

/// Parses the JSON text of a report into a dictionary.
func object(_ value: JSONValue) throws -> [String: Any] {
    let data = Data(value.text(indent: 2).utf8)
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

@Suite struct ChurnTests {
    static let requiredKeys = [
        "executor", "cpus", "cellCpus", "cycles", "cyclesPerSecond", "wallP50Ns", "wallP99Ns", "virtualCreateNs",
        "virtualDestroyNs", "mallocsPerCycle", "peakRSSBytes", "handoffNs", "handoffsPerCycle", "handoffLimitCyclesPerSecond",
    ]

    @Test func jsonHasEveryFieldAndCyclesPerSecondTimesWallIsTheCycleCount() throws {
        let r = try ChurnBench(options: ChurnOptions(stop: .cycles(12), executor: .inline)).run()
        let j = try object(ChurnReport.json(r))
        for key in Self.requiredKeys { #expect(j.keys.contains(key), "missing \(key)") }
        #expect(j["cycles"] as? Int == 12)
        #expect(j["executor"] as? String == "inline")
        let perSecond = try #require(j["cyclesPerSecond"] as? Double)
        let wallNs = try #require(j["wallNs"] as? Double)
        #expect(abs(perSecond * wallNs / 1e9 - 12) < 0.01)
        let p50 = try #require(j["wallP50Ns"] as? Int), p99 = try #require(j["wallP99Ns"] as? Int)
        let max = try #require(j["wallMaxNs"] as? Int)
        #expect(p50 > 0 && p50 <= p99 && p99 <= max)
        // No malloc counter in a test bundle: null, with the reason beside it.
        #expect(j["mallocsPerCycle"] is NSNull)
        #expect((j["mallocsPerCycleReason"] as? String)?.isEmpty == false)
        // The inline executor hands nothing off.
        #expect(j["handoffNs"] is NSNull)
        #expect((j["peakRSSBytes"] as? Int ?? 0) > 0)
    }

    @Test func dispatchReportsHandoffsMeasuredInTheSameRun() throws {
        let r = try ChurnBench(options: ChurnOptions(stop: .cycles(5), executor: .dispatch)).run()
        let j = try object(ChurnReport.json(r))
        let handoffNs = try #require(j["handoffNs"] as? Double)
        let perCycle = try #require(j["handoffsPerCycle"] as? Double)
        let limit = try #require(j["handoffLimitCyclesPerSecond"] as? Double)
        #expect(handoffNs > 0 && perCycle >= 1)
        // Anyone can recompute the limit from the two figures beside it.
        #expect(abs(limit - 1e9 / (handoffNs * perCycle)) / limit < 0.001)
        #expect(r.handoffs == Int((perCycle * 5).rounded()))
    }

    @Test func modelledBreakdownSumsToTheModelledTotal() throws {
        let r = try ChurnBench(options: ChurnOptions(stop: .cycles(3), executor: .inline)).run()
        for op in [r.create, r.destroy] {
            #expect(op.count == 3)
            #expect(op.phaseNs.reduce(0, +) == op.totalNs)
        }
        // The phases come from where the model spends its time: hotplug dominates.
        #expect(r.create.meanNs(.cpuDown) > r.create.meanNs / 2)
        #expect(r.create.meanNs(.cpuUp) == 0)
        #expect(r.destroy.meanNs(.cpuUp) > r.destroy.meanNs / 2)
        #expect(r.destroy.meanNs(.cpuDown) == 0)
        for p in [CostPhase.hypercall, .suspension, .park] {
            #expect(r.create.meanNs(p) > 0, "\(p.name)")
            #expect(r.destroy.meanNs(p) > 0, "\(p.name)")
        }
        #expect(r.create.meanNs(.lockWait) == 0)
        // The JSON breakdown adds up to the JSON total (within rounding of the means).
        let j = try object(ChurnReport.json(r))
        let parts = try #require(j["virtualCreateBreakdownNs"] as? [String: Int])
        let total = try #require(j["virtualCreateNs"] as? Int)
        #expect(abs(parts.values.reduce(0, +) - total) <= parts.count)
    }

    @Test func processesContendForJailhouseLockInModelledTime() throws {
        let one = try ChurnBench(options: ChurnOptions(stop: .cycles(8), executor: .inline, processes: 1)).run()
        let two = try ChurnBench(options: ChurnOptions(stop: .cycles(8), executor: .inline, processes: 2)).run()
        #expect(two.cycles == 8)
        #expect(two.create.phaseNs[CostPhase.lockWait.rawValue] > 0)
        #expect(two.create.waitedForLock + two.destroy.waitedForLock > 0)
        #expect(two.create.meanNs > one.create.meanNs)
        #expect(two.create.phaseNs.reduce(0, +) == two.create.totalNs)
        #expect(one.create.waitedForLock == 0 && one.destroy.waitedForLock == 0)
        let text = ChurnReport.text(two)
        #expect(text.contains("waited (ops)"))
    }

    @Test func bothExecutorsRunTheSameSimulation() throws {
        let a = try ChurnBench(options: ChurnOptions(stop: .cycles(4), executor: .inline, processes: 2, traceLevel: .hash)).run()
        let b = try ChurnBench(options: ChurnOptions(stop: .cycles(4), executor: .dispatch, processes: 2, traceLevel: .hash)).run()
        #expect(a.traceHash != nil && a.traceHash == b.traceHash)
        #expect(a.create == b.create && a.destroy == b.destroy)
    }

    @Test func traceLevelsChangeWhatIsKeptNotWhatHappens() throws {
        func run(_ level: TraceLevel, cycles: Int) throws -> ChurnResult {
            try ChurnBench(options: ChurnOptions(stop: .cycles(cycles), executor: .inline, processes: 2, traceLevel: level)).run()
        }
        let off = try run(.off, cycles: 6), hash = try run(.hash, cycles: 6), full = try run(.full, cycles: 6)
        #expect(off.create == hash.create && hash.create == full.create)
        #expect(off.destroy == full.destroy && off.virtualEndNs == full.virtualEndNs)
        #expect(off.traceHash == nil && hash.traceHash == full.traceHash)
        #expect(off.traceEventsRecorded == full.traceEventsRecorded)
        #expect(off.traceEventsKept == 0 && hash.traceEventsKept == 0 && full.traceEventsKept > 0)
        // A longer lean run keeps no more than a short one: memory does not grow with cycles.
        let long = try run(.hash, cycles: 30)
        #expect(long.traceEventsRecorded > 4 * hash.traceEventsRecorded)
        #expect(long.traceEventsKept == 0)
        let j = try object(ChurnReport.json(off))
        #expect(j["traceLevel"] as? String == "off" && j["traceHash"] is NSNull)
    }

    @Test func secondsBoundRunStops() throws {
        let r = try ChurnBench(options: ChurnOptions(stop: .seconds(0.05), executor: .inline)).run()
        #expect(r.cycles >= 1)
        #expect(r.create.count == r.cycles && r.destroy.count == r.cycles)
    }

    @Test func fourCPUsUseQemuX86UnlessItHasNoFittingCells() {
        #expect(ChurnWorkload.make(cpus: 4, cellCPUs: 1, processes: 2).machineName == "qemu-x86")
        #expect(ChurnWorkload.make(cpus: 4, cellCPUs: 3, processes: 1).cells.map(\.name) == ["smp-demo"])
        // Whatever the built-ins are: either they fit (disjoint, k CPUs, never CPU 0) or
        // the machine is synthesised and the report says why.
        for (k, p) in [(1, 1), (1, 2), (1, 3), (2, 1), (3, 1)] {
            let w = ChurnWorkload.make(cpus: 4, cellCPUs: k, processes: p)
            #expect(w.cells.count == p)
            #expect(w.cells.allSatisfy { $0.cpus.count == k && !$0.cpus.contains(0) })
            #expect(w.cells.reduce(0) { $0 + $1.cpus.count } == w.cells.reduce(CPUSet()) { $0.union($1.cpus) }.count)
            #expect(w.machineName == "qemu-x86" ? w.note == nil : (w.machineName == "synth-4" && w.note != nil))
        }
        let big = ChurnWorkload.make(cpus: 64, cellCPUs: 8, processes: 3)
        #expect(big.machineName == "synth-64" && big.cells.count == 3 && big.note == nil)
        #expect(big.cells[2].cpus.count == 8 && !big.cells.contains { $0.cpus.contains(0) })
    }

    @Test func synthesisedMachineChurns() throws {
        let r = try ChurnBench(options: ChurnOptions(cpus: 16, cellCPUs: 8, stop: .cycles(2), executor: .inline)).run()
        let small = try ChurnBench(options: ChurnOptions(cpus: 16, cellCPUs: 1, stop: .cycles(2), executor: .inline)).run()
        #expect(r.workload.machineName == "synth-16")
        // Every CPU of the cell is parked and taken down one by one.
        #expect(r.create.meanNs(.park) == 8 * small.create.meanNs(.park))
        #expect(r.create.meanNs(.cpuDown) == 8 * small.create.meanNs(.cpuDown))
        #expect(r.create.phaseNs.reduce(0, +) == r.create.totalNs)
    }
}

@Suite struct HistogramTests {
    @Test func percentilesAreWithinTheBucketPrecision() {
        var h = LatencyHistogram()
        for v in 1 ... 10_000 { h.record(UInt64(v) * 1000) }
        for (p, exact) in [(50.0, 5_000_000.0), (99.0, 9_900_000.0)] {
            let got = Double(h.percentile(p))
            #expect(abs(got - exact) / exact < 0.02, "p\(p) = \(got)")
        }
        #expect(h.max == 10_000_000)
        #expect(h.percentile(100) <= h.max)
        #expect(h.count == 10_000)
    }

    @Test func smallValuesAreExact() {
        var h = LatencyHistogram()
        for v in [3, 3, 3, 60] { h.record(UInt64(v)) }
        #expect(h.percentile(50) == 3)
        #expect(h.percentile(100) == 60)
    }
}
