import Foundation
import JHDriver
import JHFaults
import JHLab
import JHMachine
import Testing

@Suite struct SweepTests {
    @Test(arguments: ["upstream", "fixed"])
    func theDefaultScenarioSweepsCleanAndCoversEverySiteItReaches(profile: String) throws {
        let target = try FaultScenario.builtin(baseDirectory: NSTemporaryDirectory())
        let r = runner(target, profile: profile)
        let report = try Sweep(runner: r).run()
        #expect(report.baselineFailures.isEmpty)
        if profile == "fixed" {
            #expect(report.failing.isEmpty, "\(report.failing.prefix(3).map { $0.reproducer })")
            #expect(report.exitStatus == 0)
        } else {
            // Upstream: only named quirks — PCI claims kept by a failed create (quirk 2), a
            // destroy whose add_cpu failed strands a CPU so disable stays EBUSY (quirk 5), and
            // a failed sysfs creation whose error path releases the wrong object oopses the
            // kernel (quirk 9).
            let named = Set(report.failing.flatMap(\.failures).map { "\($0.kind.rawValue) \($0.quirk?.number ?? 0)" })
            #expect(named == ["quirk 2", "liveness 5", "quirk 9"])
            #expect(report.exitStatus == FailureClass.liveness.exitStatus)
        }
        // Every site the fault-free run reaches has one run per hit, and each run's rule fired.
        let reached = Set(try r.run(FaultPlan(), countSites: true).checkedSites.map(\.name))
        #expect(Set(report.rows.map(\.coverage.site)) == reached)
        #expect(reached.count >= 20)
        for row in report.rows {
            #expect(row.runs == row.coverage.hits && row.fired == row.runs, "\(row.coverage.site)")
        }
        #expect(report.runs == report.rows.reduce(0) { $0 + $1.coverage.hits })
        #expect(report.runs > 300)
    }

    @Test func theBuiltInScenarioIsTheCommittedOne() throws {
        let file = try String(contentsOfFile: repositoryRoot + "/Docs/scenarios/faults-default.jhsim", encoding: .utf8)
        #expect(DefaultScenario.text + "\n" == file)
    }

    @Test func aBrokenCheckerIsReportedAsAnInvariantFailureWithReproducers() throws {
        let target = try FaultScenario.builtin(baseDirectory: NSTemporaryDirectory())
        var r = runner(target)
        // A deliberately wrong checker: it calls every injected cell_kzalloc failure a bug.
        r.extraChecks = { box in
            box.machine.trace.events.contains { $0.layer == .fault && $0.detail.hasPrefix("cell_kzalloc") }
                ? ["cell_kzalloc failed"] : []
        }
        let report = try Sweep(runner: r, sites: ["cell_kzalloc", "pci_bind"]).run()
        #expect(report.exitStatus == FailureClass.invariant.exitStatus)
        #expect(report.failing.map(\.plan.description) == (1...4).map { "cell_kzalloc:nth=\($0):errno=ENOMEM" })
        #expect(report.failing.first?.reproducer == "jhsim faults run --rule cell_kzalloc:nth=1:errno=ENOMEM")
        #expect(report.rows.first { $0.coverage.site == "pci_bind" }?.failures == 0)
    }

    @Test func maxRunsStopsTheSweepAndSaysSo() throws {
        let target = try FaultScenario.builtin(baseDirectory: NSTemporaryDirectory())
        let report = try Sweep(runner: runner(target), maxRuns: 5).run()
        #expect(report.runs == 5 && report.truncated)
    }

    @Test func allErrnosRunsEveryPlausibleErrno() throws {
        let target = try FaultScenario.builtin(baseDirectory: NSTemporaryDirectory())
        let report = try Sweep(runner: runner(target), sites: ["cpu_down"], allErrnos: true).run()
        let hits = report.rows[0].coverage.hits
        #expect(report.runs == hits * 3)
        #expect(report.failing.isEmpty)
    }
}

/// The scenario whose sweeps and campaigns found the two lower-layer bugs: it stays clean.
@Suite struct HotplugScenarioTests {
    static func target() throws -> FaultScenario {
        try FaultScenario.load(repositoryRoot + "/Fixtures/scenarios/faults-hotplug.jhsim", currentDirectory: "/")
    }

    @Test(arguments: ["upstream", "fixed"])
    func sweepsAndACampaignFindNothing(profile: String) throws {
        let r = runner(try Self.target(), profile: profile)
        let sweep = try Sweep(runner: r).run()
        #expect(sweep.runs > 600)
        // Only named quirks in upstream; nothing at all in fixed.
        let unexplained = sweep.failing.filter { $0.failures.contains { $0.quirk == nil } }
        #expect(unexplained.isEmpty, "\(unexplained.prefix(3).map(\.reproducer))")
        if profile == "fixed" { #expect(sweep.failing.isEmpty) }
        let campaign = try Campaign(runner: r, seed: 3, runs: 200, rulesPerRun: 4).run()
        let bad = campaign.records.filter { ($0.failing?.failures ?? []).contains { $0.quirk == nil } }
        #expect(bad.isEmpty, "\(bad.compactMap { $0.minimal?.reproducer }.prefix(3))")
        if profile == "fixed" { #expect(campaign.exitStatus == 0) }
    }

    @Test func theFixedProfileRemapsWhatAFailedStartUnmapped() throws {
        // The sweep's reproducer of the first bug: hv_paging_unmap at linux-x86-demo's start.
        let r = runner(try Self.target(), profile: "fixed")
        let run = try r.run(FaultPlan(rules: [try rule("hv_paging_unmap:nth=7")]))
        #expect(run.fired == [1])
        #expect(run.failures.isEmpty, "\(run.failures.map(\.message))")
    }
}
