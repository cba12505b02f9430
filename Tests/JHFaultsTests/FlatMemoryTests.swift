import Foundation
import JHDriver
import JHFaults
import JHLab
import JHMachine
import Testing

/// Memory of a long campaign stays flat: what it keeps does not grow with the number of
/// clean runs (checked by counting what is retained, not by timing or RSS).
@Suite struct FlatMemoryTests {
    @Test func aCampaignRetainsNothingPerCleanRun() throws {
        let target = try FaultScenario.builtin(baseDirectory: NSTemporaryDirectory())
        let p = try Campaign(runner: runner(target, profile: "fixed"), seed: 9, runs: 60, rulesPerRun: 3).prepared()
        var tally = RunTally()
        for i in 1...60 {
            let rec = try p.run(i)
            tally.add(rec)
        }
        #expect(tally.runs == 60)
        #expect(tally.failing.isEmpty)
        // Only the set of sites that fired grows, and it is bounded by the catalog.
        #expect(tally.sites.count <= SimulatedBox.faultCatalog.count)
        // A numbered run counts no sites: its injector keeps no per-check log.
        let r = try p.runner.run(p.plan(7).plan, seed: p.plan(7).seed)
        #expect(r.checkedSites.isEmpty)
    }
}
