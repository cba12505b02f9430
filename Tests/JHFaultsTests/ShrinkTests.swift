import Foundation
import JHDriver
import JHFaults
import JHLab
import JHMachine
import Testing

@Suite struct ShrinkTests {
    @Test func aFailingMultiRulePlanShrinksToTheMinimalOne() throws {
        let target = try scenario(CampaignTests.fragile)
        let r = runner(target, checkExpect: true)
        // Two rules that are never reached, and one that fails tiny-demo's kzalloc (the
        // 2nd; the 1st is the root cell's at enable).
        let plan = FaultPlan(rules: [try rule("copy_to_user:nth=1"), try rule("cell_kzalloc:nth=2"),
                                     try rule("hv_remap_to_root:nth=4")])
        let first = try r.run(plan)
        #expect(first.worst == .expectation)
        let s = try #require(try Shrinker(runner: r).shrink(plan, seed: 0))
        // Failing the root's kzalloc (nth=1) fails enable, so tiny-demo is missing too.
        #expect(s.plan.description == "cell_kzalloc:nth=1:errno=ENOMEM")
        #expect(try r.run(s.plan).worst == .expectation)
        // Deterministic.
        #expect(try Shrinker(runner: r).shrink(plan, seed: 0)?.plan == s.plan)
    }

    @Test func aPlanThatDoesNotFailIsNotShrunk() throws {
        let target = try scenario(CampaignTests.fragile)
        #expect(try Shrinker(runner: runner(target, checkExpect: true)).shrink(FaultPlan(rules: [try rule("copy_to_user:nth=1")]),
                                                                            seed: 0) == nil)
    }

    @Test func theShrinkCommandPrintsTheMinimalReproducer() throws {
        let cli = FaultsCLI()
        cli.write("s.jhsim", CampaignTests.fragile)
        let r = cli.run(["faults", "shrink", "s.jhsim", "--check-expect", "--rule", "copy_to_user:nth=1",
                         "--rule", "cell_kzalloc:nth=2", "--rule", "hv_remap_to_root:nth=4"])
        #expect(r.status == 4)
        #expect(r.stdout.hasSuffix("minimal reproducer: jhsim faults run \(cli.dir)/s.jhsim --check-expect --rule cell_kzalloc:nth=1:errno=ENOMEM\n"))
    }
}
