import JHABI
import JHLinux
import JHMachine

/// `jhsim draw html`: one self-contained HTML page (no network, no external scripts or
/// fonts) that walks a lab's trace step by step: per-CPU lanes over virtual time with who
/// owns each CPU, the commands as columns, and for the selected step its explanation,
/// the C function it mirrors, the cell list and `offlined_cpus` at that moment.
///
/// The page is data plus a little script: Swift works out the state after every step
/// (so the page never interprets the trace), and the script only shows it.
public enum Explorer {
    /// What one CPU is doing at a moment, as a lane shows it.
    struct CPUView: Hashable {
        var online: Bool
        /// The owning cell id while the hypervisor is enabled.
        var owner: UInt32?
        var ownerName: String?
        /// `parked`, `running`, `failed`, … (the hypervisor's view), nil when disabled.
        var hv: String?

        /// Linux, root cell, root cell (offline), parked, cell n NAME, failed, offline.
        var label: String {
            guard let owner else { return online ? "Linux" : "offline (Linux)" }
            if owner == 0 { return online ? "root cell" : "root cell (offline)" }
            let name = "cell \(owner)" + (ownerName.map { " \($0)" } ?? "")
            switch hv {
            case "failed": return name + " (failed)"
            case "parked", "suspended": return name + " (parked)"
            default: return name
            }
        }

        /// The label in the page's language.
        func label(_ language: Narration.Language) -> String {
            guard language == .zh else { return label }
            guard let owner else { return online ? "Linux" : "已下线（Linux）" }
            if owner == 0 { return online ? "根单元" : "根单元（已下线）" }
            let name = "单元 \(owner)" + (ownerName.map { " \($0)" } ?? "")
            switch hv {
            case "failed": return name + "（故障）"
            case "parked", "suspended": return name + "（停住）"
            default: return name
            }
        }

        var kind: String {
            guard let owner else { return online ? "linux" : "offline" }
            if owner == 0 { return online ? "root" : "rootoff" }
            switch hv {
            case "failed": return "failed"
            case "parked", "suspended": return "parked"
            default: return "cell"
            }
        }
    }

    struct CellView: Hashable {
        var id: UInt32
        var name: String
        var state: String
    }

    /// The state after one step.
    struct Snapshot {
        var cpus: [CPUView]
        var cells: [CellView]
        var offlined: CPUSet
    }

    struct Step {
        var event: TraceEvent
        var command: Int
        var after: Snapshot
    }

    /// Cell states by their `JAILHOUSE_CELL_*` names, as `cell list` words them.
    static func stateWord(_ raw: String?) -> String? {
        switch raw {
        case "RUNNING": "running"
        case "RUNNING_LOCKED": "running/locked"
        case "SHUT_DOWN": "shut down"
        case "FAILED": "failed"
        case "FAILED_COMM_REV": "Comm ABI mismatch"
        default: nil
        }
    }

    /// One typed argument of an event, by the name its kind gives it.
    static func field(_ e: TraceEvent, _ key: String) -> String? { e.field(key) }

    /// Replays the trace into a snapshot after every step. Command ends reconcile the
    /// CPUs with the state the lab recorded then, so the picture never drifts.
    static func steps(_ session: LabSession) -> [Step] {
        let n = session.parameters.cpus
        var cpus = session.initialCPUs.map {
            CPUView(online: $0.online, owner: $0.owner, ownerName: $0.ownerName,
                    hv: $0.owner == nil ? nil : $0.hypervisorState)
        }
        var cells: [CellView] = []
        var offlined = CPUSet()
        var out: [Step] = []
        let events = session.machine.trace.timeline
        var ei = 0
        for (k, r) in session.records.enumerated() {
            var mine: [TraceEvent] = []
            while ei < events.count, events[ei].seq < r.endSeq {
                if events[ei].seq >= r.firstSeq { mine.append(events[ei]) }
                ei += 1
            }
            mine.sort { ($0.time, $0.seq) < ($1.time, $1.seq) }
            for e in mine {
                let cpu = field(e, "cpu").flatMap { Int($0) } ?? e.cpu
                let valid = cpu.map { $0 >= 0 && $0 < n } ?? false
                switch (e.layer, e.op) {
                case (.hypervisor, "owner") where valid:
                    let id = field(e, "cell").flatMap { UInt32($0) }
                    cpus[cpu!].owner = id
                    cpus[cpu!].ownerName = field(e, "name")
                    if id == 0 { cpus[cpu!].hv = "running root" }
                case (.hypervisor, "park") where valid && e.result == .ok:
                    cpus[cpu!].hv = "parked"
                case (.hypervisor, "panic_park") where valid:
                    cpus[cpu!].hv = "failed"
                case (.hypervisor, "cell_start") where e.result == .ok:
                    if let id = field(e, "id").flatMap({ UInt32($0) }) {
                        for c in cpus.indices where cpus[c].owner == id && cpus[c].hv == "parked" { cpus[c].hv = "running cell" }
                    }
                case (.hypervisor, "cell_state"):
                    if let id = field(e, "cell").flatMap({ UInt32($0) }), let w = stateWord(field(e, "state")),
                       let i = cells.firstIndex(where: { $0.id == id }) {
                        cells[i].state = w
                    }
                case (.inmate, "boot"), (.inmate, "lock"), (.inmate, "comm_rev"):
                    // What the inmate writes into its comm region's cell_state.
                    let word = e.op == "boot" ? "running" : e.op == "lock" ? "running/locked" : "Comm ABI mismatch"
                    if let id = field(e, "cell").flatMap({ UInt32($0) }), let i = cells.firstIndex(where: { $0.id == id }),
                       e.op != "boot" || cells[i].state == "shut down" {
                        cells[i].state = word
                    }
                case (.hypervisor, "cell_set_loadable") where e.result == .ok:
                    if let id = field(e, "id").flatMap({ UInt32($0) }), let i = cells.firstIndex(where: { $0.id == id }) {
                        cells[i].state = "shut down"
                    }
                case (.driver, "cell_register"):
                    if let id = field(e, "id").flatMap({ UInt32($0) }), !cells.contains(where: { $0.id == id }) {
                        cells.append(CellView(id: id, name: field(e, "name") ?? "cell \(id)",
                                              state: id == 0 ? "running" : "shut down"))
                    }
                case (.driver, "cell_delete"):
                    if let id = field(e, "id").flatMap({ UInt32($0) }) { cells.removeAll { $0.id == id } }
                case (.driver, "offlined_cpus"):
                    if let now = field(e, "now"), let set = CPUSet(rangeList: now == "-" ? "" : now) { offlined = set }
                case (.linux, "cpu_down") where valid && e.kind == LinuxTrace.cpuDownExportedDone && e.result == .ok:
                    cpus[cpu!].online = false
                case (.linux, "cpu_up") where valid && e.kind == LinuxTrace.cpuUpExportedDone && e.result == .ok:
                    cpus[cpu!].online = true
                case (.linux, "remove_cpu") where valid && e.phase == .end && e.result == .ok:
                    cpus[cpu!].online = false
                case (.linux, "add_cpu") where valid && e.phase == .end && e.result == .ok:
                    cpus[cpu!].online = true
                case (.hypervisor, "disable") where e.phase != .begin:
                    break
                default: break
                }
                out.append(Step(event: e, command: k, after: Snapshot(cpus: cpus, cells: cells, offlined: offlined)))
            }
            // The lab's own record of every CPU after the command is the truth.
            for s in r.cpusAfter where s.cpu < n {
                cpus[s.cpu] = CPUView(online: s.online, owner: s.owner, ownerName: s.ownerName,
                                      hv: s.owner == nil ? nil : s.hypervisorState)
            }
            if r.cpusAfter.allSatisfy({ $0.owner == nil }) { cells.removeAll() }
            if let li = out.indices.last, out[li].command == k {
                out[li].after.cpus = cpus
                out[li].after.cells = cells
            }
        }
        return out
    }

    /// The largest trace the page carries step by step; beyond it only the key steps.
    static let maxSteps = 20_000

    static func esc(_ s: String) -> String { TimelineSVG.esc(s) }

    /// Colours of the lane kinds (Linux, root cell, parked, cells by id, failed).
    static func color(_ v: CPUView) -> String {
        switch v.kind {
        case "linux": "#cfd8dc"
        case "offline": "#ffffff"
        case "root": "#90a4ae"
        case "rootoff": "#eceff1"
        case "failed": "#d32f2f"
        default:
            // A parked CPU shows its cell's colour, lighter.
            TimelineSVG.palette[Int((v.owner ?? 1) - 1) % TimelineSVG.palette.count] + (v.kind == "parked" ? "66" : "")
        }
    }

    /// The page, with `title` in its heading.
    public static func render(_ session: LabSession, title: String = "jhsim lab", language: Narration.Language = .en) -> String {
        var all = steps(session)
        var note = ""
        if all.count > maxSteps {
            all = all.filter { Narration.isKeyStep($0.event) }
            note = "This lab's trace is long: only its key steps are shown."
        }
        let n = session.parameters.cpus
        let records = session.records
        let columns = max(1, records.count)
        let left = 130.0, colW = max(70.0, min(160.0, 1000.0 / Double(columns)))
        let laneH = n > 32 ? 5.0 : 26.0, top = 14.0
        let lanesBottom = top + laneH * Double(n)
        let width = left + colW * Double(columns) + 20
        let height = lanesBottom + 150
        let bounds = records.map { ($0.start, $0.end) }
        func x(_ t: VirtualTime, _ k: Int) -> Double {
            guard k < bounds.count else { return left }
            let (a, b) = bounds[k]
            let span = Double((b - a).nanoseconds)
            let off = t < a ? 0 : Double((t - a).nanoseconds)
            return left + colW * (Double(k) + (span > 0 ? min(1, off / span) : 0))
        }
        func f(_ v: Double) -> String {
            let r = (v * 10).rounded() / 10
            return r == r.rounded() ? String(Int(r)) : String(r)
        }
        // Lanes: one rectangle per run of steps in which a CPU looks the same.
        var svg = "<svg id=\"lanes\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\">\n"
        var initial = session.initialCPUs.map {
            CPUView(online: $0.online, owner: $0.owner, ownerName: $0.ownerName, hv: $0.owner == nil ? nil : $0.hypervisorState)
        }
        if initial.count != n { initial = Array(repeating: CPUView(online: true), count: n) }
        for cpu in 0..<n {
            let y = top + laneH * Double(cpu)
            if laneH >= 12 || cpu % 8 == 0 { svg += "<text x=\"8\" y=\"\(f(y + laneH * 0.65))\" class=\"lbl\">CPU \(cpu)</text>\n" }
            var current = initial[cpu], startX = left
            func close(_ endX: Double) {
                guard endX > startX else { return }
                svg += "<rect x=\"\(f(startX))\" y=\"\(f(y + 2))\" width=\"\(f(max(0.5, endX - startX)))\" height=\"\(f(laneH - 4))\" fill=\"\(color(current))\" stroke=\"#546e7a\" stroke-width=\"0.4\"><title>CPU \(cpu): \(esc(current.label(language)))</title></rect>\n"
                let shown = current.label(language)
                if laneH >= 20, endX - startX > 10 + Double(shown.count) * (language == .zh ? 11 : 6.2) {
                    svg += "<text x=\"\(f(startX + 4))\" y=\"\(f(y + laneH * 0.64))\" class=\"seg\">\(esc(shown))</text>\n"
                }
            }
            for s in all where s.after.cpus[cpu] != current {
                let sx = x(s.event.time, s.command)
                close(sx)
                current = s.after.cpus[cpu]
                startX = sx
            }
            close(left + colW * Double(columns))
        }
        // Command columns, their labels, and the faults.
        for (k, r) in records.enumerated() {
            let x0 = left + colW * Double(k)
            svg += "<line x1=\"\(f(x0))\" y1=\"\(f(top - 4))\" x2=\"\(f(x0))\" y2=\"\(f(lanesBottom + 4))\" stroke=\"#90a4ae\" stroke-dasharray=\"2,2\"/>\n"
            let failed = r.outcome.errno.map { " → \($0.name)" } ?? ""
            let lx = x0 + 6, ly = lanesBottom + 12
            svg += "<text x=\"\(f(lx))\" y=\"\(f(ly))\" transform=\"rotate(35 \(f(lx)) \(f(ly)))\" class=\"cmd\(failed.isEmpty ? "" : " bad")\" data-command=\"\(k)\">\(k + 1). \(esc(r.commandLine))\(esc(failed))</text>\n"
        }
        for s in all where s.event.layer == .fault {
            let mx = x(s.event.time, s.command)
            let y = s.event.cpu.map { top + laneH * Double($0) } ?? top - 6
            svg += "<path class=\"fault\" d=\"M \(f(mx - 5)) \(f(y)) L \(f(mx + 5)) \(f(y)) L \(f(mx)) \(f(y + 9)) Z\"><title>injected fault: \(esc(s.event.detail))</title></path>\n"
        }
        svg += "<line id=\"cursor\" x1=\"\(f(left))\" y1=\"\(f(top - 8))\" x2=\"\(f(left))\" y2=\"\(f(lanesBottom + 6))\" stroke=\"#d50000\" stroke-width=\"2\"/>\n"
        svg += "</svg>\n"

        // The steps as data for the script.
        var rows: [JSONValue] = []
        // Narrated in order, so an admin's hotplug reads as the admin's.
        var narrators: [Int: Narrator] = [:]
        for (i, s) in all.enumerated() {
            var narrator = narrators[s.command] ?? Narrator(language: language)
            var text = narrator.explain(s.event)
            narrators[s.command] = narrator
            var mirrors = ""
            if let r = text.range(of: language == .zh ? " [对应 " : " [mirrors ", options: .backwards), text.hasSuffix("]") {
                mirrors = String(text[r.upperBound...].dropLast())
                text = String(text[..<r.lowerBound])
            }
            let owners = s.after.cpus.map { JSONValue.string($0.label(language)) }
            let cells = s.after.cells.map { c -> JSONValue in
                let cpus = CPUSet(s.after.cpus.indices.filter { s.after.cpus[$0].owner == c.id })
                return .array([.int(Int64(c.id)), .string(c.name), .string(c.state), .string(cpus.rangeList)])
            }
            rows.append(.object([
                ("i", .int(Int64(i))), ("c", .int(Int64(s.command))), ("t", .string(TraceText.stamp(s.event.time))),
                ("x", .raw(f(x(s.event.time, s.command)))), ("layer", .string(s.event.layer.rawValue)),
                ("text", .string(text)), ("mirrors", .string(mirrors)),
                ("fault", .bool(s.event.layer == .fault)), ("key", .bool(Narration.isKeyStep(s.event))),
                ("owners", .array(owners)), ("cells", .array(cells)), ("offlined", .string(s.after.offlined.rangeList)),
            ]))
        }
        let commands = records.map { r in
            JSONValue.object([("line", .string("jhsim " + r.commandLine)),
                              ("result", .string(r.outcome.errno.map { $0.name } ?? (r.outcome.hang != nil ? "hang" : "ok")))])
        }
        let data = JSONValue.object([("steps", .array(rows)), ("commands", .array(commands))]).text()
            // `</` would end the script element early.
            .replacingOccurrences(of: "</", with: "<\\/")

        let p = session.parameters
        let zh = language == .zh
        /// The page's own words in its language.
        func L(_ en: String, _ zhText: String) -> String { zh ? zhText : en }
        var legend = ""
        for (kind, label) in [("linux", L("Linux (hypervisor off)", "Linux（hypervisor 未启用）")), ("root", L("root cell", "根单元")),
                              ("rootoff", L("root cell, offline in Linux", "根单元，Linux 中已下线")),
                              ("parked", L("parked in a cell", "在单元中停住")), ("cell", L("running in a cell", "在单元中运行")),
                              ("failed", L("failed", "故障"))] {
            let c: String
            switch kind {
            case "parked": c = TimelineSVG.palette[0] + "66"
            case "cell": c = TimelineSVG.palette[0]
            default: c = color(CPUView(online: kind != "rootoff", owner: kind == "linux" ? nil : (kind == "failed" ? 1 : 0), hv: kind == "failed" ? "failed" : nil))
            }
            legend += "<span class=\"key\"><i style=\"background:\(c)\"></i>\(label)</span>"
        }
        legend += "<span class=\"key\"><i class=\"tri\"></i>\(L("injected fault", "注入的故障"))</span>"

        return """
        <!DOCTYPE html>
        <html lang="\(language == .zh ? "zh" : "en")">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(esc(title))\(L(": step by step", "：一步一步看"))</title>
        <style>
        body { font-family: sans-serif; margin: 16px; color: #102027; background: #fff; }
        h1 { font-size: 18px; margin: 0 0 4px; }
        .sub { color: #546e7a; font-size: 13px; margin-bottom: 8px; }
        #lanesbox { overflow-x: auto; border: 1px solid #cfd8dc; }
        .lbl, .seg, .cmd { font-size: 11px; font-family: sans-serif; }
        .cmd.bad { fill: #d32f2f; }
        .cmd.now { font-weight: bold; }
        .fault { fill: #d32f2f; }
        .legend { font-size: 12px; margin: 6px 0; }
        .key { margin-right: 14px; white-space: nowrap; }
        .key i { display: inline-block; width: 12px; height: 12px; border: 1px solid #546e7a; margin-right: 4px; vertical-align: -2px; }
        .key i.tri { border: none; width: 0; height: 0; border-left: 6px solid transparent; border-right: 6px solid transparent; border-top: 10px solid #d32f2f; }
        .controls { margin: 10px 0; display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
        .controls button { font-size: 13px; padding: 3px 8px; }
        #slider { flex: 1; min-width: 200px; }
        .panes { display: flex; gap: 16px; flex-wrap: wrap; }
        .pane { flex: 1; min-width: 320px; }
        #step { border-left: 4px solid #455a64; padding: 6px 10px; background: #f5f7f8; }
        #step.fault { border-color: #d32f2f; background: #ffebee; }
        #stepText { font-size: 15px; margin: 4px 0; }
        #stepMirrors { font-family: monospace; font-size: 13px; color: #37474f; }
        table { border-collapse: collapse; font-size: 13px; margin-top: 6px; }
        td, th { border: 1px solid #cfd8dc; padding: 2px 8px; text-align: left; }
        #log { max-height: 240px; overflow-y: auto; font-family: monospace; font-size: 12px; border: 1px solid #cfd8dc; margin-top: 8px; }
        #log div { padding: 1px 6px; cursor: pointer; white-space: nowrap; }
        #log div.key { font-weight: bold; }
        #log div.fault { color: #d32f2f; }
        #log div.sel { background: #fff59d; }
        .muted { color: #78909c; }
        </style>
        </head>
        <body>
        <h1>\(esc(title))\(L(": CPU ownership, step by step", "：每颗 CPU 归谁，一步一步看"))</h1>
        <div class="sub">\(zh ? "\(n) 个 CPU，种子 \(p.seed)，profile \(esc(p.profile))——\(records.count) 条命令，\(all.count) 步。\(esc(note)) 按键：← → 单步，PgUp/PgDn 按命令跳，F 跳到下一个故障。" : "\(n) CPUs, seed \(p.seed), profile \(esc(p.profile)) — \(records.count) commands, \(all.count) steps. \(esc(note)) Keys: ← → step, PgUp/PgDn command, F next fault.")</div>
        <div id="lanesbox">
        \(svg)</div>
        <div class="legend">\(legend)</div>
        <div class="controls">
        <button id="first">\(L("|‹ first", "|‹ 开头"))</button><button id="prevCmd">\(L("« cmd", "« 上一条命令"))</button><button id="prev">\(L("‹ step", "‹ 上一步"))</button>
        <input id="slider" type="range" min="0" max="\(max(0, all.count - 1))" value="0" aria-label="step">
        <button id="next">\(L("step ›", "下一步 ›"))</button><button id="nextCmd">\(L("cmd »", "下一条命令 »"))</button><button id="nextFault">\(L("next fault ⚡", "下一个故障 ⚡"))</button><button id="last">\(L("last ›|", "末尾 ›|"))</button>
        <label><input id="keyOnly" type="checkbox"> \(L("key steps only", "只看关键步骤"))</label>
        </div>
        <div class="panes">
        <div class="pane">
        <div id="step"><div class="muted"><span id="stepNo"></span> · <span id="stepTime"></span> · <span id="stepLayer"></span></div>
        <div id="stepCommand" class="muted"></div>
        <div id="stepText"></div>
        <div id="stepMirrors"></div></div>
        <div id="log"></div>
        </div>
        <div class="pane">
        \(L("<b>Cells</b> (as <code>jailhouse cell list</code> would show them after this step)", "<b>单元</b>（这一步之后 <code>jailhouse cell list</code> 会显示的样子）"))
        <table id="cells"><thead><tr><th>ID</th><th>Name</th><th>State</th><th>Assigned CPUs</th></tr></thead><tbody></tbody></table>
        <p><b>offlined_cpus</b>\(L(" (the driver's set): ", "（驱动记下的集合）：")) <code id="offlined"></code></p>
        <b>\(L("CPUs", "CPU"))</b>
        <table id="owners"><thead><tr><th>CPU</th><th>\(L("Owner", "归属"))</th></tr></thead><tbody></tbody></table>
        </div>
        </div>
        <script id="data" type="application/json">\(data)</script>
        <script id="words" type="application/json">\(JSONValue.object([
            ("step", .string(L("step ", "第 "))), ("of", .string(L(" of ", " 步，共 "))), ("end", .string(L("", " 步"))),
            ("none", .string(L("This lab has run no command yet.", "这个 lab 还没有运行过任何命令。"))),
            ("mirrors", .string(L("mirrors ", "对应 "))), ("empty", .string(L("(empty)", "（空）"))),
        ]).text())</script>
        <script>
        (function () {
          "use strict";
          window.addEventListener("error", function (e) { document.body.setAttribute("data-error", String(e.message)); });
          var D = JSON.parse(document.getElementById("data").textContent);
          var W = JSON.parse(document.getElementById("words").textContent);
          var S = D.steps, C = D.commands, cur = 0;
          var $ = function (id) { return document.getElementById(id); };
          function text(el, s) { el.textContent = s; }
          function visible(i) { return !$("keyOnly").checked || S[i].key || S[i].fault; }
          function move(from, dir) {
            for (var i = from + dir; i >= 0 && i < S.length; i += dir) if (visible(i)) return i;
            return from;
          }
          var log = $("log");
          S.forEach(function (s) {
            var d = document.createElement("div");
            d.textContent = s.t + " " + s.text;
            d.className = (s.key ? "key " : "") + (s.fault ? "fault" : "");
            d.setAttribute("data-step", s.i);
            d.addEventListener("click", function () { show(s.i); });
            log.appendChild(d);
          });
          function rows(tbody, list) {
            tbody.textContent = "";
            list.forEach(function (r) {
              var tr = document.createElement("tr");
              r.forEach(function (v) { var td = document.createElement("td"); td.textContent = v; tr.appendChild(td); });
              tbody.appendChild(tr);
            });
          }
          function show(i) {
            if (!S.length) { text($("stepText"), W.none); return; }
            cur = Math.max(0, Math.min(S.length - 1, i));
            var s = S[cur];
            $("slider").value = cur;
            text($("stepNo"), W.step + (cur + 1) + W.of + S.length + W.end);
            text($("stepTime"), s.t);
            text($("stepLayer"), s.layer);
            text($("stepCommand"), (s.c + 1) + ". " + C[s.c].line + (C[s.c].result === "ok" ? "" : "  → " + C[s.c].result));
            text($("stepText"), s.text);
            text($("stepMirrors"), s.mirrors ? W.mirrors + s.mirrors : "");
            $("step").className = s.fault ? "fault" : "";
            rows($("cells").tBodies[0], s.cells.map(function (c) { return [String(c[0]), c[1], c[2], c[3]]; }));
            text($("offlined"), s.offlined === "" ? W.empty : s.offlined);
            rows($("owners").tBodies[0], s.owners.map(function (o, k) { return [String(k), o]; }));
            $("cursor").setAttribute("x1", s.x); $("cursor").setAttribute("x2", s.x);
            Array.prototype.forEach.call(document.querySelectorAll(".cmd"), function (el) {
              el.classList.toggle("now", Number(el.getAttribute("data-command")) === s.c);
            });
            var old = log.querySelector(".sel"); if (old) old.classList.remove("sel");
            var row = log.children[cur]; row.classList.add("sel");
            log.scrollTop = row.offsetTop - log.offsetTop - 100;
            document.body.setAttribute("data-current-step", String(cur));
            if (location.hash !== "#step=" + cur) history.replaceState(null, "", "#step=" + cur);
          }
          function command(dir) {
            var c = S[cur].c + dir;
            for (var i = 0; i < S.length; i++) if (S[i].c === c) return show(i);
          }
          $("first").onclick = function () { show(0); };
          $("last").onclick = function () { show(S.length - 1); };
          $("prev").onclick = function () { show(move(cur, -1)); };
          $("next").onclick = function () { show(move(cur, 1)); };
          $("prevCmd").onclick = function () { command(-1); };
          $("nextCmd").onclick = function () { command(1); };
          $("nextFault").onclick = function () {
            for (var i = cur + 1; i < S.length; i++) if (S[i].fault) return show(i);
          };
          $("slider").oninput = function () { show(Number(this.value)); };
          document.addEventListener("keydown", function (e) {
            if (e.key === "ArrowRight") show(move(cur, 1));
            else if (e.key === "ArrowLeft") show(move(cur, -1));
            else if (e.key === "PageDown") command(1);
            else if (e.key === "PageUp") command(-1);
            else if (e.key === "f" || e.key === "F") $("nextFault").onclick();
            else return;
            e.preventDefault();
          });
          // #step=N opens the page at step N (links, and the tests' hook).
          var m = /^#step=(\\d+)$/.exec(location.hash);
          show(m ? Number(m[1]) : 0);
          document.body.setAttribute("data-ready", "yes");
        })();
        </script>
        </body>
        </html>

        """
    }
}
