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

/// The result of a sweep.
public struct SweepReport: Sendable {
    public var origin: ReportOrigin
    public var scenario: String { origin.scenario }
    public var profile: String { origin.profile }
    /// Failures of the fault-free run; when not empty nothing was swept.
    public var baselineFailures: [Failure]
    /// Set when the sweep tested nothing (or nothing it could judge): exit 8.
    public var vacuity: Vacuity?
    public var rows: [SweepSiteRow]
    /// 1 for single faults, 2 for pairs.
    public var depth = 1
    /// How many plans there were before `--max-runs` sampled them.
    public var planned = 0
    public var tally = FaultTally()
    public var runs: Int { tally.runs }
    /// Set when `--max-runs` sampled the plans.
    public var truncated: Bool
    /// The runs that found something, in run order.
    public var failing: [RunRecord]
    /// Profile differences (`--compare-profiles`).
    public var differences: [ProfileDifference] = []
    /// Whether the plans were run on both profiles.
    public var compared = false

    /// 0 clean; 8 vacuous; else the exit status of the worst class found.
    public var exitStatus: Int32 {
        if vacuity != nil { return Vacuity.exitStatus }
        return FailureClass.worst(failing.compactMap(\.outcome))?.exitStatus ?? 0
    }
}

/// The exhaustive single-fault sweep: run the scenario once counting every site hit,
/// then once per (site, hit number) with exactly that hit failing (and, with `errnos`,
/// once per plausible errno of the site), checking the box after every command.
///
/// With `depth` 2 it runs every pair: each single-fault run is run again counting its
/// own hits, and every hit that run reaches after its fault (rollback paths included,
/// which the fault-free run never reaches) becomes the second fault of a pair.
public struct Sweep: Sendable {
    public var runner: FaultRunner
    /// Only these sites (nil: every site the scenario reaches).
    public var sites: [String]?
    /// Also run every plausible errno of a site, not only its default.
    public var allErrnos = false
    /// At most this many runs, sampled evenly across sites (pairs: across first faults).
    public var maxRuns: Int?
    public var depth = 1
    /// Run every plan on both profiles and name the quirk behind each difference.
    public var compareProfiles = false

    public init(runner: FaultRunner, sites: [String]? = nil, allErrnos: Bool = false, maxRuns: Int? = nil,
                depth: Int = 1, compareProfiles: Bool = false) {
        self.runner = runner; self.sites = sites; self.allErrnos = allErrnos; self.maxRuns = maxRuns
        self.depth = depth; self.compareProfiles = compareProfiles
    }

    /// - Parameters:
    ///   - progress: called before each run with (done, total, rule), for a terminal
    ///     progress line.
    ///   - onRecord: called with every run's record as it ends, clean or not.
    public func run(progress: ((Int, Int, String) -> Void)? = nil,
                    onRecord: ((RunRecord) -> Void)? = nil) throws(LabError) -> SweepReport {
        let catalog = SimulatedBox.faultCatalog
        let (runner, base) = try self.runner.prepared()
        var report = SweepReport(origin: ReportOrigin(runner: runner, baseline: base), baselineFailures: base.failures,
                                 rows: [], depth: depth, truncated: false, failing: [])
        guard base.failures.isEmpty else { report.vacuity = .baselineFails; return report }
        var coverage = SiteCoverage.from(base.checkedSites, catalog: catalog)
        if let sites {
            coverage.removeAll { !sites.contains($0.site) }
            if coverage.isEmpty { report.vacuity = .sitesNotReached(sites); return report }
        }
        guard !coverage.isEmpty else { report.vacuity = .noSitesReached; return report }
        var perSite: [[(row: Int, rule: FaultRule)]] = []
        for (i, c) in coverage.enumerated() {
            guard let info = catalog.first(where: { $0.name == c.site }) else { continue }
            let errnos = allErrnos ? SiteErrnos.valid(info) : [info.defaultErrno]
            var jobs: [(row: Int, rule: FaultRule)] = []
            for nth in 1...max(c.hits, 1) where c.hits > 0 {
                for e in errnos { jobs.append((i, FaultRule(site: c.site, nth: nth, errno: e))) }
            }
            perSite.append(jobs)
        }
        report.rows = coverage.map { SweepSiteRow(coverage: $0) }
        var plans: [(row: Int, plan: FaultPlan)]
        if depth >= 2 {
            plans = []
            let singles = perSite.flatMap { $0 }
            for (k, first) in singles.enumerated() {
                progress?(k, singles.count, "finding the pairs of \(first.rule)")
                let faulted = try runner.run(FaultPlan(rules: [first.rule]), countSites: true)
                plans += Self.pairs(after: first.rule, log: faulted.checkedSites).map { (first.row, $0) }
            }
            report.planned = plans.count
            if let maxRuns, plans.count > maxRuns {
                // Evenly spaced over the whole list, so every first fault keeps some pairs.
                plans = (0..<maxRuns).map { plans[$0 * plans.count / maxRuns] }
                report.truncated = true
            }
        } else {
            report.planned = perSite.reduce(0) { $0 + $1.count }
            var chosen = perSite.flatMap { $0 }
            if let maxRuns, chosen.count > maxRuns {
                chosen = Self.sampleEvenly(perSite, maxRuns)
                report.truncated = true
            }
            plans = chosen.map { ($0.row, FaultPlan(rules: [$0.rule])) }
        }
        let other = compareProfiles ? try ProfileComparison(runner: runner) : nil
        report.compared = compareProfiles
        for (k, job) in plans.enumerated() {
            progress?(k, plans.count, job.plan.description)
            let r = try runner.run(job.plan)
            let rec = RunRecord(index: k + 1, seed: 0, plan: job.plan, result: r, reproducer: runner.reproducer(job.plan, seed: 0))
            report.tally.add(rec)
            onRecord?(rec)
            report.rows[job.row].runs += 1
            if r.fired.first ?? 0 > 0 { report.rows[job.row].fired += 1 }
            if rec.outcome != nil {
                report.rows[job.row].failures += 1
                report.failing.append(rec)
            }
            if let other, let d = try other.compare(job.plan, seed: 0, primary: r) { report.differences.append(d) }
        }
        progress?(plans.count, plans.count, "")
        if report.tally.runs == 0 { report.vacuity = .noRuns }
        return report
    }

    /// The second faults of pairs whose first is `first`: every (site, hit number) the
    /// run faulted by `first` reaches after that fault, each once.
    static func pairs(after first: FaultRule, log: [FaultSite]) -> [FaultPlan] {
        var counts: [String: Int] = [:]
        var out: [FaultPlan] = []
        var injectedAt: Int? = nil
        for (i, s) in log.enumerated() {
            counts[s.name, default: 0] += 1
            if injectedAt == nil {
                if s.name == first.site && counts[s.name] == first.nth { injectedAt = i }
                continue
            }
            let second = FaultRule(site: s.name, nth: counts[s.name] ?? 1,
                                   errno: SimulatedBox.faultCatalog.first { $0.name == s.name }?.defaultErrno ?? .noMemory)
            out.append(FaultPlan(rules: [first, second]))
        }
        return out
    }

    /// At most `n` jobs, taken round-robin across sites (each site's hits spread evenly),
    /// returned in sweep order.
    static func sampleEvenly(_ perSite: [[(row: Int, rule: FaultRule)]], _ n: Int) -> [(row: Int, rule: FaultRule)] {
        var quota = Array(repeating: 0, count: perSite.count)
        var left = n
        while left > 0 {
            var gave = false
            for i in perSite.indices where quota[i] < perSite[i].count && left > 0 {
                quota[i] += 1; left -= 1; gave = true
            }
            if !gave { break }
        }
        var out: [(row: Int, rule: FaultRule)] = []
        for (i, jobs) in perSite.enumerated() where quota[i] > 0 {
            for k in 0..<quota[i] { out.append(jobs[k * jobs.count / quota[i]]) }
        }
        return out
    }
}
