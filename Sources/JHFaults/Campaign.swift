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
        public var exitStatus: Int32 {
            let all = baselineFailures + records.compactMap(\.failing).flatMap(\.failures)
            return all.map(\.kind).max { $0.severity < $1.severity }?.exitStatus ?? 0
        }
    }

    /// This campaign after its fault-free run: ready to run any of its runs by number.
    public func prepared() throws(LabError) -> Prepared {
        let (runner, base) = try self.runner.prepared()
        return Prepared(campaign: self, runner: runner, baseline: base)
    }

    /// A campaign whose fault-free run is done; run `i` is a function of the campaign
    /// seed and `i` alone, so shards, workers and resumed processes can run any subset.
    public struct Prepared: Sendable, PreparedRuns {
        public var campaign: Campaign
        public var runner: FaultRunner
        public var baseline: RunResult

        /// Runs to do: none when the fault-free run fails or reaches no site.
        public var total: Int { baseline.failures.isEmpty && !baseline.checkedSites.isEmpty ? max(campaign.runs, 0) : 0 }

        /// Run `index`'s seed and plan.
        public func plan(_ index: Int) -> (seed: UInt64, plan: FaultPlan) {
            let seed = Campaign.runSeed(campaign.seed, index: index)
            return (seed, Campaign.draw(seed: seed, log: baseline.checkedSites, catalog: SimulatedBox.faultCatalog,
                                        maxRules: campaign.rulesPerRun))
        }

        public func describe(_ index: Int) -> String { plan(index).plan.description }

        public func run(_ index: Int) throws(LabError) -> RunRecord {
            let (runSeed, plan) = self.plan(index)
            let r = try runner.run(plan, seed: runSeed)
            var sites: [String] = []
            for (k, n) in r.fired.enumerated() where n > 0 && !sites.contains(plan.rules[k].site) { sites.append(plan.rules[k].site) }
            var rec = RunRecord(index: index, seed: runSeed, plan: plan, injected: r.fired.reduce(0, +), sites: sites)
            if let worst = r.worst {
                rec.failing = FailingRun(plan: plan, seed: runSeed, failures: r.failures,
                                         reproducer: runner.reproducer(plan, seed: runSeed))
                if campaign.shrink, let s = try Shrinker(runner: runner).shrink(plan, seed: runSeed, kind: worst) {
                    rec.minimal = FailingRun(plan: s.plan, seed: runSeed, failures: s.failures,
                                             reproducer: runner.reproducer(s.plan, seed: runSeed))
                    rec.shrinkRuns = s.runs
                }
            }
            return rec
        }

        public func crashed(_ index: Int, message: String) -> RunRecord {
            let (runSeed, plan) = self.plan(index)
            let f = Failure(kind: .trap, command: 0, commandLine: "", line: 0, message: message)
            return RunRecord(index: index, seed: runSeed, plan: plan, injected: 0,
                             failing: FailingRun(plan: plan, seed: runSeed, failures: [f],
                                                 reproducer: runner.reproducer(plan, seed: runSeed)))
        }

        /// The report of the runs in `tally`.
        public func report(_ tally: RunTally) -> Report {
            Report(tally, seed: campaign.seed, scenario: runner.target.file ?? DefaultScenario.name,
                   profile: runner.profileName, baselineFailures: baseline.failures)
        }
    }

    /// Runs one shard of the campaign (the whole of it by default) in this process.
    /// - Parameter each: called with every finished run, in run order.
    public func run(shard: Shard = .whole, progress: ((Int, Int, String) -> Void)? = nil,
                    each: ((RunRecord) -> Void)? = nil) throws(LabError) -> Report {
        let p = try prepared()
        var tally = RunTally()
        let mine = Array(shard.runs(of: p.total))
        for (k, i) in mine.enumerated() {
            progress?(k, mine.count, p.describe(i))
            let rec = try p.run(i)
            each?(rec)
            tally.add(rec)
        }
        if !mine.isEmpty { progress?(mine.count, mine.count, "") }
        return p.report(tally)
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

extension Campaign.Report {
    /// The report of the runs in `tally`, whichever processes ran them and in whatever
    /// order (one process, shards, workers, `faults merge`).
    init(_ tally: RunTally, seed: UInt64, scenario: String, profile: String, baselineFailures: [Failure]) {
        self.init(seed: seed, scenario: scenario, profile: profile, baselineFailures: baselineFailures,
                  runsDone: tally.runs, injected: tally.injected, records: tally.sortedFailing,
                  sitesInjected: SimulatedBox.faultCatalog.map(\.name).filter(tally.sites.contains))
    }
}
