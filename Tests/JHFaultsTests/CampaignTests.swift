import Foundation
import JHDriver
import JHFaults
import JHLab
import JHMachine
import Testing

@Suite struct CampaignTests {
    @Test func theSameSeedGivesTheSameReportByteForByte() throws {
        let cli = FaultsCLI()
        let a = cli.run(["faults", "campaign", "--seed", "42", "--runs", "60"])
        let b = cli.run(["faults", "campaign", "--seed", "42", "--runs", "60"])
        #expect(a.status == 0, "\(a.stdout)\(a.stderr)")
        #expect(a.stdout == b.stdout)
        #expect(a.stdout.hasPrefix("SEED=42\n"))
        let c = cli.run(["faults", "campaign", "--seed", "43", "--runs", "60"])
        #expect(c.stdout != a.stdout)
        let ja = cli.run(["faults", "campaign", "--seed", "42", "--runs", "60", "--json"])
        let jb = cli.run(["faults", "campaign", "--seed", "42", "--runs", "60", "--json"])
        #expect(ja.stdout == jb.stdout)
    }

    @Test func plansAreDrawnFromTheSeedWithPlausibleErrnos() throws {
        let target = try FaultScenario.builtin(baseDirectory: NSTemporaryDirectory())
        var records: [Campaign.RunRecord] = []
        let report = try Campaign(runner: runner(target), seed: 5, runs: 40, rulesPerRun: 3).run(each: { records.append($0) })
        #expect(records.map(\.index) == Array(1...40))
        #expect(report.runsDone == 40)
        #expect(records.allSatisfy { (1...3).contains($0.plan.rules.count) })
        let catalog = SimulatedBox.faultCatalog
        for rec in records {
            for r in rec.plan.rules {
                let info = try #require(catalog.first { $0.name == r.site })
                #expect(SiteErrnos.valid(info).contains(r.errno))
                // Every drawn rule spells back to itself.
                #expect(try rule(r.description) == r)
            }
        }
        #expect(records.reduce(0) { $0 + $1.injected } == report.injected)
        #expect(report.injected > 0)
        #expect(report.exitStatus == 0)
    }

    @Test func aFailingCampaignRunIsShrunkAndReproducible() throws {
        let cli = FaultsCLI()
        cli.write("s.jhsim", Self.fragile)
        let r = cli.run(["faults", "campaign", "s.jhsim", "--seed", "1", "--runs", "40", "--check-expect"])
        #expect(r.status == FailureClass.expectation.exitStatus)
        let minimal = r.stdout.split(separator: "\n").filter { $0.hasPrefix("  minimal reproducer: ") }
        #expect(!minimal.isEmpty)
        for line in minimal {
            let cmd = String(line.dropFirst("  minimal reproducer: ".count))
            #expect(cmd.hasPrefix("jhsim faults run s.jhsim ") && cmd.contains(" --check-expect --rule "))
            let again = try cli.run(commandLine: cmd)
            #expect(again.status == FailureClass.expectation.exitStatus, "\(cmd)")
        }
    }

    /// Holds only when tiny-demo's creation succeeds.
    static let fragile = """
    machine cpus=4 executor=inline
    enable
    cell create tiny-demo
    cell start tiny-demo
    expect cell tiny-demo state=running

    """
}
