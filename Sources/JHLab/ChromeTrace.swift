import JHABI
import JHMachine

/// `jhsim trace --chrome FILE.json`: the Chrome trace event format, which Perfetto and
/// chrome://tracing open.
///
/// Process 1 is the box. Thread 0 carries the commands (one slice each); thread k+1 is
/// vCPU k, with non-overlapping complete slices for who owns the CPU, and instant events
/// for hypercalls, ioctls and faults. A counter tracks how many CPUs Linux has online.
/// Timestamps are microseconds of virtual time (fractions keep nanosecond precision).
public enum ChromeTrace {
    static func us(_ t: VirtualTime) -> JSONValue { micro(t.nanoseconds) }
    static func micro(_ ns: UInt64) -> JSONValue {
        // Exact decimal microseconds: integer part and three fraction digits.
        let frac = ns % 1000
        if frac == 0 { return .int(Int64(ns / 1000)) }
        return .raw("\(ns / 1000).\(String(repeating: "0", count: 3 - String(frac).count))\(frac)")
    }

    public static func render(_ session: LabSession) -> String {
        var ev: [JSONValue] = []
        func meta(_ name: String, tid: Int, _ value: String) {
            ev.append(.object([("name", .string(name)), ("ph", .string("M")), ("ts", .int(0)), ("pid", .int(1)),
                               ("tid", .int(Int64(tid))), ("args", .object([("name", .string(value))]))]))
        }
        meta("process_name", tid: 0, "jhsim box (\(session.parameters.cpus) CPUs, seed \(session.parameters.seed), \(session.parameters.profile))")
        meta("thread_name", tid: 0, "commands")
        for cpu in 0..<session.parameters.cpus { meta("thread_name", tid: cpu + 1, "vCPU \(cpu)") }
        // Linux hotplug work per CPU (cpu_down/cpu_up spans) on tracks of their own, so
        // the teardown and bring-up time is visible next to the ownership track.
        var open: [Int: (String, VirtualTime)] = [:]
        var hotplugTracks = Set<Int>()
        for e in session.machine.trace.timeline where e.layer == .linux && (e.op == "cpu_down" || e.op == "cpu_up") {
            guard let cpu = e.number("cpu"), cpu >= 0 else { continue }
            if e.phase == .begin {
                open[cpu] = (e.op, e.time)
            } else if e.phase == .end, let (op, start) = open.removeValue(forKey: cpu) {
                if !hotplugTracks.contains(cpu) {
                    hotplugTracks.insert(cpu)
                    meta("thread_name", tid: 1000 + cpu, "vCPU \(cpu) hotplug")
                }
                ev.append(.object([
                    ("name", .string(op + " " + e.result.description)), ("cat", .string("hotplug")), ("ph", .string("X")),
                    ("ts", us(start)), ("dur", micro((e.time - start).nanoseconds)), ("pid", .int(1)),
                    ("tid", .int(Int64(1000 + cpu))), ("args", .object([("detail", .string(e.detail))])),
                ]))
            }
        }
        for r in session.records {
            ev.append(.object([
                ("name", .string(r.displayLine)), ("cat", .string("command")), ("ph", .string("X")),
                ("ts", us(r.start)), ("dur", micro((r.end - r.start).nanoseconds)), ("pid", .int(1)), ("tid", .int(0)),
                ("args", .object([("result", .string(r.outcome.errno?.name ?? "0"))])),
            ]))
        }
        for lane in Ownership.segments(session) {
            for s in lane where s.end > s.start {
                ev.append(.object([
                    ("name", .string(s.label)), ("cat", .string("owner")), ("ph", .string("X")),
                    ("ts", us(s.start)), ("dur", micro((s.end - s.start).nanoseconds)), ("pid", .int(1)),
                    ("tid", .int(Int64(s.cpu + 1))),
                    ("args", .object([("owner", s.owner.map { .int(Int64($0)) } ?? .null), ("online", .bool(s.online))])),
                ]))
            }
        }
        for m in Ownership.marks(session) {
            ev.append(.object([
                ("name", .string(m.text)), ("cat", .string(m.kind.rawValue)), ("ph", .string("i")),
                ("s", .string(m.cpu == nil ? "p" : "t")), ("ts", us(m.time)), ("pid", .int(1)),
                ("tid", .int(Int64((m.cpu ?? -1) + 1))),
            ]))
        }
        var online = session.initialCPUs.filter(\.online).count
        ev.append(.object([("name", .string("online CPUs")), ("ph", .string("C")), ("ts", .int(0)), ("pid", .int(1)),
                           ("tid", .int(0)), ("args", .object([("online", .int(Int64(online)))]))]))
        for r in session.records {
            let now = r.cpusAfter.filter(\.online).count
            if now != online {
                online = now
                ev.append(.object([("name", .string("online CPUs")), ("ph", .string("C")), ("ts", us(r.end)), ("pid", .int(1)),
                                   ("tid", .int(0)), ("args", .object([("online", .int(Int64(online)))]))]))
            }
        }
        return JSONValue.object([("traceEvents", .array(ev)), ("displayTimeUnit", .string("ns"))]).text(indent: 1) + "\n"
    }
}
