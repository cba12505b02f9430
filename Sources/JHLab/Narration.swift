import JHABI
import JHLinux
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
        /// The administrator asked for this hotplug through sysfs (not the driver).
        var admin = false
        init(_ e: TraceEvent, admin: Bool = false) { event = e; self.admin = admin }
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
        case (.begin, _) where f.admin:
            return "admin → linux: remove_cpu(\(c)) for the sysfs write — Linux takes CPU \(c) offline; the driver plays no part"
        case (.begin, _):
            return "driver → linux: remove_cpu(\(c)) — jailhouse_cmd_cell_create takes CPU \(c) away from Linux before the hypervisor may give it to the cell"
        case (_, .error(let err)) where f.admin:
            return "linux: remove_cpu(\(c)) failed with -\(err.name); the write fails and CPU \(c) stays online"
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
        case (.begin, _) where f.admin:
            return "admin → linux: add_cpu(\(c)) for the sysfs write — Linux brings CPU \(c) back up (INIT/SIPI); the driver plays no part"
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

    /// Whether a Linux `cpu_down`/`cpu_up` step is the exported call the seed's Linux 5.6
    /// driver makes (rather than the hotplug core inside `remove_cpu`/`add_cpu`).
    static func isExportedCall(_ e: TraceEvent) -> Bool {
        e.kind == LinuxTrace.cpuDownExported || e.kind == LinuxTrace.cpuDownExportedDone
            || e.kind == LinuxTrace.cpuUpExported || e.kind == LinuxTrace.cpuUpExportedDone
    }

    static func exportedCPUDown(_ e: TraceEvent, _ f: Fields) -> String {
        let c = f.cpu(e)
        switch (e.phase, e.result) {
        case (.begin, _):
            return "driver → linux: cpu_down(\(c)) — the seed's jailhouse_cmd_cell_create (Linux 5.6) takes CPU \(c) away from Linux; it bypasses the CPU device, so /sys/devices/system/cpu/cpu\(c)/online keeps reading 1"
        case (_, .error(let err)):
            return "linux: cpu_down(\(c)) failed with -\(err.name); the driver must roll back what it already did"
        default:
            return "linux: CPU \(c) is offline now (cpu_online_mask), though its device, and the sysfs online file, were never told"
        }
    }

    static func exportedCPUUp(_ e: TraceEvent, _ f: Fields) -> String {
        let c = f.cpu(e)
        switch (e.phase, e.result) {
        case (.begin, _):
            return "driver → linux: cpu_up(\(c)) — the seed's driver gives CPU \(c) back to Linux (INIT/SIPI through the hypervisor), again past the CPU device"
        case (_, .error(let err)):
            return "linux: cpu_up(\(c)) failed with -\(err.name); the CPU stays offline"
        default:
            return "linux: CPU \(c) is online again; the sysfs online file keeps whatever it said before"
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
            let c = f.cpu(e), now = f["now"].map { $0.isEmpty ? "empty" : $0 } ?? "?"
            if f.raw.hasPrefix("clear") { return "driver: CPU \(c) is Linux's again, so it leaves offlined_cpus (now \(now))" }
            if f.raw.hasPrefix("keep") { return "driver: add_cpu(\(c)) failed, yet CPU \(c) stays in offlined_cpus (now \(now))" }
            if f.raw.hasSuffix("not in offlined_cpus") {
                return "driver: CPU \(c) is not in offlined_cpus (the driver did not take it offline), so it stays offline"
            }
            return "driver: notes CPU \(c) in offlined_cpus (\(now)) so destroy gives it back"
        }, mirrors: "offlined_cpus (driver/cell.c)", key: false),
        key(.driver, "root_cpus"): Entry(text: { e, f in
            let c = f.cpu(e), now = f["now"].map { $0.isEmpty ? "none" : $0 } ?? "?"
            return f.raw.hasPrefix("clear")
                ? "driver: removes CPU \(c) from root_cell->cpus_assigned (now \(now))"
                : "driver: gives CPU \(c) back to root_cell->cpus_assigned (now \(now))"
        }, mirrors: nil, key: false),
        key(.driver, "jailhouse_enabled"): Entry(text: { e, f in
            f.raw == "no"
                ? "driver: jailhouse_enabled is false — nothing to manage before `jhsim enable` → \(resultWords(e.result))"
                : "driver: jailhouse_enabled is already true — the hypervisor runs; a second enable → \(resultWords(e.result))"
        }, mirrors: nil),
        key(.driver, "find_cell"): Entry(text: { e, f in
            f.raw.hasSuffix("not found")
                ? "driver: find_cell finds no cell with \(f["cell"] ?? f.raw.replacingOccurrences(of: " not found", with: "")) → \(resultWords(e.result))"
                : "driver: find_cell finds cell \(f["id"] ?? "?") already named \(f["name"] ?? "?") → \(resultWords(e.result))"
        }, mirrors: nil),
        key(.driver, "cpu0"): Entry(text: { e, _ in
            "driver: the cell wants CPU 0, which x86 Linux cannot give away (\"Cannot assign CPU 0 to other cells\") → \(resultWords(e.result)); jump to error_cpu_online"
        }, mirrors: nil),
        key(.driver, "cpu_online"): Entry(text: { e, f in
            "driver: CPU \(f.cpu(e)) is already offline (the admin took it), so `if (cpu_online(cpu))` skips it: no remove_cpu, not added to offlined_cpus"
        }, mirrors: nil),
        key(.driver, "hypercall_failed"): Entry(text: { e, f in
            "driver: \(f.name) failed with \(resultWords(e.result)) — jailhouse_cmd_cell_create jumps to error_cpu_online to undo the CPU moves"
        }, mirrors: nil),
        key(.linux, "sysfs_store"): Entry(text: { e, f in
            let c = f.cpu(e)
            if f["value"] == nil {
                return "admin → linux: \(f["path"] ?? "the file") does not exist — x86 Linux offers no online switch for CPU 0, so the write fails → \(resultWords(e.result))"
            }
            return f["value"] == "0"
                ? "admin → linux: echo 0 > /sys/devices/system/cpu/cpu\(c)/online — the administrator takes CPU \(c) offline by hand"
                : "admin → linux: echo 1 > /sys/devices/system/cpu/cpu\(c)/online — the administrator brings CPU \(c) back by hand"
        }, mirrors: nil),
        key(.hypervisor, "cell_state"): Entry(text: { _, f in
            "hypervisor: cell \(f["cell"] ?? "?")'s comm region now says \(f["state"] ?? "?")"
        }, mirrors: "comm_region->cell_state (hypervisor/control.c)", key: false),
        key(.driver, "cpumask_subset"): Entry(text: { e, f in
            "driver: are the cell's CPUs (\(f["cell"] ?? "?")) all still the root cell's (\(f["root"] ?? "?"))? \(e.result == .ok || e.result == .none ? "" : "No → \(resultWords(e.result))")"
        }, mirrors: "cpumask_subset in jailhouse_cmd_cell_create (driver/cell.c)"),
        key(.driver, "cpu_down"): Entry(text: { e, f in
            "driver: cpu_down(\(f.cpu(e))) failed with \(resultWords(e.result)) — the seed's jailhouse_cmd_cell_create jumps to its error_cpu_online rollback"
        }, mirrors: "jailhouse_cmd_cell_create (driver/cell.c, Linux ≤ 5.6)"),
        key(.driver, "cpu_up"): Entry(text: { e, f in
            "driver: cpu_up(\(f.cpu(e)))\(f.raw.contains("rollback") ? " during the rollback" : "") → \(resultWords(e.result))"
        }, mirrors: "jailhouse_cmd_cell_create / cell_destroy (driver/cell.c, Linux ≤ 5.6)", key: false),
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

    /// The language of explanations: English, or Chinese with `--lang zh` or a zh locale.
    public enum Language: String, Sendable, CaseIterable {
        case en, zh

        /// The first of LC_ALL, LC_MESSAGES and LANG that is set decides, as for gettext.
        public static func from(environment env: [String: String]) -> Language {
            for k in ["LC_ALL", "LC_MESSAGES", "LANG"] {
                if let v = env[k], !v.isEmpty { return v.lowercased().hasPrefix("zh") ? .zh : .en }
            }
            return .en
        }
    }

    /// The explanation of one step on its own (a hotplug is taken to be the driver's).
    public static func explain(_ e: TraceEvent, language: Language = .en) -> String {
        explain(e, admin: false, language: language)
    }

    static func explain(_ e: TraceEvent, admin: Bool, language: Language) -> String {
        let f = Fields(e, admin: admin)
        let mirrorsWord = language == .zh ? "对应" : "mirrors"
        if e.layer == .linux, isExportedCall(e) {
            let down = e.op == "cpu_down"
            var s = language == .zh ? (down ? NarrationZH.exportedCPUDown(e, f) : NarrationZH.exportedCPUUp(e, f))
                : (down ? exportedCPUDown(e, f) : exportedCPUUp(e, f))
            s += " [\(mirrorsWord) \(down ? "cpu_down" : "cpu_up") (kernel/cpu.c, Linux ≤ 5.6)]"
            return s
        }
        if let entry = table[key(e.layer, e.op)] {
            var s = language == .zh ? (NarrationZH.table[key(e.layer, e.op)]?(e, f) ?? entry.text(e, f)) : entry.text(e, f)
            if let m = entry.mirrors ?? e.mirrors { s += " [\(mirrorsWord) \(m)]" }
            return s
        }
        var s = "\(e.layer.rawValue): \(e.op)"
        let detail = e.detail
        if !detail.isEmpty { s += " \(detail)" }
        if e.result != .none { s += " → \(language == .zh ? NarrationZH.resultWords(e.result) : resultWords(e.result))" }
        if let m = e.mirrors { s += " [\(mirrorsWord) \(m)]" }
        return s
    }

    /// Whether a step is worth narrating in the demo's short explanations (layer
    /// crossings, ownership changes, faults), as opposed to bookkeeping.
    public static func isKeyStep(_ e: TraceEvent) -> Bool {
        if e.layer == .fault { return true }
        if e.layer == .user { return false }
        // The seed's cpu_down/cpu_up are the driver handing CPUs across, as remove_cpu/add_cpu are.
        if e.layer == .linux, isExportedCall(e) { return true }
        guard let entry = table[key(e.layer, e.op)] else {
            if case .error = e.result { return true }
            return false
        }
        if e.op == "ioctl" { return e.phase == .end && e.result != .ok }
        // The quiet consequence of an admin-offlined CPU at destroy is worth a line.
        if e.layer == .driver, e.op == "offlined_cpus", e.detail.hasSuffix("not in offlined_cpus") { return true }
        return entry.key
    }
}

/// Narrates one command's steps in order, carrying what a single step cannot know: a
/// `remove_cpu`/`add_cpu` right after the admin's sysfs write is the admin's, not the driver's.
public struct Narrator {
    public var language: Narration.Language
    var adminCPU: String? = nil

    public init(language: Narration.Language = .en) { self.language = language }

    public mutating func explain(_ e: TraceEvent) -> String {
        var admin = false
        if e.layer == .linux {
            if e.op == "sysfs_store", e.field("value") != nil {
                adminCPU = e.field("cpu")
            } else if e.op == "remove_cpu" || e.op == "add_cpu", let c = e.field("cpu"), c == adminCPU {
                admin = true
                if e.phase == .end { adminCPU = nil }
            }
        }
        return Narration.explain(e, admin: admin, language: language)
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

    /// How `jhsim trace` shows steps: raw, every step explained, or only the key steps.
    public enum Style: Sendable { case raw, explain, brief }

    /// The steps of the given commands; with `explain`, each step's narration instead.
    public static func render(records: ArraySlice<CommandRecord>, events: [TraceEvent], explain: Bool,
                              language: Narration.Language = .en) -> String {
        render(records: records, events: events, style: explain ? .explain : .raw, language: language)
    }

    public static func render(records: ArraySlice<CommandRecord>, events: [TraceEvent], style: Style,
                              language: Narration.Language = .en) -> String {
        var out = ""
        for r in records {
            out += "# \(r.index + 1): \(r.displayLine)  (\(r.start) → \(r.end), took \(r.end - r.start))\n"
            switch style {
            case .raw:
                for e in steps(of: r, events) { out += line(e) + "\n" }
            case .explain:
                var n = Narrator(language: language)
                for e in steps(of: r, events) { out += stamp(e.time) + " " + n.explain(e) + "\n" }
            case .brief:
                out += brief(r, events, language: language)
            }
        }
        return out
    }

    /// One command's events in time order.
    static func steps(of r: CommandRecord, _ events: [TraceEvent]) -> [TraceEvent] {
        events.filter { $0.seq >= r.firstSeq && $0.seq < r.endSeq }.sorted { ($0.time, $0.seq) < ($1.time, $1.seq) }
    }

    /// The key steps of one command, as the demo shows them (`trace --brief`, `explain`).
    public static func brief(_ r: CommandRecord, _ events: [TraceEvent], language: Narration.Language = .en) -> String {
        var out = ""
        var n = Narrator(language: language)
        for e in steps(of: r, events) {
            let text = n.explain(e)
            if Narration.isKeyStep(e) { out += "  · " + text + "\n" }
        }
        out += language == .zh ? "  （虚拟时间共 \(r.end - r.start)）\n" : "  (took \(r.end - r.start) of virtual time)\n"
        return out
    }
}

extension String {
    func padding(_ n: Int) -> String {
        count >= n ? self : self + String(repeating: " ", count: n - count)
    }
}
