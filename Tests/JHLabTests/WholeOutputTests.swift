import Foundation
import Testing
@testable import JHLab

/// Exact stdout, stderr and exit status of each command on the FakeBox.
@Suite struct WholeOutputTests {
    @Test func labInitResetInfo() {
        let lab = TestLab()
        #expect(lab.run("lab init --cpus 4 --seed 0x10 --profile fixed --executor inline") == CommandResult(
            stdout: "Created a lab in \(lab.dir)/.jhsim: 4 CPUs, seed 16, profile fixed, executor inline\n"))
        #expect(lab.run("lab init") == CommandResult(
            stderr: "jhsim: a lab already exists in \(lab.dir)/.jhsim; use `jhsim lab reset` to power-cycle it or `jhsim lab init --force` to replace it\n",
            status: 1))
        lab.ok("enable")
        lab.ok("cell create tiny-demo --fault cpu_down:nth=2")
        let info = lab.run("lab info")
        #expect(info.stdout.hasPrefix("Lab:       \(lab.dir)/.jhsim/lab.json\nMachine:   4 CPUs, seed 16, profile fixed, executor inline\nCommands:  2\nClock:     12.00ms\nTrace:     "))
        #expect(info.stdout.hasSuffix("  1. jhsim enable\n  2. jhsim cell create tiny-demo --fault cpu_down:nth=2\n"))
        #expect(lab.run("lab reset") == CommandResult(stdout: "Reset the lab in \(lab.dir)/.jhsim: a freshly booted machine (2 logged commands dropped)\n"))
    }

    @Test func consoleInmateAndStats() {
        let lab = TestLab()
        lab.ok("lab init")
        #expect(lab.run("console") == CommandResult())
        lab.ok("enable")
        #expect(lab.run("console -f") == CommandResult(stdout: "Initializing Jailhouse hypervisor on CPU 0-3\n"))
        lab.ok("cell create tiny-demo")
        #expect(lab.run("inmate tiny-demo locking") == CommandResult())
        #expect(lab.run("inmate nosuch locking") == CommandResult(stderr: "inmate: no such cell 'nosuch'\n", status: 1))
        #expect(lab.run("inmate tiny-demo bogus") == CommandResult(
            stderr: "jhsim: unknown inmate kind 'bogus'; valid kinds: passive, cooperative, locking, unresponsive, crashing, comm-rev-mismatch\nTry 'jhsim --help' for more information.\n",
            status: 1))
        #expect(lab.run("cell stats tiny-demo") == CommandResult(stdout: "Statistics for tiny-demo cell\n\nCOUNTER  TOTAL\n"))
        #expect(lab.run("cell stats 9") == CommandResult(stderr: "cell stats: no such cell '9'\n", status: 1))
    }

    @Test func traceOfOneCommand() {
        let lab = TestLab()
        lab.ok("lab init")
        #expect(lab.run("trace") == CommandResult(stdout: "(no commands yet)\n"))
        lab.ok("enable")
        #expect(lab.run("trace").stdout == """
            # 1: jhsim enable  (0ns → 1.0us, took 1.0us)
            [    0.000000000] -     user         command enable
            [    0.000000000] cpu0  driver     > ioctl JAILHOUSE_ENABLE arg=0x0
            [    0.000001000] cpu0  hypervisor   owner cpu=0 cell=0 name=QEMU-VM
            [    0.000001000] cpu1  hypervisor   owner cpu=1 cell=0 name=QEMU-VM
            [    0.000001000] cpu2  hypervisor   owner cpu=2 cell=0 name=QEMU-VM
            [    0.000001000] cpu3  hypervisor   owner cpu=3 cell=0 name=QEMU-VM
            [    0.000001000] cpu0  driver     < ioctl JAILHOUSE_ENABLE ok
            [    0.000001000] -     user         done enable ok

            """)
    }

    @Test func faultsList() {
        let lab = TestLab()
        #expect(lab.run("faults list") == CommandResult(stdout: """
            SITE            LAYER       ERRNO   CPU  MEANING
            cpu_down        linux       EBUSY   yes  taking a CPU offline fails
            hc_cell_create  hypervisor  ENOMEM  no   the CELL_CREATE hypercall fails

            Use a site with --fault 'SITE[:cpu=N][:state=S][:nth=N][:after=N][:count=N][:prob=P][:errno=E]' on any command that runs the machine.

            """))
    }
}
