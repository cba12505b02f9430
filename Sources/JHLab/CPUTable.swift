import JHABI

/// `jhsim cpus`: one row per CPU with what every layer thinks of it.
public enum CPUTable {
    static let headers = ["CPU", "Linux", "Hotplug", "Cell", "Hypervisor", "Failed"]

    public static func cellText(_ s: CPUStatus) -> String {
        guard let owner = s.owner else { return "-" }
        return s.ownerName.map { "\(owner) \($0)" } ?? "\(owner)"
    }

    /// A fixed-width table; columns are as wide as their widest entry.
    public static func render(_ rows: [CPUStatus]) -> String {
        let table = rows.map { s in
            ["\(s.cpu)", s.online ? "online" : "offline", s.hotplugState, cellText(s),
             s.hypervisorState, s.failed ? "yes" : "no"]
        }
        return TextTable.render(header: headers, rows: table) + staleOnlineFiles(rows)
    }

    /// One note per CPU whose sysfs `online` file disagrees with `cpu_online_mask`: what
    /// the seed's Linux 5.6 driver leaves behind (its `cpu_down`/`cpu_up` bypass the CPU
    /// device), and what a failed hotplug rollback can leave on any kernel.
    static func staleOnlineFiles(_ rows: [CPUStatus]) -> String {
        var s = ""
        for r in rows {
            guard let file = r.onlineFile, file != r.online else { continue }
            s += "note: /sys/devices/system/cpu/cpu\(r.cpu)/online reads \(file ? 1 : 0), but CPU \(r.cpu) is \(r.online ? "online" : "offline") (the device's state is stale)\n"
        }
        return s
    }

    public static func json(_ rows: [CPUStatus]) -> String {
        JSONValue.array(rows.map { s in
            .object([
                ("cpu", .int(Int64(s.cpu))),
                ("online", .bool(s.online)),
                ("hotplugState", .string(s.hotplugState)),
                ("owner", s.owner.map { .int(Int64($0)) } ?? .null),
                ("ownerName", s.ownerName.map { .string($0) } ?? .null),
                ("hypervisorState", .string(s.hypervisorState)),
                ("failed", .bool(s.failed)),
                ("onlineFile", s.onlineFile.map { .bool($0) } ?? .null),
            ])
        }).text(indent: 2) + "\n"
    }
}

extension CellListFormat {
    /// `cell list --json`: the same rows as objects, CPUs as number arrays.
    public static func json(_ rows: [CellRow]) -> String {
        func cpus(_ list: String) -> JSONValue {
            .array(Array(CPUSetText.parse(list)).map { .int(Int64($0)) })
        }
        return JSONValue.array(rows.map { r in
            .object([
                ("id", .int(r.id)), ("name", .string(r.name)), ("state", .string(r.state)),
                ("cpus", cpus(r.cpus)), ("failedCpus", cpus(r.failedCpus)),
            ])
        }).text(indent: 2) + "\n"
    }
}


enum CPUSetText {
    static func parse(_ s: String) -> CPUSet { CPUSet(rangeList: s) ?? CPUSet() }
}

/// Left-aligned columns separated by two spaces, no trailing blanks.
public enum TextTable {
    public static func render(header: [String], rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            var s = ""
            for (i, c) in cells.enumerated() {
                if i == cells.count - 1 { s += c } else { s += c + String(repeating: " ", count: widths[i] - c.count + 2) }
            }
            while s.last == " " { s.removeLast() }
            return s + "\n"
        }
        return line(header) + rows.map(line).joined()
    }
}
