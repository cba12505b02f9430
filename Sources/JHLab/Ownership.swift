import JHABI
import JHHypervisor
import JHLinux
import JHMachine

/// What one CPU was doing over a stretch of virtual time: the picture behind the
/// timeline SVG and the Chrome trace's per-CPU tracks.
public struct OwnershipSegment: Hashable, Sendable {
    public var cpu: Int
    public var start: VirtualTime
    public var end: VirtualTime
    /// The owning cell id while the hypervisor is enabled.
    public var owner: UInt32?
    public var ownerName: String?
    public var online: Bool

    /// `tiny-demo`, `QEMU-VM`, `QEMU-VM (offline)`, `Linux`, `offline`.
    public var label: String {
        if let ownerName { return online || owner != 0 ? ownerName : ownerName + " (offline)" }
        if let owner { return "cell \(owner)" }
        return online ? "Linux" : "offline"
    }
}

/// A mark on the timeline: a hypercall, an ioctl, a fault or a failure.
public struct TimelineMark: Hashable, Sendable {
    public enum Kind: String, Sendable { case hypercall, ioctl, fault, failure }
    public var kind: Kind
    public var time: VirtualTime
    public var cpu: Int?
    public var text: String
}

public enum Ownership {
    /// Builds per-CPU segments from the hypervisor's `owner` events, reconciled with the
    /// state snapshot taken after each command (which also carries Linux online state).
    public static func segments(_ session: LabSession) -> [[OwnershipSegment]] {
        let n = session.parameters.cpus
        var current = session.initialCPUs.map { ($0.owner, $0.ownerName, $0.online) }
        var starts = [VirtualTime](repeating: .zero, count: n)
        var out = [[OwnershipSegment]](repeating: [], count: n)
        func change(_ cpu: Int, _ t: VirtualTime, _ owner: UInt32?, _ name: String?, _ online: Bool) {
            guard cpu >= 0, cpu < n else { return }
            let c = current[cpu]
            if c.0 == owner && c.1 == name && c.2 == online { return }
            if starts[cpu] < t {
                out[cpu].append(OwnershipSegment(cpu: cpu, start: starts[cpu], end: t, owner: c.0, ownerName: c.1, online: c.2))
                starts[cpu] = t
            }
            current[cpu] = (owner, name, online)
        }
        let events = session.machine.trace.timeline
        var ei = 0
        for r in session.records {
            while ei < events.count, events[ei].seq < r.endSeq {
                let e = events[ei]
                ei += 1
                // Linux finishing remove_cpu/add_cpu flips the CPU's online state mid-command.
                // (The seed's Linux 5.6 driver calls the exported cpu_down/cpu_up instead.)
                let exported = e.kind == LinuxTrace.cpuDownExportedDone || e.kind == LinuxTrace.cpuUpExportedDone
                if e.layer == .linux, e.phase == .end, e.result == .ok,
                   e.op == "remove_cpu" || e.op == "add_cpu" || exported,
                   let cpu = e.number("cpu"), cpu >= 0, cpu < n {
                    change(cpu, e.time, current[cpu].0, current[cpu].1, e.op == "add_cpu" || e.op == "cpu_up")
                    continue
                }
                guard e.kind == HypervisorTrace.owner, let cpu = e.number("cpu") ?? e.cpu else { continue }
                let id = e.number("cell").map { UInt32(truncatingIfNeeded: $0) }
                change(cpu, e.time, id, e.field("name") ?? id.map { "cell \($0)" }, current[cpu].2)
            }
            for s in r.cpusAfter { change(s.cpu, r.end, s.owner, s.ownerName, s.online) }
        }
        let end = session.machine.now
        for cpu in 0..<n {
            let c = current[cpu]
            let stop = max(end, starts[cpu])
            out[cpu].append(OwnershipSegment(cpu: cpu, start: starts[cpu], end: stop, owner: c.0, ownerName: c.1, online: c.2))
        }
        return out
    }

    /// Hypercalls, ioctls, injected faults and failed steps, in time order.
    public static func marks(_ session: LabSession) -> [TimelineMark] {
        var marks: [TimelineMark] = []
        for e in session.machine.trace.timeline {
            if e.layer == .fault {
                marks.append(TimelineMark(kind: .fault, time: e.time, cpu: e.cpu, text: "fault \(e.detail) \(e.result)"))
            } else if e.op == "hypercall" && e.phase != .end {
                marks.append(TimelineMark(kind: .hypercall, time: e.time, cpu: e.cpu, text: "hypercall \(e.field("name") ?? e.detail)"))
            } else if e.op == "ioctl" && e.phase != .end {
                // Names that read as names in Perfetto: `ioctl JAILHOUSE_CELL_CREATE (pid 1001)`.
                let pid = e.number("pid").map { " (pid \($0))" } ?? ""
                marks.append(TimelineMark(kind: .ioctl, time: e.time, cpu: e.cpu, text: "ioctl \(e.field("name") ?? e.detail)\(pid)"))
            } else if e.layer == .user && e.op == "done", case .error(let err) = e.result {
                marks.append(TimelineMark(kind: .failure, time: e.time, cpu: nil, text: "\(e.detail) failed: \(err.name)"))
            } else if e.op == "panic_park" || e.op == "cpu_failed" {
                marks.append(TimelineMark(kind: .failure, time: e.time, cpu: e.cpu, text: "\(e.op) \(e.detail)"))
            }
        }
        return marks
    }
}
