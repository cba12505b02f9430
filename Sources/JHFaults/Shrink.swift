import JHLab
import JHMachine

/// Shrinks a failing plan to a minimal one that still fails *the same way*: the same
/// signature (class, scenario line, quirk and message shape of its lead finding), so a
/// failure at line 18 never slips to an unrelated one at line 6.
///
/// First every `prob=` rule becomes the deterministic `nth=` rules of the hits it really
/// failed (a reproducer should not depend on a random stream). Then, deterministically:
/// drop rules (in order, first success kept), then make each rule fire earlier or less
/// often (`nth`, `after`, `count` from 1 upwards), until no candidate still fails the
/// same way. Each try is one run of the scenario.
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

    /// The signature a shrunk plan must keep: its worst finding's.
    static func signature(_ r: RunResult) -> String? {
        guard let w = r.worst else { return nil }
        return r.failures.first { $0.kind == w }?.signature
    }

    /// - Parameter original: the run of `plan` that failed (its signature is kept).
    /// - Returns: nil when `original` did not fail.
    public func shrink(_ plan: FaultPlan, seed: UInt64, like original: RunResult) throws(LabError) -> Result? {
        guard let want = Self.signature(original) else { return nil }
        var runs = 0
        func failing(_ p: FaultPlan) throws(LabError) -> [Failure]? {
            runs += 1
            let r = try runner.run(p, seed: seed)
            return Self.signature(r) == want ? r.failures : nil
        }
        var current = plan
        var failures = original.failures
        // 0. prob= rules become the nth= rules of the hits they failed.
        if plan.isRandom, original.firedAt.count == plan.rules.count {
            var det = FaultPlan(patches: plan.patches)
            for (rule, hits) in zip(plan.rules, original.firedAt) {
                guard rule.prob != nil else { det.rules.append(rule); continue }
                for n in hits {
                    var r = rule
                    r.prob = nil; r.count = nil; r.after = nil; r.nth = n
                    det.rules.append(r)
                }
            }
            if let f = try failing(det) { current = det; failures = f }
        }
        var progress = true
        while progress, runs < maxRuns {
            progress = false
            // 1. Drop a rule or a config patch (keeping at least one of them).
            let items = current.rules.count + current.patches.count
            for i in 0..<items where items > 1 && runs < maxRuns {
                var c = current
                if i < c.rules.count { c.rules.remove(at: i) } else { c.patches.remove(at: i - c.rules.count) }
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

    /// Runs `plan` once, then shrinks it keeping that run's signature.
    public func shrink(_ plan: FaultPlan, seed: UInt64) throws(LabError) -> Result? {
        let first = try runner.run(plan, seed: seed)
        guard let r = try shrink(plan, seed: seed, like: first) else { return nil }
        return Result(plan: r.plan, failures: r.failures, runs: r.runs + 1)
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
