import Foundation
import JHDriver
@testable import JHFaults
import JHLab
import JHMachine
import Testing

/// Issue 10, item 11: no duplicate plans while the plan space allows, run i still a
/// function of the campaign seed and i.
@Suite struct DistinctPlansTests {
    @Test func aCampaignsRunsInjectDistinctPlans() throws {
        let target = try FaultScenario.builtin(baseDirectory: NSTemporaryDirectory())
        let p = try Campaign(runner: runner(target, profile: "fixed"), seed: 9, runs: 3000, rulesPerRun: 3).prepared()
        let keys = (1...3000).map { p.plan($0).plan.key }
        #expect(Set(keys).count == 3000)
        // The independent first draws do repeat: without the redraws this would fail.
        let first = (1...3000).map {
            Campaign.draw(seed: Campaign.runSeed(9, index: $0), known: p.known, catalog: SimulatedBox.faultCatalog, maxRules: 3).key
        }
        #expect(Set(first).count < 3000)
        // A run whose first draw is new keeps it.
        #expect(p.plan(1).plan.key == first[0])
    }

    @Test func aSmallSpaceIsUsedUpBeforeAnyPlanRepeats() throws {
        let target = try FaultScenario.builtin(baseDirectory: NSTemporaryDirectory())
        let small = Campaign(runner: runner(target, profile: "fixed"), seed: 3, runs: 400, rulesPerRun: 1, sites: ["cpu_down"])
        let p = try small.prepared()
        let keys = (1...400).map { p.plan($0).plan.key }
        // Every plan one rule at cpu_down can take (its hits, CPUs, errnos, probabilities).
        var space = Set<[String]>()
        for s in 0..<20_000 {
            space.insert(Campaign.draw(seed: UInt64(s), known: p.known, catalog: SimulatedBox.faultCatalog, maxRules: 1).key)
        }
        #expect(space.count < 400)
        let d = Set(keys).count
        // The runs use up the space (all that 20,000 free draws find, at least) …
        #expect(d >= space.count && d < 400)
        // … and plans repeat only once the space is nearly used up: redraws are random, so
        // the last few rare plans (a prob= rule with one count of one errno) may take a
        // run that repeats first, but no more than 2% of the space.
        #expect(Set(keys.prefix(d)).count >= d - d / 50)
        #expect(Set(keys.prefix(d * 3 / 4)).count == d * 3 / 4)
    }

    @Test func aRunsPlanDoesNotDependOnHowManyRunsFollow() throws {
        let target = try FaultScenario.builtin(baseDirectory: NSTemporaryDirectory())
        let short = try Campaign(runner: runner(target), seed: 11, runs: 300, rulesPerRun: 2).prepared()
        let long = try Campaign(runner: runner(target), seed: 11, runs: 900, rulesPerRun: 2).prepared()
        #expect((1...300).map { short.plan($0).plan } == (1...300).map { long.plan($0).plan })
    }

    @Test func shardsOfACampaignWithRedrawsMergeIntoTheOneProcessReport() throws {
        let cli = FaultsCLI()
        let args = ["faults", "campaign", "--seed", "5", "--runs", "60", "--rules-per-run", "1", "--sites", "cpu_down,kmalloc",
                    "--profile", "fixed", "--no-shrink"]
        let whole = cli.run(args + ["--jsonl"])
        #expect(whole.status == 0, "\(whole.stderr)")
        for k in 0..<3 { #expect(cli.run(args + ["--shard", "\(k)/3", "--out", "d\(k).jsonl"]).status == 0) }
        #expect(cli.run(["faults", "merge", "d1.jsonl", "d0.jsonl", "d2.jsonl"]).stdout == cli.run(args).stdout)
        // Run records (plans included) are the same lines, whichever shard ran them.
        let runLines = { (text: String) in Set(text.split(separator: "\n").filter { $0.contains("\"kind\":\"run\"") }) }
        var sharded = Set<Substring>()
        for k in 0..<3 {
            let text = try String(contentsOfFile: cli.dir + "/d\(k).jsonl", encoding: .utf8)
            sharded.formUnion(runLines(text))
        }
        #expect(sharded == runLines(whole.stdout))
        #expect(sharded.count == 60)
    }
}
