import JHDriver
import JHLab
import JHMachine

/// No two runs of a campaign inject the same plan while the plan space allows (issue 10,
/// item 11): 100k independent swarm draws held only 68,094 distinct plans, because the
/// one-rule plans are few and drawn often.
///
/// Run `i` draws from its own seed, as before; when that plan equals the plan of a lower
/// run, it redraws from a stream derived from its seed (redraw k uses `drawSeed(seed, k)`)
/// until the plan is new. Which redraw each run ends on depends on the lower runs, so it
/// is computed once per process, before the first run, for all runs of the campaign: a
/// pass of plan draws only (no machine runs; about a second per 100k runs in a debug
/// build), keeping one byte per run. Every shard, worker and resumed process computes
/// the same bytes, so run `i` is still a function of the campaign seed, the settings and
/// `i`, and sharded output stays byte-identical to one process.
///
/// When the space is exhausted (a `--sites` subset with few hits, more runs than plans),
/// a run gives up after `maxRedraws` and repeats a plan: distinct "while the space
/// allows", never an endless loop. Near exhaustion the redraws may miss the last few
/// rare plans (a `prob=` rule with one count and one errno) before a repeat.
enum DistinctPlans {
    static let maxRedraws = 255

    /// The seed redraw `k` of a run draws its plan from; redraw 0 is the run's own seed,
    /// so campaigns whose first draws never collide keep their plans.
    static func drawSeed(_ seed: UInt64, redraw k: Int) -> UInt64 {
        guard k > 0 else { return seed }
        var g = SplitMix64(seed: (seed ^ 0x6A09_E667_F3BC_C908) &+ UInt64(k) &* 0x9E37_79B9_7F4A_7C15)
        return g.next()
    }

    /// Per run, the redraw its plan is taken from.
    static func redraws(seed: UInt64, runs: Int, known: KnownHits, maxRules: Int) -> [UInt8] {
        let catalog = SimulatedBox.faultCatalog
        var seen = Set<UInt64>()
        seen.reserveCapacity(runs)
        var out: [UInt8] = []
        out.reserveCapacity(runs)
        for i in stride(from: 1, through: runs, by: 1) {
            let runSeed = Campaign.runSeed(seed, index: i)
            var k = 0
            while true {
                let plan = Campaign.draw(seed: drawSeed(runSeed, redraw: k), known: known, catalog: catalog, maxRules: maxRules)
                if seen.insert(fingerprint(plan)).inserted || k >= maxRedraws { break }
                k += 1
            }
            out.append(UInt8(k))
        }
        return out
    }

    /// FNV-1a over the plan's sorted rule texts: the same rules in any order are the same
    /// plan. (Not `Hasher`, which is seeded per process.) Two plans sharing a fingerprint
    /// only cost one needless redraw.
    static func fingerprint(_ plan: FaultPlan) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for text in plan.key {
            for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
            h = (h ^ 0x0A) &* 0x100_0000_01B3
        }
        return h
    }
}
