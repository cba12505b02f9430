import Foundation
import Testing

/// `jhsim faults …` through the real executable: the fault tools are plugged into JHLab's
/// runner there, output is quiet when piped, and exit statuses reach the shell.
@Suite struct FaultsBinaryTests {
    @Test func aCampaignPrintsItsSeedFirstAndIsQuietWhenPiped() throws {
        let d = JHSimProcess.tempDir()
        let r = try JHSimProcess.run(["faults", "campaign", "--seed", "11", "--runs", "5", "--profile", "fixed"], in: d)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("SEED=11\n"))
        #expect(r.stderr == "")
        let again = try JHSimProcess.run(["faults", "campaign", "--seed", "11", "--runs", "5", "--profile", "fixed"], in: d)
        #expect(again.stdout == r.stdout)
    }

    @Test func failureClassesReachTheShell() throws {
        let d = JHSimProcess.tempDir()
        try "machine cpus=4 executor=inline\nenable\nexpect errno EBUSY\n".write(toFile: d + "/bad.jhsim", atomically: true, encoding: .utf8)
        #expect(try JHSimProcess.run(["faults", "sweep", "bad.jhsim"], in: d).status == 8)
        #expect(try JHSimProcess.run(["faults", "sweep", "--sites", "nope"], in: d).status == 1)
        #expect(try JHSimProcess.run(["faults", "run", "--rule", "cell_kzalloc:nth=2"], in: d).status == 0)
    }
}

extension FaultsBinaryTests {
    @Test func anIsolatedSweepReportsWhatAnInProcessOneDoes() throws {
        let d = JHSimProcess.tempDir()
        let args = ["faults", "sweep", "--sites", "cell_kzalloc,pci_bind"]
        let inProcess = try JHSimProcess.run(args, in: d)
        let isolated = try JHSimProcess.run(args + ["--isolate"], in: d)
        #expect(isolated.status == 0, "\(isolated.stderr)")
        #expect(isolated.stdout == inProcess.stdout)
    }
}
