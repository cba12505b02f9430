import JHConfig

/// A tiny JSON writer with a fixed key order, so `--json` output is stable byte for byte
/// (JSONEncoder orders keys by hash unless sorted, and sorted is not the order scripts
/// expect to read).
public indirect enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case string(String)
    /// Already-formatted JSON text (a number with a fraction).
    case raw(String)
    case array([JSONValue])
    /// Keys in the order given.
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.text() == b.text() }
    public func hash(into h: inout Hasher) { h.combine(text()) }

    /// Compact when `indent` is nil; otherwise one element per line.
    public func text(indent: Int? = nil, level: Int = 0) -> String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .string(let s): return Self.quote(s)
        case .raw(let r): return r
        case .array(let items):
            if items.isEmpty { return "[]" }
            guard let indent else { return "[" + items.map { $0.text() }.joined(separator: ",") + "]" }
            let pad = String(repeating: " ", count: indent * (level + 1))
            let end = String(repeating: " ", count: indent * level)
            return "[\n" + items.map { pad + $0.text(indent: indent, level: level + 1) }.joined(separator: ",\n") + "\n" + end + "]"
        case .object(let pairs):
            if pairs.isEmpty { return "{}" }
            guard let indent else {
                return "{" + pairs.map { Self.quote($0.0) + ":" + $0.1.text() }.joined(separator: ",") + "}"
            }
            let pad = String(repeating: " ", count: indent * (level + 1))
            let end = String(repeating: " ", count: indent * level)
            return "{\n" + pairs.map { pad + Self.quote($0.0) + ": " + $0.1.text(indent: indent, level: level + 1) }
                .joined(separator: ",\n") + "\n" + end + "}"
        }
    }

    public static func quote(_ s: String) -> String { jsonString(s) }
}
