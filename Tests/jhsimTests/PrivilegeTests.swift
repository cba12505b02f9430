import Foundation
import Testing

/// Credentials end to end, in child processes: jhsim itself drops every real capability
/// at start, and a simulated process runs with the capabilities `--caps` gives it.
@Suite struct PrivilegeTests {
    @Test func jhsimDropsItsOwnCapabilitiesAtStart() throws {
        let r = try JHSimProcess.run(["--version"], in: JHSimProcess.tempDir(), env: ["JHSIM_DEBUG": "1"])
        #expect(r.status == 0)
        #expect(r.stderr.contains("jhsim: debug: dropped every capability"))
        #expect(r.stderr.contains("now: =)"), "no capability left: \(r.stderr)")
    }

    @Test func withoutDebugNothingIsLogged() throws {
        let r = try JHSimProcess.run(["--version"], in: JHSimProcess.tempDir())
        #expect(!r.stderr.contains("debug"))
    }

    @Test func processWithoutSysAdminCannotOpenTheDevice() throws {
        let dir = JHSimProcess.tempDir()
        #expect(try JHSimProcess.run(["lab", "init"], in: dir).status == 0)
        let denied = try JHSimProcess.run(["--caps", "=", "enable"], in: dir)
        #expect(denied.status == 1)
        #expect(denied.stderr.hasPrefix("opening /dev/jailhouse: Operation not permitted\n"))
        #expect(denied.stderr.contains("without cap_sys_admin"))
        let wrongSet = try JHSimProcess.run(["enable", "--caps", "cap_sys_admin=p"], in: dir)
        #expect(wrongSet.status == 1, "permitted but not effective is not enough")
        let allowed = try JHSimProcess.run(["enable", "--caps=cap_sys_admin=ep"], in: dir)
        #expect(allowed.status == 0, "\(allowed.stderr)")
        let list = try JHSimProcess.run(["cell", "list"], in: dir)
        #expect(list.stdout.contains("QEMU-VM"))
    }

    @Test func badCapabilityTextIsAUsageError() throws {
        let dir = JHSimProcess.tempDir()
        #expect(try JHSimProcess.run(["lab", "init"], in: dir).status == 0)
        let r = try JHSimProcess.run(["--caps", "cap_frobnicate=ep", "enable"], in: dir)
        #expect(r.status != 0)
        #expect(r.stderr.contains("not a capability set in libcap text form"))
        let info = try JHSimProcess.run(["lab", "info"], in: dir)
        #expect(info.stdout.contains("Commands:  0"), "the lab was not touched")
    }

    @Test func costOverridesAreKeptByTheLab() throws {
        let dir = JHSimProcess.tempDir()
        #expect(try JHSimProcess.run(["lab", "init", "--cost", "ipi=5000", "--cost", "cpu_up_bringup=1000000"], in: dir).status == 0)
        let info = try JHSimProcess.run(["lab", "info"], in: dir)
        #expect(info.stdout.contains("Costs:     ipi=5000 cpu_up_bringup=1000000"))
        let bad = try JHSimProcess.run(["lab", "init", "--force", "--cost", "warp=1"], in: JHSimProcess.tempDir())
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("unknown cost 'warp'") && bad.stderr.contains("cpu_down_online"))
    }
}
