import JHABI

/// One row of `jailhouse cell list`, read from `/sys/devices/jailhouse/cells/<id>/`.
public struct CellRow: Hashable, Sendable, Codable {
    /// The directory name parsed as a number (tools/jailhouse.c prints it with `%d`).
    public var id: Int64
    public var name: String
    public var state: String
    public var cpus: String
    public var failedCpus: String
}

/// Reads the cells the way tools/jailhouse.c `cell_list` does: list the directory, skip
/// dot-entries, sort alphabetically (`alphasort`, so `10` before `2`), read the files.
public enum SysfsCells {
    public static let cellsDirectory = "/sys/devices/jailhouse/cells"

    /// Rows in `alphasort` order; nil when the cells directory does not exist.
    public static func readIfPresent(_ box: any JailhouseBox) -> [CellRow]? {
        guard let names = try? box.sysfsList(cellsDirectory) else { return nil }
        let entries = names.filter { !$0.hasPrefix(".") }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        return entries.map { entry in
            let dir = cellsDirectory + "/" + entry
            func file(_ f: String) -> String {
                chomp((try? box.sysfsRead(dir + "/" + f)) ?? "")
            }
            // The C tool reads the id with a %d-style conversion of the directory name.
            let id = CNumber.strtoll(entry) ?? 0
            return CellRow(id: id, name: file("name"), state: file("state"),
                           cpus: file("cpus_assigned_list"), failedCpus: file("cpus_failed_list"))
        }
    }

    public static func read(_ box: any JailhouseBox) -> [CellRow] { readIfPresent(box) ?? [] }

    /// Removes one trailing newline, as `read_sysfs_cell_string` does after `read()`
    /// (it overwrites the last byte if it is a linefeed): a cell name that itself ends in
    /// a linefeed keeps it.
    static func chomp(_ s: String) -> String {
        var bytes = Array(s.utf8)  // bytes, not Characters: "\r\n" is one Character
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Text of `jailhouse cell list`, byte for byte.
public enum CellListFormat {
    static let widths = [8, 24, 18, 24, 24]

    /// Left-justifies each field in its column (`%-Ns`; long fields are not cut), so
    /// every line ends with the padding of the last column.
    public static func line(_ fields: [String]) -> String {
        var s = ""
        for (f, w) in zip(fields, widths) {
            s += f
            let n = f.utf8.count  // printf pads by bytes
            if n < w { s += String(repeating: " ", count: w - n) }
        }
        return s + "\n"
    }

    public static let header = line(["ID", "Name", "State", "Assigned CPUs", "Failed CPUs"])

    /// The whole output: nothing for no rows (or no directory), else header and rows.
    public static func render(_ rows: [CellRow]) -> String {
        guard !rows.isEmpty else { return "" }
        return header + rows.map { line(["\($0.id)", $0.name, $0.state, $0.cpus, $0.failedCpus]) }.joined()
    }
}
