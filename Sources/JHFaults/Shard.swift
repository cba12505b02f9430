import JHDriver
import JHLab
import JHMachine

/// Which runs of a campaign or sweep one process does: `--shard K/N`.
///
/// Runs are numbered from 1, as reports print them; run `i` belongs to shard
/// `(i - 1) mod N`, so shard K does runs K+1, K+1+N, K+1+2N, … (round robin, not
/// contiguous blocks). Round robin because the cost of a run varies along the index —
/// a sweep's cases are grouped by site, so a contiguous block could hand one shard every
/// hotplug case and another only cheap allocator cases — and because a shard can list
/// its runs knowing only K, N and the total. Shards are numbered from 0, as Slurm's
/// `SLURM_ARRAY_TASK_ID` and GNU parallel's `{%}`-1 are.
public struct Shard: Sendable, Hashable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    /// The whole campaign: one shard.
    public static let whole = Shard(uncheckedIndex: 0, count: 1)

    init(uncheckedIndex index: Int, count: Int) { self.index = index; self.count = count }

    /// - Throws: a message naming what is wrong with `K/N`.
    public init(index: Int, count: Int) throws(LabError) {
        guard count >= 1 else { throw LabError("--shard K/N needs N ≥ 1 shards, not \(index)/\(count)") }
        guard index >= 0, index < count else {
            throw LabError("--shard K/N needs 0 ≤ K < N (shards are numbered from 0), not \(index)/\(count)")
        }
        self.index = index; self.count = count
    }

    /// Parses `K/N`.
    public init(parsing text: String) throws(LabError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]) else {
            throw LabError("--shard takes K/N (shard K of N, K from 0), not '\(text)'")
        }
        try self.init(index: k, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// Whether run `run` (1-based) is this shard's.
    public func contains(_ run: Int) -> Bool { (run - 1) % count == index }

    /// This shard's runs among `1...total`, in order.
    public func runs(of total: Int) -> StrideTo<Int> { stride(from: index + 1, to: total + 1, by: count) }

    /// Sub-shard `j` of `jobs`: this shard's runs dealt round robin to `jobs` workers
    /// (`--shard K/N --jobs J`, one Slurm task using J cores). Together the J sub-shards
    /// are exactly this shard.
    public func part(_ j: Int, of jobs: Int) -> Shard {
        Shard(uncheckedIndex: index + count * j, count: count * jobs)
    }
}

extension Campaign {
    /// The seed of run `index` (1-based), from the campaign seed and the index alone: the
    /// `index`-th output of `SplitMix64(seed: seed)`, computed directly (SplitMix64's
    /// state after k draws is `seed + k·γ`). So any shard, worker or resumed process
    /// derives the same run without drawing the runs before it.
    public static func runSeed(_ seed: UInt64, index: Int) -> UInt64 {
        var g = SplitMix64(seed: seed &+ UInt64(index - 1) &* 0x9E37_79B9_7F4A_7C15)
        return g.next()
    }
}

/// One finished run of a campaign or sweep: the one record type that the in-process
/// loop, the `.jsonl` stream, `--resume`, `--jobs` workers and `faults merge` share.
public struct FaultRunRecord: Sendable {
    /// 1-based run number (a sweep numbers its (site, hit[, errno]) cases the same way).
    public var index: Int
    public var seed: UInt64
    public var plan: FaultPlan
    /// How many hits the plan failed.
    public var injected: Int
    /// Sites at which some rule fired, in the plan's rule order.
    public var sites: [String]
    public var failing: FailingRun?
    /// The shrunk reproducer of a failing run.
    public var minimal: FailingRun?
    public var shrinkRuns = 0
    /// `sweep --compare-profiles`: how the plan's run differs between upstream and fixed,
    /// with the quirk behind it (nil: the profiles agree, or no comparison was asked for).
    public var difference: ProfileDifference?
    /// `campaign --workload random`: the failing run's workload as a scenario file (with
    /// its fault-free outcomes as `expect` lines), which its reproducer replays.
    public var workload: String?

    public init(index: Int, seed: UInt64, plan: FaultPlan, injected: Int, sites: [String] = [],
                failing: FailingRun? = nil, minimal: FailingRun? = nil, shrinkRuns: Int = 0) {
        self.index = index; self.seed = seed; self.plan = plan; self.injected = injected; self.sites = sites
        self.failing = failing; self.minimal = minimal; self.shrinkRuns = shrinkRuns
    }
}

/// The aggregate of many run records: counters and the failing runs only, so memory stays
/// flat in the number of runs. Records may arrive in any order (from shards, workers, a
/// resumed file); the reports built from a tally list failing runs by run number, so the
/// same set of records always gives the same report.
public struct RunTally: Sendable {
    public private(set) var runs = 0
    public private(set) var injected = 0
    /// Distinct sites some run injected a fault into.
    public private(set) var sites = Set<String>()
    /// Failing runs, in arrival order (`sortedFailing` orders them).
    public private(set) var failing: [FaultRunRecord] = []
    /// Runs whose plan behaves differently on the two profiles (`--compare-profiles`),
    /// in arrival order.
    public private(set) var differing: [FaultRunRecord] = []
    /// Per site of a sweep's single rule: runs, runs whose rule fired, failing runs.
    private(set) var perSite: [String: (runs: Int, fired: Int, failures: Int)] = [:]

    public init() {}

    public mutating func add(_ r: FaultRunRecord) {
        runs += 1
        injected += r.injected
        sites.formUnion(r.sites)
        if r.failing != nil { failing.append(r) }
        if r.difference != nil { differing.append(r) }
        if r.plan.rules.count == 1 {
            var s = perSite[r.plan.rules[0].site] ?? (0, 0, 0)
            s.runs += 1
            if r.injected > 0 { s.fired += 1 }
            if r.failing != nil { s.failures += 1 }
            perSite[r.plan.rules[0].site] = s
        }
    }

    public var sortedFailing: [FaultRunRecord] { failing.sorted { $0.index < $1.index } }
    /// The differences between the profiles, by run number.
    public var sortedDifferences: [ProfileDifference] {
        differing.sorted { $0.index < $1.index }.compactMap(\.difference)
    }
}

/// A sweep or campaign after its fault-free run, whose runs can be done one at a time by
/// number, in any process and any order.
public protocol PreparedRuns: Sendable {
    /// Runs numbered 1...total.
    var total: Int { get }
    func run(_ index: Int) throws(LabError) -> FaultRunRecord
    /// The plan of run `index`, for a progress line.
    func describe(_ index: Int) -> String
    /// The record of run `index` when the process running it died (`--jobs`): class
    /// `trap` with `message`, not shrunk.
    func crashed(_ index: Int, message: String) -> FaultRunRecord
}

extension PreparedRuns {
    /// Runs one shard's runs in this process, in run order, and tallies them: the loop
    /// that `Campaign.run` and `Sweep.run` share.
    /// - Parameters:
    ///   - progress: called before each run with (done, total, plan), and once at the end.
    ///   - each: called with every finished run's record.
    func tally(_ shard: Shard, progress: ((Int, Int, String) -> Void)?,
               each: ((FaultRunRecord) -> Void)?) throws(LabError) -> RunTally {
        var tally = RunTally()
        let mine = Array(shard.runs(of: total))
        for (k, i) in mine.enumerated() {
            progress?(k, mine.count, describe(i))
            let rec = try run(i)
            each?(rec)
            tally.add(rec)
        }
        if !mine.isEmpty { progress?(mine.count, mine.count, "") }
        return tally
    }
}
