import JHLab
import JHMachine

/// Shrinks a failing plan to a minimal one that still fails the same way: the fewest
/// rules, each as early (lowest `nth`, `after`, `count`) as it can be.
///
/// Deterministic: candidates are tried in a fixed order (drop rule 1, 2, …; then lower
/// each rule's numbers from 1 upwards) and the first that still fails is kept, until no
/// candidate does. Each try is one run of the scenario.
public struct Shrinker: Sendable {
    public var runner: FaultRunner
    /// Stop after this many runs (the result is then smaller, not necessarily minimal).
    public var maxRuns = 500

    public init(runner: FaultRunner, maxRuns: Int = 500) {
        self.runner = runner; self.maxRuns = maxRuns
    }

    public struct Result: Sendable {
        public var plan: FaultPlan
        public var failures: [Failure]
        /// Runs spent shrinking.
        public var runs: Int
    }

    /// - Parameter kind: the failure class the shrunk plan must still show.
    /// - Returns: nil when `plan` does not fail with `kind` in the first place.
    public func shrink(_ plan: FaultPlan, seed: UInt64, kind: FailureClass) throws(LabError) -> Result? {
        var runs = 0
        func failing(_ p: FaultPlan) throws(LabError) -> [Failure]? {
            runs += 1
            let r = try runner.run(p, seed: seed)
            return r.worst == kind ? r.failures : nil
        }
        guard var failures = try failing(plan) else { return nil }
        var current = plan
        var progress = true
        while progress, runs < maxRuns {
            progress = false
            // 1. Drop a rule.
            for i in current.rules.indices where current.rules.count > 1 && runs < maxRuns {
                var c = current
                c.rules.remove(at: i)
                if let f = try failing(c) { current = c; failures = f; progress = true; break }
            }
            if progress { continue }
            // 2. Make a rule fire earlier or less often.
            search: for i in current.rules.indices {
                for c in Self.smaller(current.rules[i]) where runs < maxRuns {
                    var p = current
                    p.rules[i] = c
                    if let f = try failing(p) { current = p; failures = f; progress = true; break search }
                }
            }
        }
        return Result(plan: current, failures: failures, runs: runs)
    }

    /// Simpler variants of a rule, most simplified first.
    static func smaller(_ r: FaultRule) -> [FaultRule] {
        var out: [FaultRule] = []
        if let n = r.nth, n > 1 {
            for k in 1..<n { var c = r; c.nth = k; out.append(c) }
        }
        if let a = r.after, a > 0 {
            var c = r; c.after = nil; out.append(c)
            for k in stride(from: 1, to: a, by: 1) { var c = r; c.after = k; out.append(c) }
        }
        if let n = r.count, n > 1 {
            for k in 1..<n { var c = r; c.count = k; out.append(c) }
        }
        return out
    }
}
