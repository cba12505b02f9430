/// The readable source format as a tree, independent of its spelling (YAML or JSON).
///
/// Output builds a tree of typed values and prints it with `yaml()` or `json()`; input
/// parses text into a tree whose scalars keep their raw text (so 64-bit numbers and hex
/// never pass through `Double`) and their line, for error messages.
indirect enum SourceValue: Hashable, Sendable {
    /// An unsigned number; `hex` chooses how YAML prints it (JSON always prints decimal).
    case number(UInt64, hex: Bool)
    case string(String)
    case bool(Bool)
    /// JSON `null` (output only: `check --json` offsets that do not apply).
    case null
    /// A parsed scalar: its raw text and line (input only).
    case scalar(String, line: Int)
    case list([SourceValue], line: Int = 0)
    case map([(String, SourceValue)], line: Int = 0)

    static func == (a: SourceValue, b: SourceValue) -> Bool { a.json() == b.json() }
    func hash(into h: inout Hasher) { h.combine(json()) }

    var line: Int {
        switch self {
        case .scalar(_, let l), .list(_, let l), .map(_, let l): l
        default: 0
        }
    }

    // MARK: Printing

    /// Block-style YAML; short scalar lists are printed in flow style (`[READ, WRITE]`).
    func yaml() -> String {
        var out = ""
        printYAML(into: &out, indent: 0)
        return out
    }

    private var isScalar: Bool {
        switch self {
        case .list, .map: false
        default: true
        }
    }

    private func yamlScalar() -> String {
        switch self {
        case .number(let v, let h): h ? "0x" + String(v, radix: 16) : String(v)
        case .bool(let b): b ? "true" : "false"
        case .null: "null"
        case .string(let s): yamlString(s)
        case .scalar(let s, _): yamlString(s)
        case .list(let l, _): "[" + l.map { $0.yamlScalar() }.joined(separator: ", ") + "]"
        case .map: "{}"
        }
    }

    private func printYAML(into out: inout String, indent: Int) {
        let pad = String(repeating: " ", count: indent)
        switch self {
        case .map(let entries, _):
            for (k, v) in entries {
                switch v {
                case .map(let e, _) where e.isEmpty: out += "\(pad)\(k): {}\n"
                case .map: out += "\(pad)\(k):\n"; v.printYAML(into: &out, indent: indent + 2)
                case .list(let l, _) where l.isEmpty || l.allSatisfy(\.isScalar):
                    out += "\(pad)\(k): \(v.yamlScalar())\n"
                case .list: out += "\(pad)\(k):\n"; v.printYAML(into: &out, indent: indent)
                default: out += "\(pad)\(k): \(v.yamlScalar())\n"
                }
            }
        case .list(let items, _):
            for item in items {
                if case .map(let e, _) = item, !e.isEmpty {
                    var inner = ""
                    item.printYAML(into: &inner, indent: indent + 2)
                    // The first key goes on the dash line.
                    out += pad + "- " + inner.dropFirst(indent + 2)
                } else {
                    out += "\(pad)- \(item.yamlScalar())\n"
                }
            }
        default:
            out += pad + yamlScalar() + "\n"
        }
    }

    /// Pretty JSON with two-space indentation; keys keep their order.
    func json(indent: Int = 0) -> String {
        let pad = String(repeating: " ", count: indent)
        let inner = String(repeating: " ", count: indent + 2)
        switch self {
        case .number(let v, _): return String(v)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .string(let s), .scalar(let s, _): return jsonString(s)
        case .list(let l, _):
            if l.isEmpty { return "[]" }
            if l.allSatisfy(\.isScalar) { return "[" + l.map { $0.json() }.joined(separator: ", ") + "]" }
            return "[\n" + l.map { inner + $0.json(indent: indent + 2) }.joined(separator: ",\n") + "\n\(pad)]"
        case .map(let e, _):
            if e.isEmpty { return "{}" }
            return "{\n" + e.map { inner + jsonString($0.0) + ": " + $0.1.json(indent: indent + 2) }.joined(separator: ",\n")
                + "\n\(pad)}"
        }
    }
}

/// A YAML scalar for `s`: plain when it cannot be mistaken for anything else, otherwise
/// double-quoted with JSON-style escapes (valid YAML).
func yamlString(_ s: String) -> String {
    let reserved: Set<String> = ["true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"]
    let isIdentifier = s.first.map { $0.isASCII && $0.isLetter } == true
        && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
    let isCPUList = !s.isEmpty && s.allSatisfy { $0.isASCII && ($0.isNumber || $0 == "," || $0 == "-") }
        && (s.contains("-") || s.contains(",")) && s.first?.isNumber == true && s.last?.isNumber == true
    if (isIdentifier && !reserved.contains(s.lowercased())) || isCPUList { return s }
    return jsonString(s)
}

/// A JSON string literal for `s`: quotes, backslashes and control characters escaped.
/// Shared by the config sources and the lab's JSON views.
public func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        default:
            if u.value < 0x20 || u.value == 0x7f {
                let h = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}
