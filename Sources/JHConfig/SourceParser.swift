import Yams

/// Parses YAML or JSON text into a `SourceValue` tree with Yams' composer (JSON is read
/// as YAML flow style). Scalars keep their raw text, so `0xffffffffffffffff` and other
/// 64-bit values are never rounded.
enum SourceParser {
    /// - Throws: `ConfigError` with the line of the syntax error.
    static func parse(_ text: String) throws(ConfigError) -> SourceValue {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let e as YamlError {
            throw ConfigError(structName: "source", field: "syntax", offset: nil, message: "not valid YAML or JSON: \(e)")
        } catch {
            throw ConfigError(structName: "source", field: "syntax", offset: nil, message: "not valid YAML or JSON: \(error)")
        }
        guard let node else {
            throw ConfigError(structName: "source", field: "document", offset: nil, message: "the source is empty")
        }
        return try convert(node)
    }

    private static func convert(_ n: Node) throws(ConfigError) -> SourceValue {
        let line = n.mark?.line ?? 0
        switch n {
        case .scalar(let s):
            return .scalar(s.string, line: line)
        case .sequence(let seq):
            var items: [SourceValue] = []
            for item in seq { items.append(try convert(item)) }
            return .list(items, line: line)
        case .mapping(let m):
            var entries: [(String, SourceValue)] = []
            for (k, v) in m {
                guard case .scalar(let ks) = k else {
                    throw ConfigError(structName: "source line \(line)", field: "key", offset: nil,
                                      message: "mapping keys must be plain words")
                }
                if entries.contains(where: { $0.0 == ks.string }) {
                    throw ConfigError(structName: "source line \(k.mark?.line ?? line)", field: ks.string, offset: nil,
                                      message: "key \(ks.string) appears twice")
                }
                entries.append((ks.string, try convert(v)))
            }
            return .map(entries, line: line)
        case .alias:
            throw ConfigError(structName: "source line \(line)", field: "alias", offset: nil,
                              message: "YAML aliases are not supported in config sources")
        }
    }
}
