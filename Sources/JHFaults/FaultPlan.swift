import JHLab
import JHMachine

/// A fault plan: the rules one run injects, armed for the whole scenario, so "the 7th
/// kmalloc" means the 7th kmalloc of the run (not of one command).
///
/// The text form is one rule per line in the CLI's rule form (`#` starts a comment,
/// blank lines are ignored); rules may also share a line separated by blanks. Printing a
/// plan and parsing it again gives the same plan, so a failing run is reproducible from
/// its printed text.
public struct FaultPlan: Hashable, Sendable, Codable, CustomStringConvertible {
    public var rules: [FaultRule]
    public init(rules: [FaultRule] = []) { self.rules = rules }

    /// The rules separated by blanks, each quoted if it holds a blank or quote (a
    /// `state=` with blanks), as a shell or a plan file reads it back.
    public var description: String { rules.map { ScenarioLexer.quoteIfNeeded($0.description) }.joined(separator: " ") }

    /// The file form: one rule per line.
    public var text: String { rules.map { ScenarioLexer.quoteIfNeeded($0.description) + "\n" }.joined() }

    /// Parses the text form against a fault-site catalog.
    /// - Throws: the first rule that does not parse, with its line number.
    public init(parsing text: String, catalog: [FaultSiteInfo]) throws(FaultRuleError) {
        var rules: [FaultRule] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            // Words split as in scenarios: quotes keep a `state=` with blanks in one rule.
            let words: [String]
            do { words = try ScenarioLexer.split(String(raw)) } catch {
                throw FaultRuleError(message: "plan line \(i + 1): \(error.message)")
            }
            for word in words.prefix(while: { !$0.hasPrefix("#") }) {
                do {
                    rules.append(try FaultRule(parsing: String(word), catalog: catalog))
                } catch {
                    throw FaultRuleError(message: "plan line \(i + 1): \(error.message)")
                }
            }
        }
        self.rules = rules
    }

    /// Whether a run of this plan depends on the `prob=` generator (and so on the seed).
    public var isRandom: Bool { rules.contains { $0.prob != nil } }
}
