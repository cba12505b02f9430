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
    /// Edits of the configs the scenario passes (`--mutate-configs`, ConfigMutation.swift),
    /// written after the rules as `config@…` words.
    public var patches: [ConfigPatch]
    public init(rules: [FaultRule] = [], patches: [ConfigPatch] = []) { self.rules = rules; self.patches = patches }

    /// The plan's words: each rule, then each config patch.
    public var words: [String] { rules.map(\.description) + patches.map(\.description) }

    /// The words separated by blanks, each quoted if it holds a blank or quote (a
    /// `state=` with blanks), as a shell or a plan file reads it back.
    public var description: String { words.map { ScenarioLexer.quoteIfNeeded($0) }.joined(separator: " ") }

    /// The file form: one word per line.
    public var text: String { words.map { ScenarioLexer.quoteIfNeeded($0) + "\n" }.joined() }

    /// Adds one plan word: a rule, or a `config@…` patch.
    public mutating func append(parsing word: String, catalog: [FaultSiteInfo]) throws(FaultRuleError) {
        if ConfigPatch.isPatch(word) { patches.append(try ConfigPatch(parsing: word)) } else {
            rules.append(try FaultRule(parsing: word, catalog: catalog))
        }
    }

    /// Parses the text form against a fault-site catalog.
    /// - Throws: the first rule that does not parse, with its line number.
    public init(parsing text: String, catalog: [FaultSiteInfo]) throws(FaultRuleError) {
        var plan = FaultPlan()
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            // Words split as in scenarios: quotes keep a `state=` with blanks in one rule.
            let words: [String]
            do { words = try ScenarioLexer.split(String(raw)) } catch {
                throw FaultRuleError(message: "plan line \(i + 1): \(error.message)")
            }
            for word in words.prefix(while: { !$0.hasPrefix("#") }) {
                do {
                    try plan.append(parsing: String(word), catalog: catalog)
                } catch {
                    throw FaultRuleError(message: "plan line \(i + 1): \(error.message)")
                }
            }
        }
        self = plan
    }

    /// Whether a run of this plan depends on the `prob=` generator (and so on the seed).
    public var isRandom: Bool { rules.contains { $0.prob != nil } }
}
