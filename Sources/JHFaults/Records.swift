import JHABI
import JHLab
import JHMachine

/// One faulted run of a sweep or campaign: what was injected and what was found. One
/// value per run, independent of the report around it, so a streaming writer (JSONL) can
/// emit it the moment the run ends and a merger can add records up again.
public struct RunRecord: Sendable {
    /// 1-based run number within its sweep or campaign.
    public var index: Int
    /// The run's seed (the `prob=` streams derive from it; 0 in sweeps).
    public var seed: UInt64
    public var plan: FaultPlan
    /// How many hits each rule failed.
    public var fired: [Int]
    public var failures: [Failure]
    /// Rules that failed no hit in this run (valid, but they tested nothing here).
    public var unfired: [UnfiredRule]
    public var reproducer: String
    /// The shrunk plan of a failing campaign run.
    public var minimal: ShrunkPlan?

    public init(index: Int, seed: UInt64, plan: FaultPlan, result: RunResult, reproducer: String) {
        self.index = index; self.seed = seed; self.plan = plan; fired = result.fired
        failures = result.failures; unfired = result.unfired; self.reproducer = reproducer
    }

    /// The worst class found; nil for a clean run.
    public var outcome: FailureClass? { FailureClass.worst(failures.map(\.kind)) }
    /// Faults injected.
    public var injected: Int { fired.reduce(0, +) }
    /// The site and hit number of the first rule (what a sweep aims at).
    public var site: String? { plan.rules.first?.site }
    public var hit: Int? { plan.rules.first?.nth }
    /// The errno the first rule that fired failed its hit with.
    public var errno: Errno? {
        zip(plan.rules, fired).first { $0.1 > 0 }?.0.errno ?? plan.rules.first?.errno
    }
    /// The first finding of the worst class: its command and line lead the report.
    public var lead: Failure? {
        guard let o = outcome else { return nil }
        return failures.first { $0.kind == o }
    }
    /// The quirk the run's findings name first.
    public var quirk: Quirk? { failures.compactMap(\.quirk).first }
    /// Messages of invariant findings (quirk-explained or not).
    public var invariants: [String] { failures.filter { $0.kind == .invariant || $0.kind == .quirk }.map(\.message) }
}

/// A shrunk plan with what it still finds.
public struct ShrunkPlan: Sendable {
    public var plan: FaultPlan
    public var failures: [Failure]
    public var reproducer: String
    /// Runs spent shrinking.
    public var runs: Int
}

/// Counts over many run records: what a sweep or campaign (or a merge of shards) adds up
/// to. Kept apart from the records so partial tallies can be summed.
public struct FaultTally: Sendable, Hashable {
    public var runs = 0
    public var clean = 0
    public var byClass: [FailureClass: Int] = [:]
    public var faultsInjected = 0

    public init() {}

    public mutating func add(_ r: RunRecord) {
        runs += 1
        faultsInjected += r.injected
        if let o = r.outcome { byClass[o, default: 0] += 1 } else { clean += 1 }
    }

    public static func + (a: FaultTally, b: FaultTally) -> FaultTally {
        var t = a
        t.runs += b.runs; t.clean += b.clean; t.faultsInjected += b.faultsInjected
        for (k, v) in b.byClass { t.byClass[k, default: 0] += v }
        return t
    }

    public func count(_ c: FailureClass) -> Int { byClass[c] ?? 0 }

    /// "invariant 2, quirk 5" in class order; empty when all clean.
    public var summary: String {
        FailureClass.allCases.compactMap { c in count(c) > 0 ? "\(c.rawValue) \(count(c))" : nil }.joined(separator: ", ")
    }
}

/// What every sweep and campaign report says about where it came from, for `--json`.
public struct ReportOrigin: Sendable {
    public var scenario: String
    public var scenarioSHA256: String
    public var profile: String
    /// The trace hash of the fault-free run.
    public var baselineTraceHash: String
    public var jhsimVersion: String { JHSimVersion.string }

    init(runner: FaultRunner, baseline: RunResult) {
        scenario = runner.target.file ?? DefaultScenario.name
        scenarioSHA256 = runner.target.sha256
        profile = runner.profileName
        baselineTraceHash = baseline.traceHash
    }
}
