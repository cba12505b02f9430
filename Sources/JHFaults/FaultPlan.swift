import JHMachine

/// A fault plan: the rules one run injects, in the CLI's rule form, so a failing run can
/// be reproduced from its printed command line.
public struct FaultPlan: Hashable, Sendable, Codable, CustomStringConvertible {
    public var rules: [FaultRule]
    public init(rules: [FaultRule]) { self.rules = rules }
    public var description: String { rules.map(\.description).joined(separator: " ") }
}
