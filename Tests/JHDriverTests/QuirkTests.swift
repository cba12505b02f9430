import JHABI
import JHConfig
@testable import JHDriver
import JHHypervisor
import JHLinux
import JHMachine
import Testing

/// Each driver-side quirk of jailhouse-behaviour.md §6.2, shown in `upstream` and absent
/// in `fixed`.
@Suite struct QuirkTests {
    @Test func quirk1ArchitectureMismatchReturnsSuccess() throws {
        var config = Rig.cell("tiny-demo")
        config[5] = Architecture.arm64.rawValue
        let up = try Rig()
        try up.enable()
        #expect(try up.tool.cellCreate(config) == 0)
        #expect(up.driver.cells.count == 1, "no cell was created")
        let fixed = try Rig(profile: .fixed)
        try fixed.enable()
        #expect(try fixed.tool.cellCreate(config) == Errno.invalidArgument.ret)
    }

    @Test func quirk2PCIClaimLeaksWhenTheHypercallFails() throws {
        for profile in [Profile.upstream, .fixed] {
            let r = try Rig(profile: profile)
            try r.enable()
            try r.inject("hv_page_alloc:nth=1:errno=ENOMEM")
            #expect(try r.create("pci-demo") == Errno.noMemory.ret)
            if profile == .upstream {
                #expect(r.driver.claimedDevices.count == 1)
            } else {
                #expect(r.driver.claimedDevices.isEmpty)
            }
        }
    }

    @Test func pciClaimAndReleaseAroundACellsLife() throws {
        let r = try Rig()
        try r.enable()
        #expect(try r.create("pci-demo") == 0)
        let dev = try #require(r.driver.claimedDevices.first)
        #expect(r.kernel.pci.lookup(domain: dev.domain, bdf: dev.bdf)?.driver == JailhouseDriver.stubDriverName)
        #expect(try r.destroy("pci-demo") == 0)
        #expect(r.driver.claimedDevices.isEmpty)
        #expect(r.kernel.pci.lookup(domain: dev.domain, bdf: dev.bdf)?.driver == nil, "left without a driver")
    }

    @Test func quirk3RollbackOnlinesAdminOfflinedCPUs() throws {
        for profile in [Profile.upstream, .fixed] {
            let r = try Rig(profile: profile)
            try r.enable()
            try r.kernel.removeCPU(2)  // the admin offlines CPU 2
            try r.inject("cpu_down:cpu=3:nth=1:errno=EBUSY")
            #expect(try r.create("smp-demo") == Errno.busy.ret)
            #expect(r.kernel.online.contains(2) == (profile == .upstream))
        }
    }

    @Test func quirk4FailedDisableHasSideEffects() throws {
        for profile in [Profile.upstream, .fixed] {
            let r = try Rig(profile: profile)
            try r.enable()
            try r.create("tiny-demo")
            try r.kernel.removeCPU(1)
            #expect(try r.disable() == Errno.busy.ret)
            #expect(r.driver.enabled)
            let tinyStillThere = r.driver.cells.contains { $0.name == "tiny-demo" }
            #expect(tinyStillThere == (profile == .fixed))
        }
    }

    @Test func quirk5DestroyOnlyLogsAFailedCPUUp() throws {
        for profile in [Profile.upstream, .fixed] {
            let r = try Rig(profile: profile)
            try r.enable()
            try r.create("tiny-demo")
            try r.inject("cpu_up:cpu=2:nth=1:errno=EIO")
            #expect(try r.destroy("tiny-demo") == 0)
            #expect(!r.kernel.online.contains(2))
            #expect(r.driver.rootCell?.cpusAssigned.contains(2) == true)
            if profile == .upstream {
                #expect(r.driver.offlinedCPUs.isEmpty)
                #expect(try r.disable() == Errno.busy.ret, "the lost CPU blocks disable")
            } else {
                #expect(r.driver.offlinedCPUs == [2])
                #expect(try r.disable() == 0, "disable brings the owed CPU back first")
                #expect(r.kernel.online == [0, 1, 2, 3])
            }
        }
    }

    /// Found by `jhsim faults campaign`: once a CPU's bit in offlined_cpus is stale (no
    /// living cell holds it), the admin may online it by hand; the checker used to call
    /// that a violation in both profiles although §8 item 3 allows the stale bit.
    @Test(arguments: [Profile.upstream, .fixed])
    func anAdminMayOnlineACPUWhoseOfflinedBitIsStale(profile: Profile) throws {
        let r = try Rig(profile: profile)
        try r.enable()
        if profile == .upstream {
            // Quirk 3: the create rollback's add_cpu fails, the bit stays.
            try r.inject("cpu_down:cpu=3:nth=1:errno=EBUSY")
            try r.inject("cpu_up:cpu=2:nth=1:errno=EIO")
            #expect(try r.create("smp-demo") == Errno.busy.ret)
        } else {
            // Fixed: destroy keeps the CPU it could not revive, to bring it back at disable.
            try r.create("tiny-demo")
            try r.inject("cpu_up:cpu=2:nth=1:errno=EIO")
            #expect(try r.destroy("tiny-demo") == 0)
        }
        #expect(r.driver.offlinedCPUs == [2])
        #expect(!r.kernel.online.contains(2))
        try r.kernel.addCPU(2)  // the admin: echo 1 > /sys/devices/system/cpu/cpu2/online
        #expect(r.box.invariantViolations().isEmpty)
        #expect(try r.disable() == 0)
        #expect(r.kernel.online == [0, 1, 2, 3])
    }

    @Test func quirk7TruncatedConfigIsReadPastItsEnd() throws {
        let tiny = Rig.cell("tiny-demo")
        let truncated = Array(tiny.prefix(tiny.count - 40))
        let fixed = try Rig(profile: .fixed)
        try fixed.enable()
        #expect(try fixed.tool.cellCreate(truncated) == Errno.invalidArgument.ret)
        let up = try Rig()
        try up.enable()
        // Upstream hands the short config to the hypervisor (after taking CPU 2 down),
        // which reads zeros where the cache and PIO arrays should be; the fixed driver
        // refuses before touching anything.
        #expect(try up.tool.cellCreate(truncated) == Errno.invalidArgument.ret)
        let hypercalls = { (r: Rig) in
            r.machine.trace.events.filter { $0.layer == .hypervisor && $0.detail.contains("CELL_CREATE") }.count
        }
        #expect(hypercalls(up) > 0)
        #expect(hypercalls(fixed) == 0)
        #expect(up.kernel.online == [0, 1, 2, 3])
    }
}
