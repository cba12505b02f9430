/// The built-in configs by name, for every place that accepts a config file: a name that
/// is not a file is looked up here (`config show tiny-demo`, `cell create tiny-demo`).
extension BuiltinConfigs {
    /// The built-in system config names (the 4-CPU qemu-x86 machine).
    public static let systemNames = ["qemu-x86"]

    /// Every built-in name, system config first, then the cells in the order of §7.1.
    public static var allNames: [String] { systemNames + cellNames }

    /// A built-in config (system or cell) by name, with or without `.cell`.
    public static func named(_ name: String) -> [UInt8]? {
        let base = name.hasSuffix(".cell") ? String(name.dropLast(5)) : name
        if base == "qemu-x86" { return qemuX86 }
        return cell(named: base)
    }

    /// One row of `jhsim config list`.
    public struct Summary: Hashable, Sendable {
        public var name: String
        public var kind: ConfigFile.Kind
        /// The name inside the config (`QEMU-VM` for qemu-x86).
        public var cellName: String
        public var cpus: String
        public var size: Int
    }

    /// Every built-in config, decoded for `jhsim config list`.
    public static var summaries: [Summary] {
        allNames.compactMap { n in
            guard let bytes = named(n), let file = try? ConfigFile.decode(bytes) else { return nil }
            return Summary(name: n, kind: file.kind, cellName: file.cell.name, cpus: file.cell.cpus.rangeList,
                           size: bytes.count)
        }
    }
}

/// "Did you mean …?" for names typed by hand: the closest candidate by edit distance,
/// if it is close enough to be a typo rather than a different word.
public enum NearMiss {
    /// The candidate nearest to `word`, when at most a third of its letters (and at
    /// least one) differ; ties go to the earlier candidate, so the answer is stable.
    public static func suggestion(for word: String, among candidates: [String]) -> String? {
        let w = Array(word.lowercased())
        var best: (String, Int)? = nil
        for c in candidates where c != word {
            let d = distance(w, Array(c.lowercased()))
            if d < (best?.1 ?? Int.max) { best = (c, d) }
        }
        guard let (c, d) = best else { return nil }
        // A prefix the user stopped typing (`tiny` for `tiny-demo`) is a near miss too.
        if w.count >= 3, c.lowercased().hasPrefix(word.lowercased()) { return c }
        return d <= max(1, min(w.count, c.count) / 3) ? c : nil
    }

    /// `, did you mean 'X'?` or nothing: the tail messages append.
    public static func hint(for word: String, among candidates: [String]) -> String {
        suggestion(for: word, among: candidates).map { "; did you mean '\($0)'?" } ?? ""
    }

    /// Levenshtein distance with adjacent transpositions counted as one edit.
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev2 = [Int](repeating: 0, count: b.count + 1)
        var prev = Array(0...b.count)
        var cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    cur[j] = min(cur[j], prev2[j - 2] + 1)
                }
            }
            prev2 = prev; prev = cur
        }
        return prev[b.count]
    }
}
