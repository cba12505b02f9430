import JHABI
import JHLab
import JHMachine

extension FaultRunRecord {
    /// The record of one finished run (`unfired` rules are reported by `faults run`).
    init(index: Int, seed: UInt64, plan: FaultPlan, result r: RunResult, reproducer: String) {
        var sites: [String] = []
        for (k, n) in r.fired.enumerated() where n > 0 && !sites.contains(plan.rules[k].site) { sites.append(plan.rules[k].site) }
        self.init(index: index, seed: seed, plan: plan, injected: r.fired.reduce(0, +), sites: sites,
                  failing: r.failures.isEmpty ? nil : FailingRun(plan: plan, seed: seed, failures: r.failures, reproducer: reproducer))
    }

    /// The worst class found; nil for a clean run.
    public var outcome: FailureClass? { failing.flatMap { FailureClass.worst($0.failures.map(\.kind)) } }
    /// The site and hit number of the first rule (what a sweep aims at).
    public var site: String? { plan.rules.first?.site }
    public var hit: Int? { plan.rules.first?.nth }
    /// The errno of the first rule that fired (else of the first rule).
    public var errno: Errno? { plan.rules.first { sites.contains($0.site) }?.errno ?? plan.rules.first?.errno }
    /// The first finding of the worst class: its command and line lead the report.
    public var lead: Failure? {
        guard let o = outcome else { return nil }
        return failing?.failures.first { $0.kind == o }
    }
    /// The quirk the run's findings name first.
    public var quirk: Quirk? { failing?.failures.compactMap(\.quirk).first }
    /// Messages of invariant findings (quirk-explained or not).
    public var invariants: [String] {
        (failing?.failures ?? []).filter { $0.kind == .invariant || $0.kind == .quirk }.map(\.message)
    }
}

/// How many runs ended in each outcome, from a tally (which keeps every non-clean run).
public struct OutcomeCounts: Sendable, Hashable {
    public var runs = 0
    public var byClass: [FailureClass: Int] = [:]

    public init() {}
    init(_ t: RunTally) {
        runs = t.runs
        for r in t.failing { if let o = r.outcome { byClass[o, default: 0] += 1 } }
    }

    public var clean: Int { runs - byClass.values.reduce(0, +) }
    public func count(_ c: FailureClass) -> Int { byClass[c] ?? 0 }

    /// "invariant 2, quirk 5" in class order.
    public var summary: String {
        FailureClass.allCases.compactMap { c in count(c) > 0 ? "\(c.rawValue) \(count(c))" : nil }.joined(separator: ", ")
    }
}
