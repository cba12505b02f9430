import JHABI
import JHDriver
import JHLab
import JHMachine

/// A seeded random campaign: each run draws a multi-fault plan from the seed (sites
/// weighted by how often the scenario hits them, a random hit, a plausible errno),
/// runs the scenario under it and checks the box; failing plans are shrunk.
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

    public init(runner: FaultRunner, seed: UInt64, runs: Int, rulesPerRun: Int = 3, shrink: Bool = true) {
        self.runner = runner; self.seed = seed; self.runs = runs; self.rulesPerRun = rulesPerRun; self.shrink = shrink
    }

    public struct RunRecord: Sendable {
        public var index: Int
        public var seed: UInt64
        public var plan: FaultPlan
        public var injected: Int
        public var failing: FailingRun?
        /// The shrunk reproducer of a failing run.
        public var minimal: FailingRun?
        public var shrinkRuns = 0
    }

    public struct Report: Sendable {
        public var seed: UInt64
        public var scenario: String
        public var profile: String
        public var baselineFailures: [Failure]
        public var records: [RunRecord]
        /// Distinct sites some run injected a fault into, in catalog order.
        public var sitesInjected: [String]
        public var exitStatus: Int32 {
            let all = baselineFailures + records.compactMap(\.failing).flatMap(\.failures)
            return all.map(\.kind).max { $0.severity < $1.severity }?.exitStatus ?? 0
        }
    }

    public func run(progress: ((Int, Int, String) -> Void)? = nil) throws(LabError) -> Report {
        let (runner, base) = try self.runner.prepared()
        var report = Report(seed: seed, scenario: runner.target.file ?? DefaultScenario.name, profile: runner.profileName,
                            baselineFailures: base.failures, records: [], sitesInjected: [])
        guard base.failures.isEmpty, !base.checkedSites.isEmpty else { return report }
        let catalog = SimulatedBox.faultCatalog
        var master = SplitMix64(seed: seed)
        var injectedSites = Set<String>()
        for i in 1...max(runs, 1) where runs > 0 {
            let runSeed = master.next()
            let plan = Self.draw(seed: runSeed, log: base.checkedSites, catalog: catalog, maxRules: rulesPerRun)
            progress?(i - 1, runs, plan.description)
            let r = try runner.run(plan, seed: runSeed)
            for (k, n) in r.fired.enumerated() where n > 0 { injectedSites.insert(plan.rules[k].site) }
            var rec = RunRecord(index: i, seed: runSeed, plan: plan, injected: r.fired.reduce(0, +))
            if let worst = r.worst {
                rec.failing = FailingRun(plan: plan, seed: runSeed, failures: r.failures,
                                         reproducer: runner.reproducer(plan, seed: runSeed))
                if shrink, let s = try Shrinker(runner: runner).shrink(plan, seed: runSeed, kind: worst) {
                    rec.minimal = FailingRun(plan: s.plan, seed: runSeed, failures: s.failures,
                                             reproducer: runner.reproducer(s.plan, seed: runSeed))
                    rec.shrinkRuns = s.runs
                }
            }
            report.records.append(rec)
        }
        progress?(runs, runs, "")
        report.sitesInjected = catalog.map(\.name).filter(injectedSites.contains)
        return report
    }

    /// Draws one plan from `seed`: 1…maxRules rules, each aimed at a hit picked uniformly
    /// from the fault-free run's hit log (so sites are weighted by how often they are
    /// hit). Most rules fail "the Nth hit of the site"; some aim at one CPU/detail; some
    /// fail each hit with a probability.
    static func draw(seed: UInt64, log: [FaultSite], catalog: [FaultSiteInfo], maxRules: Int) -> FaultPlan {
        var rng = SplitMix64(seed: seed)
        func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(max(n, 1))) }
        let count = 1 + pick(max(maxRules, 1))
        var rules: [FaultRule] = []
        for _ in 0..<count {
            let h = pick(log.count)
            let hit = log[h]
            guard let info = catalog.first(where: { $0.name == hit.name }) else { continue }
            let errnos = SiteErrnos.valid(info)
            let errno = errnos[pick(errnos.count)]
            var rule: FaultRule
            let style = pick(8)
            // Details with ':' or blanks cannot be spelled in a rule; aim at the name then.
            let spellable = hit.detail.map { d in !d.isEmpty && !d.contains(where: { $0 == ":" || $0 == " " || $0 == "\t" || $0 == "#" || $0 == "'" }) } ?? true
            if style < 5 || !spellable {
                let nth = log[...h].filter { $0.name == hit.name }.count
                rule = FaultRule(site: hit.name, nth: nth, errno: errno)
            } else if style < 7 {
                let cpu = info.perCPU ? hit.cpu : nil
                let same = log[...h].filter { $0.name == hit.name && (cpu == nil || $0.cpu == cpu) && (hit.detail == nil || $0.detail == hit.detail) }
                rule = FaultRule(site: hit.name, cpu: cpu, detail: hit.detail, nth: same.count, errno: errno)
            } else {
                let probs: [Double] = [0.05, 0.1, 0.25, 0.5]
                rule = FaultRule(site: hit.name, errno: errno, prob: probs[pick(probs.count)], count: 1 + pick(3))
            }
            if !rules.contains(rule) { rules.append(rule) }
        }
        return FaultPlan(rules: rules)
    }
}
