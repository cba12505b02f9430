import JHABI
import JHMachine

/// `jhsim draw timeline`: CPU ownership over virtual time as SVG, one lane per CPU, one
/// colour per cell, with marks for hypercalls, faults and failures and a tick per command.
///
/// Commands take very different amounts of virtual time (a hotplug is milliseconds, a
/// hypercall a microsecond), so the x axis gives every command an equal-width column and
/// scales time linearly inside it; the axis labels say which command each column is.
public enum TimelineSVG {
    static let palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#ff9da7", "#bab0ac"]

    static func color(_ s: OwnershipSegment) -> String {
        guard let owner = s.owner else { return s.online ? "#cfd8dc" : "#ffffff" }
        if owner == 0 { return s.online ? "#90a4ae" : "#eceff1" }
        return palette[Int(owner - 1) % palette.count]
    }

    static func esc(_ s: String) -> String {
        var o = ""
        for c in s {
            switch c {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            default: o.append(c)
            }
        }
        return o
    }

    public static func render(_ session: LabSession) -> String {
        let n = session.parameters.cpus
        let records = session.records
        let columns = max(1, records.count)
        let left = 70.0, colW = max(60.0, min(140.0, 900.0 / Double(columns)))
        let laneH = n > 32 ? 6.0 : 28.0, top = 40.0
        // A narrow "after" column shows the final state, then room for the slanted labels.
        let afterW = 56.0
        let width = left + colW * Double(columns) + afterW + 130
        let lanesBottom = top + laneH * Double(n)
        let segs = Ownership.segments(session)
        // Legend entries in order of first appearance, then wrapped into rows that fit.
        var legend: [(String, String)] = []
        for lane in segs { for seg in lane where !legend.contains(where: { $0.0 == seg.label }) { legend.append((seg.label, color(seg))) } }
        var legendItems: [(label: String, color: String?, width: Double)] = legend.map { ($0.0, $0.1, 30 + Double($0.0.count) * 7.5) }
        legendItems.append(("fault / failure", nil, 110))
        legendItems.append(("hypercall", nil, 80))
        var rows: [[(label: String, color: String?, width: Double)]] = [[]]
        var rowWidth = 0.0
        for item in legendItems {
            if rowWidth + item.width > width - left - 10, !rows[rows.count - 1].isEmpty { rows.append([]); rowWidth = 0 }
            rows[rows.count - 1].append(item)
            rowWidth += item.width
        }
        let height = lanesBottom + 190 + 20 * Double(rows.count - 1)
        // Maps virtual time to x: command k spans [left + k*colW, left + (k+1)*colW].
        let bounds: [(VirtualTime, VirtualTime)] = records.isEmpty
            ? [(.zero, max(session.machine.now, VirtualTime(nanoseconds: 1)))]
            : records.map { ($0.start, $0.end) }
        func x(_ t: VirtualTime) -> Double {
            for (k, b) in bounds.enumerated() {
                if t <= b.1 || k == bounds.count - 1 {
                    let span = Double((b.1 - b.0).nanoseconds)
                    let off = t < b.0 ? 0 : Double((t - b.0).nanoseconds)
                    let frac = span > 0 ? min(1, off / span) : 0
                    return left + colW * (Double(k) + frac)
                }
            }
            return left + colW * Double(columns)
        }
        func f(_ v: Double) -> String {
            let r = (v * 10).rounded() / 10
            return r == r.rounded() ? String(Int(r)) : String(r)
        }
        var s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        s += "<title>jhsim timeline: CPU ownership over virtual time</title>\n"
        s += "<rect x=\"0\" y=\"0\" width=\"\(f(width))\" height=\"\(f(height))\" fill=\"#ffffff\"/>\n"
        s += "<text x=\"\(f(left))\" y=\"18\" font-size=\"13\" font-weight=\"bold\">CPU ownership over virtual time (\(n) CPUs, seed \(session.parameters.seed), profile \(esc(session.parameters.profile)))</text>\n"
        for (cpu, lane) in segs.enumerated() {
            let y = top + laneH * Double(cpu)
            if laneH >= 12 || cpu % 8 == 0 {
                s += "<text x=\"8\" y=\"\(f(y + laneH * 0.65))\">CPU \(cpu)</text>\n"
            }
            for seg in lane {
                let x0 = x(seg.start), x1 = max(x(seg.end), x0 + 0.5)
                let c = color(seg)
                s += "<rect x=\"\(f(x0))\" y=\"\(f(y + 2))\" width=\"\(f(x1 - x0))\" height=\"\(f(laneH - 4))\" fill=\"\(c)\" stroke=\"#546e7a\" stroke-width=\"0.5\"><title>CPU \(cpu): \(esc(seg.label)) from \(seg.start) to \(seg.end)</title></rect>\n"
                if laneH >= 20 && x1 - x0 > 8 + Double(seg.label.count) * 6.6 {
                    s += "<text x=\"\(f(x0 + 4))\" y=\"\(f(y + laneH * 0.62))\" fill=\"#102027\">\(esc(seg.label))</text>\n"
                }
            }
        }
        for m in Ownership.marks(session) {
            let mx = x(m.time)
            let y = m.cpu.map { top + laneH * Double($0) } ?? (top - 8)
            switch m.kind {
            case .hypercall:
                s += "<line x1=\"\(f(mx))\" y1=\"\(f(y + 1))\" x2=\"\(f(mx))\" y2=\"\(f(y + 7))\" stroke=\"#000000\" stroke-width=\"1\"><title>\(esc(m.text))</title></line>\n"
            case .ioctl:
                s += "<circle cx=\"\(f(mx))\" cy=\"\(f(top - 4))\" r=\"2\" fill=\"#37474f\"><title>\(esc(m.text))</title></circle>\n"
            case .fault, .failure:
                s += "<path d=\"M \(f(mx - 4)) \(f(y)) L \(f(mx + 4)) \(f(y)) L \(f(mx)) \(f(y + 8)) Z\" fill=\"#d32f2f\"><title>\(esc(m.text))</title></path>\n"
            }
        }
        // Command columns and their labels.
        for (k, r) in records.enumerated() {
            let x0 = left + colW * Double(k)
            s += "<line x1=\"\(f(x0))\" y1=\"\(f(top - 2))\" x2=\"\(f(x0))\" y2=\"\(f(lanesBottom + 4))\" stroke=\"#90a4ae\" stroke-dasharray=\"2,2\"/>\n"
            let failed = r.outcome.errno.map { " → \($0.name)" } ?? ""
            let lx = x0 + 6, ly = lanesBottom + 10
            s += "<text x=\"\(f(lx))\" y=\"\(f(ly))\" transform=\"rotate(40 \(f(lx)) \(f(ly)))\" fill=\"\(failed.isEmpty ? "#263238" : "#d32f2f")\">\(k + 1). \(esc(r.commandLine))\(esc(failed))</text>\n"
        }
        // The state after the last command.
        let ax = left + colW * Double(columns) + 6
        s += "<text x=\"\(f(ax))\" y=\"\(f(top - 6))\" fill=\"#263238\">after</text>\n"
        for (cpu, lane) in segs.enumerated() {
            guard let last = lane.last else { continue }
            let y = top + laneH * Double(cpu)
            let c = color(last)
            s += "<rect x=\"\(f(ax))\" y=\"\(f(y + 2))\" width=\"\(f(afterW - 10))\" height=\"\(f(laneH - 4))\" fill=\"\(c)\" stroke=\"#546e7a\" stroke-width=\"0.5\"><title>CPU \(cpu) after the last command: \(esc(last.label))</title></rect>\n"
        }
        // Legend.
        for (r, row) in rows.enumerated() {
            var lx = left
            let ly = height - 24 - 20 * Double(rows.count - 1 - r)
            for item in row {
                if let c = item.color {
                    s += "<rect x=\"\(f(lx))\" y=\"\(f(ly - 10))\" width=\"12\" height=\"12\" fill=\"\(c)\" stroke=\"#546e7a\" stroke-width=\"0.5\"/>\n"
                    s += "<text x=\"\(f(lx + 16))\" y=\"\(f(ly))\">\(esc(item.label))</text>\n"
                } else if item.label == "hypercall" {
                    s += "<line x1=\"\(f(lx))\" y1=\"\(f(ly - 10))\" x2=\"\(f(lx))\" y2=\"\(f(ly - 2))\" stroke=\"#000000\"/>\n"
                    s += "<text x=\"\(f(lx + 6))\" y=\"\(f(ly))\">hypercall</text>\n"
                } else {
                    s += "<path d=\"M \(f(lx)) \(f(ly - 10)) L \(f(lx + 8)) \(f(ly - 10)) L \(f(lx + 4)) \(f(ly - 2)) Z\" fill=\"#d32f2f\"/>\n"
                    s += "<text x=\"\(f(lx + 12))\" y=\"\(f(ly))\">fault / failure</text>\n"
                }
                lx += item.width
            }
        }
        s += "</svg>\n"
        return s
    }
}
