import JHABI
import JHDriver
import JHLab
import JHMachine

/// How often the fault-free run hit one site, split by CPU and detail.
public struct SiteCoverage: Sendable, Hashable {
    public var site: String
    public var hits: Int
    /// `cpu=N:detail` (or `-`) → hits, in first-seen order.
    public var breakdown: [(key: String, hits: Int)]

    public static func == (a: SiteCoverage, b: SiteCoverage) -> Bool {
        a.site == b.site && a.hits == b.hits && a.breakdown.map(\.key) == b.breakdown.map(\.key)
            && a.breakdown.map(\.hits) == b.breakdown.map(\.hits)
    }
    public func hash(into h: inout Hasher) { h.combine(site); h.combine(hits) }

    /// A one-line summary for the text report: hits per CPU for per-CPU sites, else per
    /// detail; at most 8 entries (`--json` has every CPU and detail pair).
    public var summary: String {
        var keys: [String] = []
        var counts: [String: Int] = [:]
        for (key, n) in breakdown {
            let parts = key.split(separator: ":", maxSplits: 1).map(String.init)
            let k = parts[0].hasPrefix("cpu=") ? parts[0] : key
            if counts[k] == nil { keys.append(k) }
            counts[k, default: 0] += n
        }
        if keys == ["-"] { return "\(hits) hits" }
        if keys.count > 8 { return "\(hits) hits at \(keys.count) distinct places" }
        return keys.map { "\($0)×\(counts[$0] ?? 0)" }.joined(separator: " ")
    }

    /// Groups a hit log by site, in catalog order (sites outside the catalog last, by name).
    static func from(_ log: [FaultSite], catalog: [FaultSiteInfo]) -> [SiteCoverage] {
        var order: [String] = []
        var perSite: [String: [FaultSite]] = [:]
        for s in log {
            if perSite[s.name] == nil { order.append(s.name) }
            perSite[s.name, default: []].append(s)
        }
        let rank = Dictionary(catalog.enumerated().map { ($0.element.name, $0.offset) }, uniquingKeysWith: { a, _ in a })
        order.sort { (rank[$0] ?? Int.max, $0) < (rank[$1] ?? Int.max, $1) }
        return order.map { name in
            var keys: [String] = []
            var counts: [String: Int] = [:]
            for s in perSite[name] ?? [] {
                let k = [s.cpu.map { "cpu=\($0)" }, s.detail.map { "state=\($0)" }].compactMap { $0 }.joined(separator: ":")
                let key = k.isEmpty ? "-" : k
                if counts[key] == nil { keys.append(key) }
                counts[key, default: 0] += 1
            }
            return SiteCoverage(site: name, hits: perSite[name]?.count ?? 0,
                                breakdown: keys.map { ($0, counts[$0] ?? 0) })
        }
    }
}

/// One row of a sweep report.
public struct SweepSiteRow: Sendable {
    public var coverage: SiteCoverage
    public var runs = 0
    /// Runs whose rule actually fired (a run that never reaches its hit proves nothing).
    public var fired = 0
    public var failures = 0
}

/// A failing run with its plan and how to reproduce it.
public struct FailingRun: Sendable {
    public var plan: FaultPlan
    public var seed: UInt64
    public var failures: [Failure]
    public var reproducer: String
    public var worst: FailureClass { failures.map(\.kind).max { $0.severity < $1.severity } ?? .invariant }
}

/// The result of a sweep.
public struct SweepReport: Sendable {
    public var scenario: String
    public var profile: String
    /// Failures of the fault-free run; when not empty nothing was swept.
    public var baselineFailures: [Failure]
    public var rows: [SweepSiteRow]
    public var runs: Int
    /// Set when `--max-runs` stopped the sweep early.
    public var truncated: Bool
    public var failing: [FailingRun]

    /// 0 clean; else the exit status of the worst failure class found.
    public var exitStatus: Int32 {
        let all = baselineFailures + failing.flatMap(\.failures)
        return all.map(\.kind).max { $0.severity < $1.severity }?.exitStatus ?? 0
    }
}

/// The exhaustive single-fault sweep: run the scenario once counting every site hit,
/// then once per (site, hit number) with exactly that hit failing (and, with `errnos`,
/// once per plausible errno of the site), checking the box after every command.
public struct Sweep: Sendable {
    public var runner: FaultRunner
    /// Only these sites (nil: every site the scenario reaches).
    public var sites: [String]?
    /// Also run every plausible errno of a site, not only its default.
    public var allErrnos = false
    public var maxRuns: Int?

    public init(runner: FaultRunner, sites: [String]? = nil, allErrnos: Bool = false, maxRuns: Int? = nil) {
        self.runner = runner; self.sites = sites; self.allErrnos = allErrnos; self.maxRuns = maxRuns
    }

    /// This sweep after its fault-free run: its cases listed and numbered from 1.
    public func prepared() throws(LabError) -> Prepared {
        let catalog = SimulatedBox.faultCatalog
        let (runner, base) = try self.runner.prepared()
        var p = Prepared(runner: runner, baseline: base, coverage: [], cases: [], truncated: false)
        guard base.failures.isEmpty else { return p }
        var coverage = SiteCoverage.from(base.checkedSites, catalog: catalog)
        if let sites { coverage.removeAll { !sites.contains($0.site) } }
        for c in coverage {
            guard let info = catalog.first(where: { $0.name == c.site }) else { continue }
            let errnos = allErrnos ? SiteErrnos.valid(info) : [info.defaultErrno]
            for nth in 1...max(c.hits, 1) where c.hits > 0 {
                for e in errnos { p.cases.append(FaultRule(site: c.site, nth: nth, errno: e)) }
            }
        }
        if let maxRuns, p.cases.count > maxRuns {
            p.cases.removeLast(p.cases.count - maxRuns)
            p.truncated = true
        }
        p.coverage = coverage
        return p
    }

    /// A sweep whose fault-free run is done: case `i` (1-based) is one rule.
    public struct Prepared: Sendable, PreparedRuns {
        public var runner: FaultRunner
        public var baseline: RunResult
        /// Sites swept, in catalog order, with their hits in the fault-free run.
        public var coverage: [SiteCoverage]
        /// One rule per case, site by site, hit by hit (errno by errno).
        public var cases: [FaultRule]
        /// Set when `--max-runs` cut the case list.
        public var truncated: Bool

        public var total: Int { cases.count }

        public func describe(_ index: Int) -> String { cases[index - 1].description }

        public func run(_ index: Int) throws(LabError) -> FaultRunRecord {
            let plan = FaultPlan(rules: [cases[index - 1]])
            let r = try runner.run(plan)
            let fired = r.fired.first ?? 0
            return FaultRunRecord(index: index, seed: 0, plan: plan, injected: fired, sites: fired > 0 ? [plan.rules[0].site] : [],
                                  failing: r.failures.isEmpty ? nil
                                      : FailingRun(plan: plan, seed: 0, failures: r.failures, reproducer: runner.reproducer(plan, seed: 0)))
        }

        public func crashed(_ index: Int, message: String) -> FaultRunRecord {
            let plan = FaultPlan(rules: [cases[index - 1]])
            let f = Failure(kind: .trap, command: 0, commandLine: "", line: 0, message: message)
            return FaultRunRecord(index: index, seed: 0, plan: plan, injected: 0,
                                  failing: FailingRun(plan: plan, seed: 0, failures: [f], reproducer: runner.reproducer(plan, seed: 0)))
        }

        /// The report of the cases in `tally`.
        public func report(_ tally: RunTally) -> SweepReport {
            SweepReport(tally, scenario: runner.target.file ?? DefaultScenario.name, profile: runner.profileName,
                        baselineFailures: baseline.failures, coverage: coverage, truncated: truncated)
        }
    }

    /// Runs one shard of the sweep (the whole of it by default) in this process.
    /// - Parameter progress: called before each run with (done, total, rule), for a
    ///   terminal progress line.
    public func run(shard: Shard = .whole, progress: ((Int, Int, String) -> Void)? = nil) throws(LabError) -> SweepReport {
        let p = try prepared()
        var tally = RunTally()
        let mine = Array(shard.runs(of: p.total))
        for (k, i) in mine.enumerated() {
            progress?(k, mine.count, p.describe(i))
            tally.add(try p.run(i))
        }
        if !mine.isEmpty { progress?(mine.count, mine.count, "") }
        return p.report(tally)
    }
}

extension SweepReport {
    /// The report of the cases in `tally`, whichever processes ran them and in whatever
    /// order (one process, shards, workers, `faults merge`).
    init(_ tally: RunTally, scenario: String, profile: String, baselineFailures: [Failure], coverage: [SiteCoverage],
         truncated: Bool) {
        self.init(scenario: scenario, profile: profile, baselineFailures: baselineFailures,
                  rows: coverage.map { c in
                      let s = tally.perSite[c.site] ?? (0, 0, 0)
                      return SweepSiteRow(coverage: c, runs: s.runs, fired: s.fired, failures: s.failures)
                  },
                  runs: tally.runs, truncated: truncated, failing: tally.sortedFailing.compactMap(\.failing))
    }
}
