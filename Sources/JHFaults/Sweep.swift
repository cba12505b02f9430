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
    /// Set when `--max-runs` sampled the cases.
    public var truncated: Bool
    public var failing: [FailingRun]
    /// Set when the sweep tested nothing (or nothing it could judge): exit 8.
    public var vacuity: String? = nil
    /// The outcome of every run, for the counts (`clean`, `quirks`, …).
    public var outcomes = OutcomeCounts()
    /// `--compare-profiles`: whether every case also ran on both profiles, and the plans
    /// whose runs differ, by run number, each with the quirk behind it.
    public var compared = false
    public var differences: [ProfileDifference] = []
    /// The non-clean runs' records, by run number (the `cases` of `--json`).
    public var cases: [FaultRunRecord] = []
    public var meta = ReportMeta()

    /// 0 clean; 8 vacuous; else the exit status of the worst class found.
    public var exitStatus: Int32 {
        if vacuity != nil { return Vacuity.exitStatus }
        let own = FailureClass.worst(failing.flatMap(\.failures).map(\.kind))?.exitStatus ?? 0
        // As `faults run --compare-profiles`: a difference between the profiles is news.
        return own == 0 && !differences.isEmpty ? FailureClass.quirk.exitStatus : own
    }
}

/// The exhaustive sweep: run the scenario once counting every site hit, then once per
/// (site, hit number) with exactly that hit failing (and, with `errnos`, once per
/// plausible errno of the site), checking the box after every command.
///
/// With `depth` 2 it runs every pair: each single fault's run is run again counting its
/// own hits, and every hit that run reaches after its fault (rollback paths included,
/// which the fault-free run never reaches) becomes the second fault of a pair.
public struct Sweep: Sendable {
    public var runner: FaultRunner
    /// Only these sites (nil: every site the scenario reaches).
    public var sites: [String]?
    /// Also run every plausible errno of a site, not only its default.
    public var allErrnos = false
    /// At most this many runs, sampled evenly across sites (pairs: across the whole list).
    public var maxRuns: Int?
    /// 1 for single faults, 2 for pairs.
    public var depth = 1
    /// Run every case on both profiles too and name the quirk behind each difference.
    public var compareProfiles = false

    public init(runner: FaultRunner, sites: [String]? = nil, allErrnos: Bool = false, maxRuns: Int? = nil, depth: Int = 1,
                compareProfiles: Bool = false) {
        self.runner = runner; self.sites = sites; self.allErrnos = allErrnos; self.maxRuns = maxRuns; self.depth = depth
        self.compareProfiles = compareProfiles
    }

    /// This sweep after its fault-free run: its cases listed and numbered from 1.
    /// - Parameter progress: for depth 2, called while the pairs are being found.
    public func prepared(progress: ((Int, Int, String) -> Void)? = nil) throws(LabError) -> Prepared {
        let catalog = SimulatedBox.faultCatalog
        let (runner, base) = try self.runner.prepared()
        var p = Prepared(runner: runner, baseline: base, coverage: [], cases: [], truncated: false)
        guard base.failures.isEmpty else { p.vacuity = Vacuity.baselineFails.reason; return p }
        if compareProfiles { p.comparison = try ProfileComparison(runner: self.runner) }
        var coverage = SiteCoverage.from(base.checkedSites, catalog: catalog)
        if let sites {
            coverage.removeAll { !sites.contains($0.site) }
            if coverage.isEmpty { p.vacuity = Vacuity.sitesNotReached(sites).reason; return p }
        }
        guard !coverage.isEmpty else { p.vacuity = Vacuity.noSitesReached.reason; return p }
        var perSite: [[FaultRule]] = []
        for c in coverage {
            guard let info = catalog.first(where: { $0.name == c.site }) else { continue }
            let errnos = allErrnos ? SiteErrnos.valid(info) : [info.defaultErrno]
            var jobs: [FaultRule] = []
            for nth in 1...max(c.hits, 1) where c.hits > 0 {
                for e in errnos { jobs.append(FaultRule(site: c.site, nth: nth, errno: e)) }
            }
            perSite.append(jobs)
        }
        p.coverage = coverage
        if depth >= 2 {
            let singles = perSite.flatMap { $0 }
            for (k, first) in singles.enumerated() {
                progress?(k, singles.count, "finding the pairs of \(first)")
                let faulted = try runner.run(FaultPlan(rules: [first]), countSites: true)
                p.cases += Self.pairs(after: first, log: faulted.checkedSites)
            }
            progress?(singles.count, singles.count, "")
            p.planned = p.cases.count
            if let maxRuns, p.cases.count > maxRuns {
                // Evenly spaced over the whole list, so every first fault keeps some pairs.
                p.cases = (0..<maxRuns).map { p.cases[$0 * p.cases.count / maxRuns] }
                p.truncated = true
            }
        } else {
            p.planned = perSite.reduce(0) { $0 + $1.count }
            var chosen = perSite.flatMap { $0 }
            if let maxRuns, chosen.count > maxRuns {
                chosen = Self.sampleEvenly(perSite, maxRuns)
                p.truncated = true
            }
            p.cases = chosen.map { FaultPlan(rules: [$0]) }
        }
        return p
    }

    /// The second faults of pairs whose first is `first`: every (site, hit number) the
    /// run faulted by `first` reaches after that fault, each once.
    static func pairs(after first: FaultRule, log: [FaultSite]) -> [FaultPlan] {
        var counts: [String: Int] = [:]
        var out: [FaultPlan] = []
        var injected = false
        for s in log {
            counts[s.name, default: 0] += 1
            if !injected {
                injected = s.name == first.site && counts[s.name] == first.nth
                continue
            }
            let errno = SimulatedBox.faultCatalog.first { $0.name == s.name }?.defaultErrno ?? .noMemory
            out.append(FaultPlan(rules: [first, FaultRule(site: s.name, nth: counts[s.name] ?? 1, errno: errno)]))
        }
        return out
    }

    /// At most `n` cases, taken round-robin across sites (each site's hits spread
    /// evenly), in sweep order.
    static func sampleEvenly(_ perSite: [[FaultRule]], _ n: Int) -> [FaultRule] {
        var quota = Array(repeating: 0, count: perSite.count)
        var left = n
        while left > 0 {
            var gave = false
            for i in perSite.indices where quota[i] < perSite[i].count && left > 0 {
                quota[i] += 1; left -= 1; gave = true
            }
            if !gave { break }
        }
        var out: [FaultRule] = []
        for (i, jobs) in perSite.enumerated() where quota[i] > 0 {
            for k in 0..<quota[i] { out.append(jobs[k * jobs.count / quota[i]]) }
        }
        return out
    }

    /// A sweep whose fault-free run is done: case `i` (1-based) is one plan (one rule,
    /// or two for pairs).
    public struct Prepared: Sendable, PreparedRuns {
        public var runner: FaultRunner
        public var baseline: RunResult
        /// Sites swept, in catalog order, with their hits in the fault-free run.
        public var coverage: [SiteCoverage]
        /// One plan per case, site by site, hit by hit (errno by errno).
        public var cases: [FaultPlan]
        /// Set when `--max-runs` sampled the case list.
        public var truncated: Bool
        /// Cases before `--max-runs` sampled them.
        public var planned = 0
        /// Why nothing can be swept (exit 8), if so.
        public var vacuity: String?
        /// Set with `--compare-profiles`: every case also runs on upstream and fixed.
        var comparison: ProfileComparison?

        public var total: Int { cases.count }

        public func describe(_ index: Int) -> String { cases[index - 1].description }

        public func run(_ index: Int) throws(LabError) -> FaultRunRecord {
            let plan = cases[index - 1]
            let r = try runner.run(plan)
            var rec = FaultRunRecord(index: index, seed: 0, plan: plan, result: r, reproducer: runner.reproducer(plan, seed: 0))
            if let comparison {
                rec.difference = try comparison.compare(plan, seed: 0, primary: (runner.profileName, r))
            }
            return rec
        }

        public func crashed(_ index: Int, message: String) -> FaultRunRecord {
            let plan = cases[index - 1]
            let f = Failure(kind: .trap, command: 0, commandLine: "", line: 0, message: message)
            return FaultRunRecord(index: index, seed: 0, plan: plan, injected: 0,
                                  failing: FailingRun(plan: plan, seed: 0, failures: [f], reproducer: runner.reproducer(plan, seed: 0)))
        }

        /// The report of the cases in `tally`.
        public func report(_ tally: RunTally) -> SweepReport {
            var r = SweepReport(tally, scenario: runner.target.file ?? DefaultScenario.name, profile: runner.profileName,
                                baselineFailures: baseline.failures, coverage: coverage, truncated: truncated, vacuity: vacuity,
                                compared: comparison != nil)
            r.meta = runner.meta(baseline)
            return r
        }
    }

    /// Runs one shard of the sweep (the whole of it by default) in this process.
    /// - Parameters:
    ///   - progress: called before each run with (done, total, rule), for a terminal
    ///     progress line.
    ///   - each: called with every finished run's record, in run order.
    public func run(shard: Shard = .whole, progress: ((Int, Int, String) -> Void)? = nil,
                    each: ((FaultRunRecord) -> Void)? = nil) throws(LabError) -> SweepReport {
        let p = try prepared(progress: progress)
        return p.report(try p.tally(shard, progress: progress, each: each))
    }
}

extension SweepReport {
    /// The report of the cases in `tally`, whichever processes ran them and in whatever
    /// order (one process, shards, workers, `faults merge`).
    init(_ tally: RunTally, scenario: String, profile: String, baselineFailures: [Failure], coverage: [SiteCoverage],
         truncated: Bool, vacuity: String? = nil, compared: Bool = false) {
        self.init(scenario: scenario, profile: profile, baselineFailures: baselineFailures,
                  rows: coverage.map { c in
                      let s = tally.perSite[c.site] ?? (0, 0, 0)
                      return SweepSiteRow(coverage: c, runs: s.runs, fired: s.fired, failures: s.failures)
                  },
                  runs: tally.runs, truncated: truncated, failing: tally.sortedFailing.compactMap(\.failing),
                  vacuity: vacuity ?? (!baselineFailures.isEmpty ? Vacuity.baselineFails.reason
                                       : tally.runs == 0 ? Vacuity.noRuns.reason : nil),
                  outcomes: OutcomeCounts(tally), cases: tally.sortedFailing)
        self.compared = compared
        differences = compared ? tally.sortedDifferences : []
    }
}
