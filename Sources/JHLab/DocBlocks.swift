/// Keeps the tutorials' command outputs true: a fenced block that follows a marker
/// `<!-- jhsim run scenarios/NAME.jhsim -->` holds exactly what `jhsim run` prints for that
/// scenario. A test regenerates every block and compares, so the docs never drift.
///
/// `<!-- jhsim run scenarios/NAME.jhsim skip=N -->` shows the transcript from the
/// (N+1)-th command on: the scenario still runs whole (so `jhsim run` replays the section
/// on a fresh machine), while a section that continues from the previous one prints only
/// its own commands.
public enum DocBlocks {
    public static let markerPrefix = "<!-- jhsim run "
    public static let markerSuffix = " -->"

    /// One marker and the block after it.
    public struct Block: Hashable, Sendable {
        /// The scenario path, relative to the markdown file.
        public var scenario: String
        /// How many leading commands of the scenario the block leaves out.
        public var skip: Int = 0
        /// Line index of the opening fence.
        public var fenceLine: Int
        /// The block's current content (lines joined with `\n`, ending in `\n`).
        public var content: String
    }

    /// Finds the marked blocks.
    /// - Throws: `LabError` when a marker is not followed by a fenced block.
    public static func blocks(in markdown: String) throws(LabError) -> [Block] {
        let lines = markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var out: [Block] = []
        var i = 0
        while i < lines.count {
            let l = lines[i]
            if l.hasPrefix(markerPrefix), l.hasSuffix(markerSuffix) {
                let words = l.dropFirst(markerPrefix.count).dropLast(markerSuffix.count).split(separator: " ")
                let scenario = words.first.map(String.init) ?? ""
                var skip = 0
                for w in words.dropFirst() {
                    guard w.hasPrefix("skip="), let n = Int(w.dropFirst(5)), n >= 0 else {
                        throw LabError("line \(i + 1): unknown marker option '\(w)'; valid: skip=N")
                    }
                    skip = n
                }
                guard i + 1 < lines.count, lines[i + 1].hasPrefix("```") else {
                    throw LabError("line \(i + 1): the marker for \(scenario) must be followed by a ``` block")
                }
                var j = i + 2
                var body = ""
                while j < lines.count, lines[j] != "```" { body += lines[j] + "\n"; j += 1 }
                guard j < lines.count else { throw LabError("line \(i + 2): unterminated ``` block") }
                out.append(Block(scenario: scenario, skip: skip, fenceLine: i + 1, content: body))
                i = j + 1
            } else {
                i += 1
            }
        }
        return out
    }

    /// The transcript lines from the (n+1)-th `$ jhsim` line on.
    static func dropCommands(_ n: Int, from lines: [String], _ scenario: String) throws(LabError) -> [String] {
        guard n > 0 else { return lines }
        var seen = 0
        for (i, l) in lines.enumerated() where l.hasPrefix("$ jhsim ") {
            if seen == n { return Array(lines[i...]) }
            seen += 1
        }
        throw LabError("\(scenario): skip=\(n), but its transcript has only \(seen) commands")
    }

    /// The markdown with every marked block's content replaced by `generate(scenario)`.
    public static func regenerate(_ markdown: String, _ generate: (String) throws -> String) throws -> String {
        var lines = markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for b in try blocks(in: markdown).reversed() {
            var end = b.fenceLine + 1
            while end < lines.count, lines[end] != "```" { end += 1 }
            var body = try generate(b.scenario).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            body = try dropCommands(b.skip, from: body, b.scenario)
            if body.last == "" { body.removeLast() }
            lines.replaceSubrange((b.fenceLine + 1)..<end, with: body)
        }
        return lines.joined(separator: "\n")
    }
}
