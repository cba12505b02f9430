import JHABI
import JHDriver
import JHLab
import JHMachine

/// A seeded random campaign in the style of swarm testing: each run picks a random
/// subset of the known fault sites, draws a multi-fault plan over them (a site uniformly
/// — not weighted by how often it is hit —, then one of its hits, a plausible errno),
/// runs the scenario under it and checks the box; failing plans are shrunk, keeping
/// their failure's signature.
///
/// The known sites are those the fault-free run reaches plus those reached only under
/// faults (rollback paths): before the first run, the first hit of every known site is
/// failed once, counting what that run reaches, until no new site turns up. That
/// discovery is part of `prepared()`, so run `i` stays a function of the seed and `i`.
///
/// Same seed, same scenario, same settings ⇒ the same report, byte for byte: every
/// choice comes from `SplitMix64` streams forked from the seed, never from the clock.
public struct Campaign: Sendable {
    public var runner: FaultRunner
    public var seed: UInt64
    public var runs: Int
    /// Each run draws 1…rulesPerRun rules.
    public var rulesPerRun: Int
    public var shrink = true
    /// Only these sites (nil: every known site).
    public var sites: [String]?
    /// Where each run's commands come from.
    public var workload: Workload = .scenario
    /// Each run also mutates the configs the scenario passes (`--mutate-configs`), from
    /// its own seed (ConfigMutation.swift).
    public var mutateConfigs: Bool

    /// `.scenario`: every run replays the campaign's scenario; `.random`: every run draws
    /// its own command sequence from its seed (`RandomWorkload`).
    public enum Workload: String, Sendable { case scenario, random }

    public init(runner: FaultRunner, seed: UInt64, runs: Int, rulesPerRun: Int = 3, shrink: Bool = true,
                sites: [String]? = nil, mutateConfigs: Bool = false) {
        self.runner = runner; self.seed = seed; self.runs = runs; self.rulesPerRun = rulesPerRun; self.shrink = shrink
        self.sites = sites; self.mutateConfigs = mutateConfigs
    }

    public typealias RunRecord = FaultRunRecord

    /// What a campaign (or one shard of it) found: counters and the failing runs only, so
    /// memory stays flat in the number of runs.
    public struct Report: Sendable {
        public var seed: UInt64
        public var scenario: String
        public var profile: String
        public var baselineFailures: [Failure]
        /// Runs done (all of them, or one shard's).
        public var runsDone: Int
        public var injected: Int
        /// The failing runs, by run number; clean runs are only counted.
        public var records: [RunRecord]
        /// Distinct sites some run injected a fault into, in catalog order.
        public var sitesInjected: [String]
        /// Set when the campaign tested nothing (or nothing it could judge): exit 8.
        public var vacuity: String? = nil
        public var outcomes = OutcomeCounts()
        /// Known sites the fault-free run never reaches (found under faults).
        public var discovered: [String] = []
        public var meta = ReportMeta()

        public var exitStatus: Int32 {
            if vacuity != nil { return Vacuity.exitStatus }
            return FailureClass.worst(records.compactMap(\.failing).flatMap(\.failures).map(\.kind))?.exitStatus ?? 0
        }
    }

    /// This campaign after its fault-free run: ready to run any of its runs by number.
    public func prepared() throws(LabError) -> Prepared {
        if workload == .random {
            // Each run has its own workload and so its own fault-free run; nothing to share.
            let none = RunResult(plan: FaultPlan(), seed: 0, failures: [], fired: [], checkedSites: [], commands: 0, hangs: [],
                                 transcript: [], traceHash: "")
            return Prepared(campaign: self, runner: runner, baseline: none, known: KnownHits(sites: sites))
        }
        let (runner, base) = try self.runner.prepared()
        var p = Prepared(campaign: self, runner: runner, baseline: base, known: KnownHits(sites: sites))
        guard base.failures.isEmpty else { p.vacuity = Vacuity.baselineFails.reason; return p }
        p.known.merge(base.checkedSites)
        // Discovery: fail the first hit of each known site once; what those runs reach
        // joins, until a round finds nothing new.
        var tried = Set<String>()
        while let site = p.known.order.first(where: { !tried.contains($0) }) {
            tried.insert(site)
            let r = try runner.run(FaultPlan(rules: [FaultRule(site: site, nth: 1, errno: .noMemory)]), countSites: true)
            p.known.merge(r.checkedSites)
        }
        let reached = Set(base.checkedSites.map(\.name))
        p.discovered = SimulatedBox.faultCatalog.map(\.name).filter { p.known.hits[$0] != nil && !reached.contains($0) }
        if mutateConfigs && base.configs.isEmpty {
            p.vacuity = "--mutate-configs: the scenario passes no config (no enable or cell create)"
        } else if p.known.order.isEmpty {
            p.vacuity = (sites.map { Vacuity.sitesNotReached($0) } ?? .noSitesReached).reason
        } else {
            p.redraws = DistinctPlans.redraws(seed: seed, runs: max(runs, 0), known: p.known, maxRules: rulesPerRun)
        }
        return p
    }

    /// A campaign whose fault-free run is done; run `i` is a function of the campaign
    /// seed and `i` alone, so shards, workers and resumed processes can run any subset.
    public struct Prepared: Sendable, PreparedRuns {
        public var campaign: Campaign
        public var runner: FaultRunner
        public var baseline: RunResult
        /// The sites and hits plans are drawn from.
        var known: KnownHits
        /// Why nothing can be run (exit 8), if so.
        public var vacuity: String? = nil
        public var discovered: [String] = []
        /// Per run (index − 1), how many redraws its plan needed to differ from the plans
        /// of all lower runs (`DistinctPlans`).
        var redraws: [UInt8] = []

        /// Runs to do: none when the campaign is vacuous.
        public var total: Int { vacuity == nil ? max(campaign.runs, 0) : 0 }

        /// Run `index`'s seed and plan.
        public func plan(_ index: Int) -> (seed: UInt64, plan: FaultPlan) {
            let seed = Campaign.runSeed(campaign.seed, index: index)
            let k = index >= 1 && index <= redraws.count ? Int(redraws[index - 1]) : 0
            var plan = Campaign.draw(seed: DistinctPlans.drawSeed(seed, redraw: k), known: known,
                                     catalog: SimulatedBox.faultCatalog, maxRules: campaign.rulesPerRun)
            if campaign.mutateConfigs { plan.patches = ConfigMutation.draw(seed: seed, inputs: baseline.configs) }
            return (seed, plan)
        }

        public func describe(_ index: Int) -> String {
            campaign.workload == .random ? "random workload \(index)" : plan(index).plan.description
        }

        public func run(_ index: Int) throws(LabError) -> RunRecord {
            if campaign.workload == .random { return try randomRun(index) }
            let (runSeed, plan) = self.plan(index)
            let r = try runner.run(plan, seed: runSeed)
            var sites: [String] = []
            for (k, n) in r.fired.enumerated() where n > 0 && !sites.contains(plan.rules[k].site) { sites.append(plan.rules[k].site) }
            var rec = RunRecord(index: index, seed: runSeed, plan: plan, injected: r.fired.reduce(0, +), sites: sites)
            if r.worst != nil {
                rec.failing = FailingRun(plan: plan, seed: runSeed, failures: r.failures,
                                         reproducer: runner.reproducer(plan, seed: runSeed))
                if campaign.shrink, let s = try Shrinker(runner: runner).shrink(plan, seed: runSeed, like: r) {
                    rec.minimal = FailingRun(plan: s.plan, seed: runSeed, failures: s.failures,
                                             reproducer: runner.reproducer(s.plan, seed: runSeed))
                    rec.shrinkRuns = s.runs
                }
            }
            return rec
        }

        public func crashed(_ index: Int, message: String) -> RunRecord {
            let (runSeed, plan) = campaign.workload == .random ? (Campaign.runSeed(campaign.seed, index: index), FaultPlan()) : self.plan(index)
            let f = Failure(kind: .trap, command: 0, commandLine: "", line: 0, message: message)
            return RunRecord(index: index, seed: runSeed, plan: plan, injected: 0,
                             failing: FailingRun(plan: plan, seed: runSeed, failures: [f],
                                                 reproducer: runner.reproducer(plan, seed: runSeed)))
        }

        /// The report of the runs in `tally`.
        public func report(_ tally: RunTally) -> Report {
            let scenario = campaign.workload == .random ? RandomWorkload.name : runner.target.file ?? DefaultScenario.name
            var r = Report(tally, seed: campaign.seed, scenario: scenario,
                           profile: runner.profileName, baselineFailures: baseline.failures)
            r.vacuity = vacuity ?? r.vacuity
            r.discovered = discovered
            r.meta = runner.meta(baseline)
            return r
        }
    }

    /// Runs one shard of the campaign (the whole of it by default) in this process.
    /// - Parameter each: called with every finished run, in run order.
    public func run(shard: Shard = .whole, progress: ((Int, Int, String) -> Void)? = nil,
                    each: ((RunRecord) -> Void)? = nil) throws(LabError) -> Report {
        let p = try prepared()
        return p.report(try p.tally(shard, progress: progress, each: each))
    }

    /// Draws one plan from `seed`, swarm style: a random non-empty subset of the known
    /// sites, then 1…maxRules rules, each at a site drawn uniformly from the subset and a
    /// hit drawn uniformly from the site's known hits. Most rules fail "the Nth hit of
    /// the site"; some aim at one CPU/detail; some fail each hit with a probability.
    static func draw(seed: UInt64, known: KnownHits, catalog: [FaultSiteInfo], maxRules: Int) -> FaultPlan {
        var rng = SplitMix64(seed: seed)
        func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(max(n, 1))) }
        var subset = known.order.filter { _ in rng.next() & 1 == 1 }
        if subset.isEmpty { subset = [known.order[pick(known.order.count)]] }
        let count = 1 + pick(max(maxRules, 1))
        var rules: [FaultRule] = []
        for _ in 0..<count {
            let site = subset[pick(subset.count)]
            guard let info = catalog.first(where: { $0.name == site }) else { continue }
            let errnos = SiteErrnos.valid(info)
            let errno = errnos[pick(errnos.count)]
            var rule: FaultRule
            let style = pick(8)
            let variants = known.variants[site] ?? []
            if style < 5 || variants.isEmpty {
                rule = FaultRule(site: site, nth: 1 + pick(known.hits[site] ?? 1), errno: errno)
            } else if style < 7 {
                let v = variants[pick(variants.count)]
                rule = FaultRule(site: site, cpu: info.perCPU ? v.cpu : nil, detail: v.detail, nth: 1 + pick(v.hits), errno: errno)
            } else {
                let probs: [Double] = [0.05, 0.1, 0.25, 0.5]
                rule = FaultRule(site: site, errno: errno, prob: probs[pick(probs.count)], count: 1 + pick(3))
            }
            if !rules.contains(rule) { rules.append(rule) }
        }
        return FaultPlan(rules: rules)
    }
}

extension FaultPlan {
    /// The plan as a set of rule texts: two plans with the same rules are the same plan.
    var key: [String] { rules.map(\.description).sorted() + patches.map(\.description) }
}

/// The fault-site hits known so far: per site, the most hits any run made, and per CPU
/// and detail the same. Sites keep first-seen order (no dictionary order leaks into draws).
struct KnownHits {
    struct Variant: Hashable {
        var cpu: CPUID?
        var detail: String?
        var hits: Int
    }
    var only: Set<String>?
    var order: [String] = []
    var hits: [String: Int] = [:]
    var variants: [String: [Variant]] = [:]

    init(sites: [String]?) { only = sites.map(Set.init) }

    mutating func merge(_ log: [FaultSite]) {
        var perSite: [String: Int] = [:]
        var perVariant: [FaultSite: Int] = [:]
        var variantOrder: [FaultSite] = []
        for s in log where only?.contains(s.name) ?? true {
            perSite[s.name, default: 0] += 1
            // Details with ':' or blanks cannot be spelled in a rule; such hits are aimed at by name only.
            guard let d = s.detail, !d.isEmpty, !d.contains(where: { $0 == ":" || $0 == " " || $0 == "\t" || $0 == "#" || $0 == "'" }) else { continue }
            let key = FaultSite(s.name, cpu: s.cpu, detail: d)
            if perVariant[key] == nil { variantOrder.append(key) }
            perVariant[key, default: 0] += 1
        }
        for s in log where only?.contains(s.name) ?? true {
            if hits[s.name] == nil { order.append(s.name); hits[s.name] = 0 }
            hits[s.name] = max(hits[s.name] ?? 0, perSite[s.name] ?? 0)
        }
        for key in variantOrder {
            let n = perVariant[key] ?? 0
            var list = variants[key.name] ?? []
            if let i = list.firstIndex(where: { $0.cpu == key.cpu && $0.detail == key.detail }) {
                list[i].hits = max(list[i].hits, n)
            } else {
                list.append(Variant(cpu: key.cpu, detail: key.detail, hits: n))
            }
            variants[key.name] = list
        }
    }
}

extension Campaign.Report {
    /// The report of the runs in `tally`, whichever processes ran them and in whatever
    /// order (one process, shards, workers, `faults merge`).
    init(_ tally: RunTally, seed: UInt64, scenario: String, profile: String, baselineFailures: [Failure]) {
        self.init(seed: seed, scenario: scenario, profile: profile, baselineFailures: baselineFailures,
                  runsDone: tally.runs, injected: tally.injected, records: tally.sortedFailing,
                  sitesInjected: SimulatedBox.faultCatalog.map(\.name).filter(tally.sites.contains),
                  vacuity: !baselineFailures.isEmpty ? Vacuity.baselineFails.reason : tally.runs == 0 ? Vacuity.noRuns.reason : nil,
                  outcomes: OutcomeCounts(tally))
    }
}
