import JHABI

/// Reads one mapping of the source tree with typed accessors, remembering which keys
/// were used so that `finish()` can reject unknown keys (a typo must not silently fall
/// back to a default).
struct MapReader {
    let entries: [(String, SourceValue)]
    /// Key path prefix for messages, e.g. `rootCell.memoryRegions[3].`.
    let path: String
    let line: Int
    private var used: Set<String> = []

    init(_ v: SourceValue, path: String) throws(ConfigError) {
        guard case .map(let e, let l) = v else {
            throw ConfigError(structName: "source line \(v.line)", field: path.isEmpty ? "document" : path, offset: nil,
                              message: "\(path.isEmpty ? "the document" : path) must be a mapping of keys to values")
        }
        entries = e
        self.path = path.isEmpty ? "" : path + "."
        line = l
    }

    func has(_ key: String) -> Bool { entries.contains { $0.0 == key } }

    func error(_ key: String, _ message: String, line: Int? = nil) -> ConfigError {
        let l = line ?? entries.first { $0.0 == key }?.1.line ?? self.line
        return ConfigError(structName: "source line \(l)", field: path + key, offset: nil, message: "\(path + key): \(message)")
    }

    private mutating func value(_ key: String) -> SourceValue? {
        guard let v = entries.first(where: { $0.0 == key })?.1 else { return nil }
        used.insert(key)
        return v
    }

    func finish() throws(ConfigError) {
        if let extra = entries.first(where: { !used.contains($0.0) }) {
            throw error(extra.0, "unknown key (see Docs/config-format.md for the keys)")
        }
    }

    private static func text(_ v: SourceValue) -> String? {
        switch v {
        case .scalar(let s, _), .string(let s): s
        case .number(let n, _): String(n)
        case .bool(let b): b ? "true" : "false"
        default: nil
        }
    }

    /// Parses `0x…` hex, `0b…` binary or decimal, with `_` separators.
    static func parseNumber(_ raw: String) -> UInt64? {
        var s = raw.trimmingCharacters(in: " \t")
        s.removeAll { $0 == "_" }
        let lower = s.lowercased()
        if lower.hasPrefix("0x") { return UInt64(lower.dropFirst(2), radix: 16) }
        if lower.hasPrefix("0b") { return UInt64(lower.dropFirst(2), radix: 2) }
        return UInt64(s, radix: 10)
    }

    private func toNumber<T: FixedWidthInteger>(_ v: SourceValue, _ key: String) throws(ConfigError) -> T {
        guard let t = Self.text(v), let n = Self.parseNumber(t) else {
            throw error(key, "expected a number (decimal or 0x hex), got \(Self.text(v).map { "\"\($0)\"" } ?? "a list or mapping")")
        }
        guard let r = T(exactly: n) else {
            throw error(key, "\(t) does not fit in \(MemoryLayout<T>.size * 8) bits")
        }
        return r
    }

    mutating func number<T: FixedWidthInteger>(_ key: String, default d: T) throws(ConfigError) -> T {
        guard let v = value(key) else { return d }
        return try toNumber(v, key)
    }

    mutating func numbers<T: FixedWidthInteger>(_ key: String, count: Int?) throws(ConfigError) -> [T] {
        guard let v = value(key) else { return [] }
        guard case .list(let items, _) = v else { throw error(key, "expected a list of numbers") }
        if let count, items.count != count { throw error(key, "expected exactly \(count) numbers, got \(items.count)") }
        var out: [T] = []
        for i in items { out.append(try toNumber(i, key)) }
        return out
    }

    mutating func bool(_ key: String, default d: Bool) throws(ConfigError) -> Bool {
        guard let v = value(key) else { return d }
        switch Self.text(v)?.lowercased() {
        case "true", "yes", "1": return true
        case "false", "no", "0": return false
        default: throw error(key, "expected true or false")
        }
    }

    mutating func string(_ key: String, default d: String) throws(ConfigError) -> String {
        try optionalString(key) ?? d
    }

    mutating func optionalString(_ key: String) throws(ConfigError) -> String? {
        guard let v = value(key) else { return nil }
        guard let t = Self.text(v) else { throw error(key, "expected a string") }
        return t
    }

    /// A flag set: a list of names and/or numbers (numbers carry unknown bits), or one
    /// scalar name or number.
    mutating func flags<F: NamedFlags>(_ key: String, default d: F) throws(ConfigError) -> F {
        guard let v = value(key) else { return d }
        let items: [SourceValue]
        if case .list(let l, _) = v { items = l } else { items = [v] }
        var f = F(rawValue: 0)
        for item in items {
            guard let t = Self.text(item) else { throw error(key, "expected flag names") }
            if let n = Self.parseNumber(t) {
                guard let r = F.RawValue(exactly: n) else { throw error(key, "\(t) does not fit the flag field") }
                f.formUnion(F(rawValue: r))
            } else if let named = F.named(t) {
                f.formUnion(named)
            } else {
                throw error(key, "unknown flag \"\(t)\"; known: \(F.names.map(\.1).joined(separator: ", "))")
            }
        }
        return f
    }

    /// An open code: its name or its number.
    mutating func code<C: NamedCode>(_ key: String, default d: C) throws(ConfigError) -> C {
        guard let v = value(key) else { return d }
        guard let t = Self.text(v) else { throw error(key, "expected a name or number") }
        if let named = C.named(t) { return named }
        if let n = Self.parseNumber(t), let r = C.RawValue(exactly: n) { return C(rawValue: r) }
        throw error(key, "unknown value \"\(t)\"; known: \(C.names.map(\.1).joined(separator: ", "))")
    }

    /// Raw bytes written as a hex string (spaces allowed), padded with zeros to `count`.
    mutating func bytes(_ key: String, count: Int, default d: [UInt8]) throws(ConfigError) -> [UInt8] {
        guard let v = value(key) else { return d }
        guard let t = Self.text(v) else { throw error(key, "expected a hex byte string") }
        let digits = Array(t.filter { !$0.isWhitespace })
        guard digits.count % 2 == 0, digits.count / 2 <= count else {
            throw error(key, "expected at most \(count) bytes as pairs of hex digits")
        }
        var out: [UInt8] = []
        var i = 0
        while i < digits.count {
            guard let b = UInt8(String(digits[i ... i + 1]), radix: 16) else { throw error(key, "\"\(t)\" is not hex") }
            out.append(b); i += 2
        }
        return out + [UInt8](repeating: 0, count: count - out.count)
    }

    /// CPUs as a range list (`0-3,5`) or a list of numbers.
    mutating func cpus(_ key: String) throws(ConfigError) -> CPUSet {
        guard let v = value(key) else { return [] }
        if case .list(let items, _) = v {
            var s = CPUSet()
            for i in items {
                let n: UInt32 = try toNumber(i, key)
                guard n < 1 << 20 else { throw error(key, "CPU \(n) is out of range") }
                s.insert(Int(n))
            }
            return s
        }
        guard let t = Self.text(v), let s = CPUSet(rangeList: t) else {
            throw error(key, "expected a CPU list like 0-3,5 or a list of numbers")
        }
        return s
    }

    /// A PCI address as a number (bus << 8 | dev << 3 | fn) or as `bb:dd.f`.
    mutating func bdf(_ key: String) throws(ConfigError) -> UInt16 {
        guard let v = value(key) else { return 0 }
        if let t = Self.text(v), t.contains(":") {
            let parts = t.split(whereSeparator: { $0 == ":" || $0 == "." })
            guard parts.count == 3, let b = UInt16(parts[0], radix: 16), let d = UInt16(parts[1], radix: 16),
                  let f = UInt16(parts[2], radix: 16), b < 256, d < 32, f < 8 else {
                throw error(key, "expected bus:dev.fn like 00:1b.0")
            }
            return b << 8 | d << 3 | f
        }
        return try toNumber(v, key)
    }

    mutating func map(_ key: String) throws(ConfigError) -> MapReader {
        guard let v = value(key) else { return try MapReader(.map([]), path: path + key) }
        return try MapReader(v, path: path + key)
    }

    mutating func list(_ key: String) throws(ConfigError) -> [SourceValue] {
        guard let v = value(key) else { return [] }
        guard case .list(let items, _) = v else { throw error(key, "expected a list") }
        return items
    }

    mutating func eachMap<T>(_ key: String, _ body: (inout MapReader) throws(ConfigError) -> T) throws(ConfigError) -> [T] {
        var out: [T] = []
        for (i, item) in try list(key).enumerated() {
            var r = try MapReader(item, path: path + key + "[\(i)]")
            out.append(try body(&r))
        }
        return out
    }
}

private extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
