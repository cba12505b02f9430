import JHABI
import JHDriver
import JHLab
import JHMachine

/// A seeded random campaign in the style of swarm testing: each run picks a random subset
/// of the fault sites known so far, draws a multi-fault plan over them (sites uniformly,
/// then a hit of the site uniformly, a plausible errno), runs the scenario under it and
/// checks the box; failing plans are shrunk.
///
/// Sites reached only under faults (rollback paths) are discovered as it goes: every hit
/// a faulted run reaches becomes a candidate for later runs. No plan runs twice.
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
    /// Only these sites (nil: all the scenario reaches, with or without faults).
    public var sites: [String]?

    public init(runner: FaultRunner, seed: UInt64, runs: Int, rulesPerRun: Int = 3, shrink: Bool = true,
                sites: [String]? = nil) {
        self.runner = runner; self.seed = seed; self.runs = runs; self.rulesPerRun = rulesPerRun; self.shrink = shrink
        self.sites = sites
    }

    public struct Report: Sendable {
        public var seed: UInt64
        public var origin: ReportOrigin
        public var scenario: String { origin.scenario }
        public var profile: String { origin.profile }
        public var baselineFailures: [Failure]
        public var vacuity: Vacuity?
        public var tally = FaultTally()
        /// The runs that found something, in run order, with their shrunk plans.
        public var failing: [RunRecord] = []
        /// Distinct sites some run injected a fault into, in catalog order.
        public var sitesInjected: [String] = []
        /// Sites the fault-free run never reaches that faulted runs did (in catalog order).
        public var discovered: [String] = []
        /// Set when no new plan could be drawn before `runs` runs were made.
        public var exhausted = false

        public var exitStatus: Int32 {
            if vacuity != nil { return Vacuity.exitStatus }
            return FailureClass.worst(failing.compactMap(\.outcome))?.exitStatus ?? 0
        }
    }

    /// - Parameters:
    ///   - progress: called before each run with (done, total, plan), for a terminal line.
    ///   - onRecord: called with every run's record as it ends, clean or not (for a
    ///     streaming writer; the report itself keeps only the failing ones).
    public func run(progress: ((Int, Int, String) -> Void)? = nil,
                    onRecord: ((RunRecord) -> Void)? = nil) throws(LabError) -> Report {
        let (runner, base) = try self.runner.prepared()
        var report = Report(seed: seed, origin: ReportOrigin(runner: runner, baseline: base), baselineFailures: base.failures)
        guard base.failures.isEmpty else { report.vacuity = .baselineFails; return report }
        let catalog = SimulatedBox.faultCatalog
        var known = KnownHits(sites: sites)
        known.merge(base.checkedSites)
        let baseSites = Set(base.checkedSites.map(\.name))
        guard !known.order.isEmpty else {
            report.vacuity = sites.map { .sitesNotReached($0) } ?? .noSitesReached
            return report
        }
        var master = SplitMix64(seed: seed)
        var injectedSites = Set<String>()
        var seen = Set<[String]>()
        var counting = runner
        counting.isolatedExecutable = nil
        for i in 1...max(runs, 1) where runs > 0 {
            var runSeed = master.next()
            var plan = Self.draw(seed: runSeed, known: known, catalog: catalog, maxRules: rulesPerRun)
            var tries = 0
            // No plan twice: redraw (from the next seed) until the plan is new.
            while seen.contains(plan.key) && tries < 64 {
                runSeed = master.next()
                plan = Self.draw(seed: runSeed, known: known, catalog: catalog, maxRules: rulesPerRun)
                tries += 1
            }
            if seen.contains(plan.key) { report.exhausted = true; break }
            seen.insert(plan.key)
            progress?(i - 1, runs, plan.description)
            // Count the run's hits (discovery) in-process; isolate only to catch traps.
            let r = try runner.isolatedExecutable == nil ? runner.run(plan, seed: runSeed, countSites: true)
                : runner.run(plan, seed: runSeed)
            known.merge(r.checkedSites)
            for (k, n) in r.fired.enumerated() where n > 0 { injectedSites.insert(plan.rules[k].site) }
            var rec = RunRecord(index: i, seed: runSeed, plan: plan, result: r, reproducer: runner.reproducer(plan, seed: runSeed))
            if rec.outcome != nil {
                if shrink, let s = try Shrinker(runner: runner).shrink(plan, seed: runSeed, like: r) {
                    rec.minimal = ShrunkPlan(plan: s.plan, failures: s.failures,
                                             reproducer: runner.reproducer(s.plan, seed: runSeed), runs: s.runs)
                }
                report.failing.append(rec)
            }
            report.tally.add(rec)
            onRecord?(rec)
        }
        progress?(runs, runs, "")
        report.sitesInjected = catalog.map(\.name).filter(injectedSites.contains)
        report.discovered = catalog.map(\.name).filter { known.hits[$0] != nil && !baseSites.contains($0) }
        if report.tally.runs == 0 { report.vacuity = .noRuns }
        return report
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
    var key: [String] { rules.map(\.description).sorted() }
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
