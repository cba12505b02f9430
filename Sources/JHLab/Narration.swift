import JHABI
import JHMachine

/// Plain-words explanations of trace steps for `jhsim trace --explain` and the demo.
///
/// A table keyed by (layer, op) says what the step means and which C function it
/// mirrors; steps without an entry fall back to their own `mirrors` field, so a new
/// trace point in a lower layer is still explained, only less warmly.
public enum Narration {
    struct Entry: Sendable {
        var text: @Sendable (TraceEvent, Fields) -> String
        var mirrors: String?
        /// Shown in the demo's short explanations (layer crossings, ownership, consent).
        var key = true
    }

    /// An event's typed arguments by the names its kind gives them (`cpu`, `cell`,
    /// `state`…), formatted as the trace shows them; read only when narrating.
    public struct Fields: Sendable {
        let event: TraceEvent
        init(_ e: TraceEvent) { event = e }
        subscript(_ k: String) -> String? { event.field(k) }
        func cpu(_ e: TraceEvent) -> String { event.field("cpu") ?? e.cpu.map(String.init) ?? "?" }
        /// The ioctl or hypercall name (the `name` field), else the whole detail.
        var name: String { event.field("name") ?? raw }
        /// The whole detail text.
        var raw: String { event.detail }
    }

    static func key(_ l: TraceLayer, _ op: String) -> String { l.rawValue + "/" + op }

    static func removeCPU(_ e: TraceEvent, _ f: Fields) -> String {
        let c = f.cpu(e)
        switch (e.phase, e.result) {
        case (.begin, _):
            return "driver → linux: remove_cpu(\(c)) — jailhouse_cmd_cell_create takes CPU \(c) away from Linux before the hypervisor may give it to the cell"
        case (_, .error(let err)):
            return "linux: remove_cpu(\(c)) failed with -\(err.name); the driver must roll back what it already did"
        case (_, .value(1)):
            return "linux: CPU \(c) was already offline, nothing to do"
        default:
            return "linux: CPU \(c) is offline now; Linux no longer schedules anything on it"
        }
    }

    static func addCPU(_ e: TraceEvent, _ f: Fields) -> String {
        let c = f.cpu(e)
        switch (e.phase, e.result) {
        case (.begin, _):
            return "driver → linux: add_cpu(\(c)) — the driver gives CPU \(c) back to Linux (INIT/SIPI through the hypervisor)"
        case (_, .error(let err)):
            return "linux: add_cpu(\(c)) failed with -\(err.name); the CPU stays offline"
        case (_, .value(1)):
            return "linux: CPU \(c) was already online"
        default:
            return "linux: CPU \(c) is online again and back in Linux's hands"
        }
    }

    static let table: [String: Entry] = [
        key(.user, "command"): Entry(text: { _, f in "user: runs `jhsim \(f.raw)`" }, mirrors: nil, key: false),
        key(.user, "program"): Entry(text: { _, f in "user: runs `\(f.raw)` (a real program, through libjhsim-preload)" },
                                     mirrors: nil, key: false),
        key(.user, "done"): Entry(text: { e, _ in
            switch e.result {
            case .error(let err): "user: the command failed with \(err.name) (\(err.message))"
            default: "user: the command finished"
            }
        }, mirrors: nil, key: false),
        key(.driver, "ioctl"): Entry(text: { e, f in
            e.phase == .end
                ? "driver: \(f.name) returns \(resultWords(e.result)) to user space"
                : "user → driver: ioctl \(f.name) on /dev/jailhouse"
        }, mirrors: "jailhouse_ioctl (driver/main.c)"),
        key(.driver, "open"): Entry(text: { e, _ in
            "user → driver: open(\"/dev/jailhouse\")\(e.result == .ok ? "" : " → \(resultWords(e.result))")"
        }, mirrors: "jailhouse_fops (driver/main.c)", key: false),
        key(.linux, "remove_cpu"): Entry(text: removeCPU, mirrors: "remove_cpu (kernel/cpu.c)"),
        key(.linux, "add_cpu"): Entry(text: addCPU, mirrors: "add_cpu (kernel/cpu.c)"),
        key(.driver, "remove_cpu"): Entry(text: { e, f in
            "driver: remove_cpu(\(f.cpu(e))) failed with \(resultWords(e.result)) — jailhouse_cmd_cell_create jumps to its error_cpu_online rollback"
        }, mirrors: "jailhouse_cmd_cell_create (driver/cell.c)"),
        key(.driver, "add_cpu"): Entry(text: { e, f in
            "driver: add_cpu(\(f.cpu(e)))\(f.raw.contains("rollback") ? " during the rollback" : "") → \(resultWords(e.result))"
        }, mirrors: "jailhouse_cmd_cell_create / cell_destroy (driver/cell.c)", key: false),
        key(.driver, "offlined_cpus"): Entry(text: { e, f in
            "driver: notes CPU \(f.cpu(e)) in offlined_cpus (\(f["now"] ?? "?")) so destroy gives it back"
        }, mirrors: "offlined_cpus (driver/cell.c)", key: false),
        key(.driver, "cpumask_subset"): Entry(text: { e, f in
            "driver: are the cell's CPUs (\(f["cell"] ?? "?")) all still the root cell's (\(f["root"] ?? "?"))? \(e.result == .ok || e.result == .none ? "" : "No → \(resultWords(e.result))")"
        }, mirrors: "cpumask_subset in jailhouse_cmd_cell_create (driver/cell.c)"),
        key(.driver, "cpu_down"): Entry(text: { e, f in
            "driver: cpu_down(\(f.cpu(e))) — jailhouse_cmd_cell_create takes CPU \(f.cpu(e)) away from Linux before the hypervisor may give it to the cell"
        }, mirrors: "remove_cpu (kernel/cpu.c), called from jailhouse_cmd_cell_create"),
        key(.driver, "cpu_up"): Entry(text: { e, f in
            "driver: cpu_up(\(f.cpu(e))) — the driver gives CPU \(f.cpu(e)) back to Linux (destroy or rollback)"
        }, mirrors: "add_cpu (kernel/cpu.c)"),
        key(.driver, "hypercall"): Entry(text: { e, f in
            "driver → hypervisor: \(f.name)\(e.result == .none ? "" : " answers \(resultWords(e.result))")"
        }, mirrors: "jailhouse_call_arg1 (driver/main.h)"),
        key(.hypervisor, "hypercall"): Entry(text: { e, f in
            e.phase == .end
                ? "hypervisor: \(f.name) returns \(resultWords(e.result))"
                : "driver → hypervisor: hypercall \(f.name)\(e.result == .none ? "" : ", result \(resultWords(e.result))")"
        }, mirrors: "hypercall (hypervisor/control.c)"),
        key(.hypervisor, "owner"): Entry(text: { e, f in
            "hypervisor: CPU \(f.cpu(e)) now belongs to cell \(f["cell"] ?? "?") (\(f["name"] ?? "?"))"
        }, mirrors: "per_cpu(cpu)->cell = cell (hypervisor/control.c)"),
        key(.hypervisor, "suspend"): Entry(text: { e, f in
            "hypervisor: suspends CPU \(f.cpu(e)) so its cell cannot run while the configuration changes"
        }, mirrors: "suspend_cpu (hypervisor/arch/x86/control.c)", key: false),
        key(.hypervisor, "resume"): Entry(text: { e, f in
            "hypervisor: resumes CPU \(f.cpu(e))"
        }, mirrors: "resume_cpu (hypervisor/arch/x86/control.c)", key: false),
        key(.hypervisor, "park"): Entry(text: { e, f in
            "hypervisor: parks CPU \(f.cpu(e)) (halted in wait-for-SIPI until someone restarts it)"
        }, mirrors: "arch_park_cpu (hypervisor/arch/x86/control.c)"),
        key(.hypervisor, "panic_park"): Entry(text: { e, f in
            "hypervisor: CPU \(f.cpu(e)) failed and is panic-parked"
        }, mirrors: "panic_park (hypervisor/control.c)"),
        key(.hypervisor, "message"): Entry(text: { e, f in
            let cell = f["cell"] ?? "?", msg = f["msg"] ?? "?"
            if e.phase == .begin { return "hypervisor: sends \(msg) to cell \(cell) through its comm region and waits for the answer" }
            if e.phase == .end, let reply = f["reply"] {
                return "hypervisor: cell \(cell) answers \(reply)\(e.result == .ok ? "" : " → \(resultWords(e.result))")"
            }
            if e.phase == .end { return "hypervisor: no answer from cell \(cell) to \(msg) → \(resultWords(e.result))" }
            return "hypervisor: cell \(cell) has a passive comm region, so \(msg) needs no answer"
        }, mirrors: "cell_exchange_message (hypervisor/control.c)"),
        key(.hypervisor, "cell_create"): Entry(text: { e, f in
            e.result == .ok
                ? "hypervisor: cell \(f["id"] ?? "?") (\(f["name"] ?? "?")) exists now; its CPUs wait parked"
                : "hypervisor: cell_create fails with \(resultWords(e.result)); everything it set up is undone"
        }, mirrors: "cell_create (hypervisor/control.c)"),
        key(.hypervisor, "cell_start"): Entry(text: { e, f in
            e.result == .ok ? "hypervisor: resets the CPUs of \(f["name"] ?? "the cell") and lets them run the inmate"
                : "hypervisor: cell_start fails with \(resultWords(e.result))"
        }, mirrors: "cell_start (hypervisor/control.c)"),
        key(.hypervisor, "cell_set_loadable"): Entry(text: { e, f in
            e.result == .ok ? "hypervisor: stops \(f["name"] ?? "the cell"), parks its CPUs and maps its loadable memory into the root cell"
                : "hypervisor: cell_set_loadable → \(resultWords(e.result))"
        }, mirrors: "cell_set_loadable (hypervisor/control.c)"),
        key(.hypervisor, "cell_destroy"): Entry(text: { _, f in
            "hypervisor: destroys \(f["name"] ?? "the cell"); its CPUs and memory go back to the root cell"
        }, mirrors: "cell_destroy (hypervisor/control.c)"),
        key(.hypervisor, "prologue"): Entry(text: { e, f in
            "hypervisor: refuses the management call (\(f.raw)) → \(resultWords(e.result))"
        }, mirrors: "cell_management_prologue (hypervisor/control.c)"),
        key(.hypervisor, "reconfig_check"): Entry(text: { e, _ in
            "hypervisor: another cell has locked the configuration → \(resultWords(e.result))"
        }, mirrors: "cell_reconfig_ok (hypervisor/control.c)"),
        key(.hypervisor, "cell_exists"): Entry(text: { e, f in
            "hypervisor: a cell with id or name \(f["name"] ?? "?") exists already → \(resultWords(e.result))"
        }, mirrors: "cell_create (hypervisor/control.c)"),
        key(.hypervisor, "cpu_check"): Entry(text: { e, f in
            "hypervisor: CPUs \(f["cpus"] ?? "?") are not all the root cell's to give → \(resultWords(e.result))"
        }, mirrors: "cell_create (hypervisor/control.c)"),
        key(.hypervisor, "enable"): Entry(text: { e, f in
            e.phase == .end
                ? "hypervisor: enable \(e.result == .ok ? "done: every CPU now runs under the hypervisor, Linux as the root cell" : "fails: \(resultWords(e.result))")"
                : "hypervisor: CPUs \(f["cpus"] ?? "?") enter the hypervisor"
        }, mirrors: "entry / init_late (hypervisor/setup.c)"),
        key(.hypervisor, "disable"): Entry(text: { _, f in
            "hypervisor: shuts down and hands CPUs \(f["released"] ?? "?") back to Linux on bare metal"
        }, mirrors: "shutdown (hypervisor/control.c)"),
        key(.driver, "cell_register"): Entry(text: { _, f in
            "driver: registers the cell (\(f.raw)); sysfs shows it from now on"
        }, mirrors: "cell_register (driver/cell.c)", key: false),
        key(.driver, "cell_delete"): Entry(text: { _, f in
            "driver: deletes its cell object (\(f.raw)); the sysfs directory disappears"
        }, mirrors: "cell_delete (driver/cell.c)", key: false),
        key(.linux, "cpu_down"): Entry(text: { e, f in
            switch (e.phase, e.result) {
            case (.begin, _): "linux: starts tearing CPU \(f.cpu(e)) down, one hotplug state after the other"
            case (_, .error(let err)): "linux: the teardown of CPU \(f.cpu(e)) failed (-\(err.name)\(f["failed_at"].map { " at \($0)" } ?? "")) and was rolled back"
            default: "linux: the teardown of CPU \(f.cpu(e)) is complete"
            }
        }, mirrors: "cpu_down (kernel/cpu.c)", key: false),
        key(.linux, "cpu_up"): Entry(text: { e, f in
            switch (e.phase, e.result) {
            case (.begin, _): "linux: starts bringing CPU \(f.cpu(e)) up (INIT/SIPI, then the hotplug states)"
            case (_, .error(let err)): "linux: bringing CPU \(f.cpu(e)) up failed (-\(err.name)\(f["failed_at"].map { " at \($0)" } ?? ""))"
            default: "linux: the bring-up of CPU \(f.cpu(e)) is complete"
            }
        }, mirrors: "cpu_up (kernel/cpu.c)", key: false),
        key(.linux, "cpuhp_teardown"): Entry(text: { e, f in
            "linux: CPU \(f.cpu(e)) teardown step \(f["state"] ?? "?") runs \(f["fn"] ?? "?") → \(resultWords(e.result))"
        }, mirrors: "cpuhp_invoke_callback (kernel/cpu.c)", key: false),
        key(.linux, "cpuhp_bringup"): Entry(text: { e, f in
            "linux: CPU \(f.cpu(e)) bring-up step \(f["state"] ?? "?") runs \(f["fn"] ?? "?") → \(resultWords(e.result))"
        }, mirrors: "cpuhp_invoke_callback (kernel/cpu.c)", key: false),
        key(.hypervisor, "sipi"): Entry(text: { e, f in
            e.result == .ok ? "hypervisor: lets the startup IPI for CPU \(f.cpu(e)) through (it belongs to the root cell)"
                : "hypervisor: swallows the startup IPI for CPU \(f.cpu(e)) (\(f.raw)) → \(resultWords(e.result))"
        }, mirrors: "apic_deliver_ipi (hypervisor/arch/x86/apic.c)", key: false),
        key(.fault, "inject"): Entry(text: { e, f in
            "⚡ INJECTED FAULT at \(f.raw): the step fails with \(resultWords(e.result)) — watch the rollback that follows"
        }, mirrors: "the fault-point seam (Machine.check)"),
    ]

    static func resultWords(_ r: TraceResult) -> String {
        switch r {
        case .none: "nothing"
        case .ok: "0 (success)"
        case .value(let v): v == 0 ? "0 (success)" : "\(v)"
        case .error(let e): "-\(e.name) (\(e.message))"
        }
    }

    /// The explanation of one step.
    public static func explain(_ e: TraceEvent) -> String {
        let f = Fields(e)
        if let entry = table[key(e.layer, e.op)] {
            var s = entry.text(e, f)
            if let m = entry.mirrors ?? e.mirrors { s += " [mirrors \(m)]" }
            return s
        }
        var s = "\(e.layer.rawValue): \(e.op)"
        let detail = e.detail
        if !detail.isEmpty { s += " \(detail)" }
        if e.result != .none { s += " → \(resultWords(e.result))" }
        if let m = e.mirrors { s += " [mirrors \(m)]" }
        return s
    }

    /// Whether a step is worth narrating in the demo's short explanations (layer
    /// crossings, ownership changes, faults), as opposed to bookkeeping.
    public static func isKeyStep(_ e: TraceEvent) -> Bool {
        if e.layer == .fault { return true }
        if e.layer == .user { return false }
        guard let entry = table[key(e.layer, e.op)] else {
            if case .error = e.result { return true }
            return false
        }
        if e.op == "ioctl" { return e.phase == .end && e.result != .ok }
        return entry.key
    }
}

/// The text forms of `jhsim trace`.
public enum TraceText {
    /// `[    0.012345678]`: seconds with nanoseconds, like a finer dmesg stamp.
    public static func stamp(_ t: VirtualTime) -> String {
        let s = t.nanoseconds / 1_000_000_000
        let ns = String(t.nanoseconds % 1_000_000_000)
        let whole = String(s)
        return "[" + String(repeating: " ", count: max(0, 5 - whole.count)) + whole + "."
            + String(repeating: "0", count: 9 - ns.count) + ns + "]"
    }

    public static func line(_ e: TraceEvent) -> String {
        var s = stamp(e.time) + " "
        let cpu = e.cpu.map { "cpu\($0)" } ?? "-"
        s += cpu.padding(5) + " " + e.layer.rawValue.padding(10) + " "
        switch e.phase {
        case .begin: s += "> "
        case .end: s += "< "
        case .instant: s += "  "
        }
        s += e.op
        let detail = e.detail
        if !detail.isEmpty { s += " " + detail }
        let r = e.result.description
        if !r.isEmpty { s += " " + r }
        return s
    }

    /// The steps of the given commands; with `explain`, each step's narration instead.
    public static func render(records: ArraySlice<CommandRecord>, events: [TraceEvent], explain: Bool) -> String {
        var out = ""
        for r in records {
            out += "# \(r.index + 1): \(r.displayLine)  (\(r.start) → \(r.end), took \(r.end - r.start))\n"
            let mine = events.filter { $0.seq >= r.firstSeq && $0.seq < r.endSeq }
                .sorted { ($0.time, $0.seq) < ($1.time, $1.seq) }
            for e in mine {
                if explain {
                    out += stamp(e.time) + " " + Narration.explain(e) + "\n"
                } else {
                    out += line(e) + "\n"
                }
            }
        }
        return out
    }
}

extension String {
    func padding(_ n: Int) -> String {
        count >= n ? self : self + String(repeating: " ", count: n - count)
    }
}
