import Foundation
import JHABI
@testable import JHLab
import Testing

/// `jhsim run` judges what really happened: a command that failed before its ioctl is not
/// "ok", and a command that never returns fails the run unless the scenario expects it.
@Suite struct ScenarioJudgingTests {
    @Test func expectOkFailsWhenTheCommandFailedBeforeItsIoctl() {
        let lab = TestLab(factory: .standard)
        lab.write("s.jhsim", "machine cpus=4 executor=inline\nenable /nope.cell\nexpect ok\n")
        let r = lab.run("run s.jhsim")
        #expect(r.status == 1)
        #expect(r.stderr.contains("s.jhsim:3: expectation failed: expect ok"))
        #expect(r.stderr.contains("got:      exit status 1 without an errno"))
        // `expect status 1` still describes that command.
        lab.write("t.jhsim", "machine cpus=4 executor=inline\nenable /nope.cell\nexpect status 1\n")
        #expect(lab.run("run t.jhsim").status == 0)
    }

    static let hang = """
        machine cpus=4 executor=inline
        enable
        cell create apic-demo
        cell start apic-demo --inmate unresponsive
        cell destroy apic-demo

        """

    @Test func aHangFailsTheRunUnlessTheScenarioExpectsIt() throws {
        let lab = TestLab(factory: .standard)
        lab.write("h.jhsim", Self.hang)
        let r = lab.run("run h.jhsim --json")
        #expect(r.status == 1)
        #expect(r.stderr.contains("h.jhsim:5: "))
        #expect(r.stderr.contains("it never returns (hang)"))
        #expect(r.stdout.contains("\"passed\": false"))
        lab.write("ok.jhsim", Self.hang + "expect hang\n")
        #expect(lab.run("run ok.jhsim").status == 0)
        // `expect hang` after a command that returned is a failed expectation.
        lab.write("no.jhsim", "machine cpus=4 executor=inline\nenable\nexpect hang\n")
        #expect(lab.run("run no.jhsim").stderr.contains("expected: the command never returns (hang)"))
    }
}
