import Foundation
import JHLab
import JHMachine

/// Text and JSON forms of a churn result.
public enum ChurnReport {
    /// The phases in the order a create meets them, then the destroy-only one.
    static let phaseOrder: [CostPhase] = [.lockWait, .cpuDown, .hypercall, .suspension, .park, .cpuUp, .other]

    public static func text(_ r: ChurnResult) -> String {
        let o = r.options
        let who = o.processes == 1 ? "of a \(o.cellCPUs)-CPU cell" : "by \(o.processes) processes, each with its own \(o.cellCPUs)-CPU cell,"
        var s = "jhsim bench churn: \(r.cycles) create+destroy cycles \(who) on \(r.workload.machineName) (\(o.cpus) CPUs), "
            + "\(o.executor.rawValue) executor, trace \(o.traceLevel.rawValue), seed \(o.seed)\n"
        if let note = r.workload.note { s += "note: \(note)\n" }
        s += "\nwall clock (this simulator on this machine)\n"
        var rows: [(String, String)] = [
            ("cycles/s", grouped(r.cyclesPerSecond)),
            ("per cycle p50", duration(r.perCycle.percentile(50))),
            ("per cycle p99", duration(r.perCycle.percentile(99))),
            ("per cycle max", duration(r.perCycle.max)),
            ("loop total", duration(r.wallNs)),
            ("CPU time per cycle", duration(r.cycles > 0 ? r.cpuNs / UInt64(r.cycles) : 0) + " (all threads; \(grouped(r.cyclesPerCPUSecond)) cycles per CPU-second)"),
            ("mallocs per cycle", r.mallocsPerCycle.map { grouped($0) } ?? "n/a (\(r.mallocReason ?? "not measured"))"),
            ("peak RSS", bytes(r.peakRSSBytes)),
        ]
        if let h = r.handoffNs, let per = r.handoffsPerCycle {
            rows.append(("bare handoff", duration(h)))
            rows.append(("handoffs per cycle", fixed(per, 1)))
            if let limit = r.handoffLimitCyclesPerSecond, let eff = r.handoffEfficiency {
                rows.append(("handoff-bound limit", "\(grouped(limit)) cycles/s (this run reached \(fixed(eff * 100, 1)) %)"))
            }
        }
        for (k, v) in rows { s += "  " + pad(k, 22) + v + "\n" }

        s += "\nmodelled real-system time per operation (cost model, virtual time; mean)\n"
        s += "  " + pad("phase", 14) + lpad("create", 12) + lpad("destroy", 12) + "\n"
        for p in phaseOrder {
            s += "  " + pad(p.name, 14) + lpad(duration(r.create.meanNs(p)), 12) + lpad(duration(r.destroy.meanNs(p)), 12) + "\n"
        }
        s += "  " + pad("total", 14) + lpad(duration(r.create.meanNs), 12) + lpad(duration(r.destroy.meanNs), 12) + "\n"
        if o.processes > 1 {
            s += "  " + pad("max", 14) + lpad(duration(r.create.maxNs), 12) + lpad(duration(r.destroy.maxNs), 12) + "\n"
            s += "  " + pad("waited (ops)", 14) + lpad(String(r.create.waitedForLock), 12) + lpad(String(r.destroy.waitedForLock), 12) + "\n"
        }
        if r.create.meanNs > 0, r.cyclesPerSecond > 0 {
            let perReal = Double(r.create.meanNs) / 1e9 * r.cyclesPerSecond
            s += "\nOne modelled create (\(duration(r.create.meanNs))) lasts as long as \(grouped(perReal)) simulated create+destroy cycles here.\n"
        }
        s += "trace: \(o.traceLevel.rawValue), \(grouped(Double(r.traceEventsRecorded))) events recorded, \(r.traceEventsKept) kept"
            + (r.traceHash.map { ", hash \($0)" } ?? "") + "\n"
        return s
    }

    public static func json(_ r: ChurnResult) -> JSONValue {
        let o = r.options
        func breakdown(_ m: ModelledOperation) -> JSONValue {
            .object(phaseOrder.map { ($0.name, .int(Int64(m.meanNs($0)))) })
        }
        func number(_ v: Double?) -> JSONValue { v.map { .raw(fixed($0, 3)) } ?? .null }
        var pairs: [(String, JSONValue)] = [
            ("kind", .string("churn")),
            ("executor", .string(o.executor.rawValue)),
            ("machine", .string(r.workload.machineName)),
            ("cpus", .int(Int64(o.cpus))),
            ("cellCpus", .int(Int64(o.cellCPUs))),
            ("processes", .int(Int64(o.processes))),
            ("seed", .int(Int64(bitPattern: o.seed))),
            ("cycles", .int(Int64(r.cycles))),
            ("wallNs", .int(Int64(r.wallNs))),
            ("cyclesPerSecond", number(r.cyclesPerSecond)),
            ("wallP50Ns", .int(Int64(r.perCycle.percentile(50)))),
            ("wallP99Ns", .int(Int64(r.perCycle.percentile(99)))),
            ("wallMaxNs", .int(Int64(r.perCycle.max))),
            ("cpuNs", .int(Int64(r.cpuNs))),
            ("cyclesPerCPUSecond", number(r.cyclesPerCPUSecond)),
            ("virtualCreateNs", .int(Int64(r.create.meanNs))),
            ("virtualDestroyNs", .int(Int64(r.destroy.meanNs))),
            ("virtualCreateMaxNs", .int(Int64(r.create.maxNs))),
            ("virtualDestroyMaxNs", .int(Int64(r.destroy.maxNs))),
            ("virtualCreateBreakdownNs", breakdown(r.create)),
            ("virtualDestroyBreakdownNs", breakdown(r.destroy)),
            ("createsThatWaitedForLock", .int(Int64(r.create.waitedForLock))),
            ("destroysThatWaitedForLock", .int(Int64(r.destroy.waitedForLock))),
            ("mallocsPerCycle", number(r.mallocsPerCycle)),
        ]
        if r.mallocsPerCycle == nil { pairs.append(("mallocsPerCycleReason", .string(r.mallocReason ?? "not measured"))) }
        pairs += [
            ("peakRSSBytes", .int(Int64(r.peakRSSBytes))),
            ("handoffNs", r.handoffNs.map { .int(Int64($0)) } ?? .null),
            ("handoffsPerCycle", number(r.handoffsPerCycle)),
            ("handoffLimitCyclesPerSecond", number(r.handoffLimitCyclesPerSecond)),
            ("handoffEfficiency", number(r.handoffEfficiency)),
            ("traceLevel", .string(o.traceLevel.rawValue)),
            ("traceEventsRecorded", .int(Int64(r.traceEventsRecorded))),
            ("traceEventsKept", .int(Int64(r.traceEventsKept))),
            ("traceHash", r.traceHash.map { .string($0) } ?? .null),
        ]
        return .object(pairs)
    }

    // MARK: Formatting

    static func fixed(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", v) }

    /// 1234567.8 → `1,234,568`; below 10 with one decimal.
    static func grouped(_ v: Double) -> String {
        if v < 10 { return fixed(v, 1) }
        let digits = String(Int64(v.rounded()))
        var out = ""
        for (i, ch) in digits.reversed().enumerated() {
            if i > 0, i % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return String(out.reversed())
    }

    static func duration(_ ns: UInt64) -> String {
        let n = Double(ns)
        if ns < 1_000 { return "\(ns) ns" }
        if ns < 1_000_000 { return fixed(n / 1e3, 1) + " µs" }
        if ns < 1_000_000_000 { return fixed(n / 1e6, 2) + " ms" }
        return fixed(n / 1e9, 3) + " s"
    }

    static func bytes(_ b: UInt64) -> String { fixed(Double(b) / 1_048_576, 1) + " MiB" }

    static func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: max(1, w - s.count)) }
    static func lpad(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(1, w - s.count)) + s }
}
