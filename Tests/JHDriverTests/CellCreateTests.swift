import JHABI
import JHConfig
@testable import JHDriver
import JHHypervisor
import JHLinux
import JHMachine
import Testing

@Suite struct CellCreateTests {
    @Test func tinyAndApicDemoSucceedTogether() throws {
        let r = try Rig()
        #expect(try r.enable() == 0)
        #expect(try r.create("tiny-demo") == 0)
        #expect(try r.create("apic-demo") == 0)
        #expect(r.driver.cells.map(\.name) == ["QEMU-VM", "tiny-demo", "apic-demo"])
        #expect(r.driver.cells.map(\.id.rawValue) == [0, 1, 2])
        #expect(r.driver.rootCell?.cpusAssigned == [0, 1])
        #expect(r.driver.offlinedCPUs == [2, 3])
        #expect(r.kernel.online == [0, 1])
        #expect(r.hv.owner(of: 2) == 1 && r.hv.owner(of: 3) == 2 && r.hv.owner(of: 0) == 0)
        #expect(try r.kernel.sysfs.read("/sys/devices/jailhouse/cells/1/cpus_assigned") == "4\n")
        #expect(try r.kernel.sysfs.read("/sys/devices/jailhouse/cells/2/cpus_assigned_list") == "3\n")
        #expect(try r.kernel.sysfs.read("/sys/devices/jailhouse/cells/1/state") == "shut down\n")
        #expect(try r.kernel.sysfs.list("/sys/devices/jailhouse/cells/1/statistics").contains("cpu2"))
        #expect(!(try r.kernel.sysfs.list("/sys/devices/jailhouse/cells/0/statistics")).contains("cpu2"))
    }

    @Test func linuxDemoAfterTinyDemoIsBusyAndChangesNothing() throws {
        let r = try Rig()
        try r.enable()
        try r.create("tiny-demo")
        let before = r.snapshot()
        #expect(try r.create("linux-x86-demo") == Errno.busy.ret)
        #expect(r.snapshot() == before)
    }

    @Test func cpu0CellIsInvalidAndChangesNothing() throws {
        let r = try Rig()
        try r.enable()
        let before = r.snapshot()
        #expect(try r.create("cpu0-demo") == Errno.invalidArgument.ret)
        #expect(r.snapshot() == before)
    }

    @Test func duplicateNameExists() throws {
        let r = try Rig()
        try r.enable()
        try r.create("tiny-demo")
        let before = r.snapshot()
        #expect(try r.create("tiny-demo") == Errno.exists.ret)
        #expect(r.snapshot() == before)
    }

    @Test func rootNameIsTakenToo() throws {
        let r = try Rig()
        try r.enable()
        var config = Rig.cell("tiny-demo")
        let name = Array("QEMU-VM".utf8)
        for i in 0..<32 { config[8 + i] = i < name.count ? name[i] : 0 }
        #expect(try r.tool.cellCreate(config) == Errno.exists.ret)
    }

    @Test func createBeforeEnableIsInvalid() throws {
        let r = try Rig()
        let before = r.snapshot()
        #expect(try r.create("tiny-demo") == Errno.invalidArgument.ret)
        #expect(r.snapshot() == before)
    }

    @Test func badArgumentPointerFaults() throws {
        let r = try Rig()
        try r.enable()
        let before = r.snapshot()
        #expect(try r.tool.ioctl(.cellCreate, rawArgument: 0xdead_0000) == Errno.badAddress.ret)
        #expect(r.snapshot() == before)
    }

    @Test func badConfigPointerFaults() throws {
        let r = try Rig()
        try r.enable()
        let before = r.snapshot()
        let arg = IoctlArgs.cellCreate(configAddress: 0x4000_0000_0000, size: 228)
        #expect(try r.tool.ioctl(.cellCreate, argument: arg) == Errno.badAddress.ret)
        #expect(r.snapshot() == before)
    }

    @Test func absurdConfigSizeIsOutOfMemory() throws {
        let r = try Rig()
        try r.enable()
        let before = r.snapshot()
        let address = r.kernel.mapUser(r.tool.pid, Rig.cell("tiny-demo"))
        let arg = IoctlArgs.cellCreate(configAddress: address, size: UInt32.max)
        #expect(try r.tool.ioctl(.cellCreate, argument: arg) == Errno.noMemory.ret)
        #expect(r.snapshot() == before)
    }

    @Test func shortOrForeignConfigsAreInvalid() throws {
        let r = try Rig()
        try r.enable()
        let before = r.snapshot()
        let tiny = Rig.cell("tiny-demo")
        #expect(try r.tool.cellCreate(Array(tiny.prefix(100))) == Errno.invalidArgument.ret)
        #expect(try r.tool.cellCreate([]) == Errno.invalidArgument.ret)
        var sig = tiny; sig[0] = UInt8(ascii: "X")
        #expect(try r.tool.cellCreate(sig) == Errno.invalidArgument.ret)
        var rev = tiny; rev[6] = 13
        #expect(try r.tool.cellCreate(rev) == Errno.invalidArgument.ret)
        #expect(try r.tool.cellCreate(BuiltinConfigs.qemuX86) == Errno.invalidArgument.ret)
        #expect(r.snapshot() == before)
    }

    @Test func interruptedLockWaitIsEINTRAndFreesTheConfig() throws {
        let r = try Rig()
        try r.enable()
        let before = r.snapshot()
        try r.inject("mutex_lock_interruptible:nth=1")
        #expect(try r.create("tiny-demo") == Errno.interrupted.ret)
        #expect(r.snapshot() == before)
    }

    @Test func idsAreLowestFreeAndReused() throws {
        let r = try Rig()
        try r.enable()
        try r.create("tiny-demo")
        try r.create("apic-demo")
        #expect(try r.destroy("tiny-demo") == 0)
        #expect(try r.create("ivshmem-demo") == 0)
        #expect(r.driver.cells.map { "\($0.id)=\($0.name)" } == ["0=QEMU-VM", "2=apic-demo", "1=ivshmem-demo"])
    }

    @Test func virtualConsoleActiveImpliesPermitted() throws {
        let r = try Rig()
        try r.enable()
        var config = Rig.cell("tiny-demo")
        // flags = VIRTUAL_CONSOLE_ACTIVE | PASSIVE_COMMREG only
        let flags = (CellFlags.virtualConsoleActive.rawValue | CellFlags.passiveCommRegion.rawValue).littleEndian
        withUnsafeBytes(of: flags) { for i in 0..<4 { config[44 + i] = $0[i] } }
        #expect(try r.tool.cellCreate(config) == 0)
        #expect(r.hv.cells.last?.flags.contains(.virtualConsolePermitted) == true)
    }
}

/// The `error_cpu_online` rollback, CPU by CPU, for smp-demo (CPUs 1–3).
@Suite struct CreateRollbackTests {
    @Test(arguments: [1, 2, 3])
    func failedCPUDownBringsEveryCPUBack(failing cpu: Int) throws {
        let r = try Rig()
        try r.enable()
        let before = r.snapshot()
        try r.inject("cpu_down:cpu=\(cpu):nth=1:errno=EBUSY")
        #expect(try r.create("smp-demo") == Errno.busy.ret)
        #expect(r.snapshot() == before)
        #expect(r.kernel.online == [0, 1, 2, 3])
        #expect(r.driver.rootCell?.cpusAssigned == [0, 1, 2, 3])
    }

    @Test func failedHypercallBringsEveryCPUBack() throws {
        let r = try Rig()
        try r.enable()
        let before = r.snapshot()
        try r.inject("hv_page_alloc:nth=1:errno=ENOMEM")
        #expect(try r.create("smp-demo") == Errno.noMemory.ret)
        #expect(r.snapshot() == before)
    }

    @Test func failedCPUUpDuringRollbackLeavesTheUpstreamOutcome() throws {
        let r = try Rig()
        try r.enable()
        try r.inject("cpu_down:cpu=3:nth=1:errno=EBUSY")
        try r.inject("cpu_up:cpu=2:errno=EIO")
        #expect(try r.create("smp-demo") == Errno.busy.ret)
        // CPU 1 came back; CPU 2 could not: it stays offline, stays in offlined_cpus
        // (quirk 3), and is back in the root's set anyway.
        #expect(r.kernel.online == [0, 1, 3])
        #expect(r.driver.offlinedCPUs == [2])
        #expect(r.driver.rootCell?.cpusAssigned == [0, 1, 2, 3])
        #expect(r.driver.cells.count == 1)
        #expect(r.hv.owner(of: 2) == 0)
    }

    @Test func failedCPUUpDuringRollbackLeavesTheCPUOwedWhenFixed() throws {
        let r = try Rig(profile: .fixed)
        try r.enable()
        try r.inject("cpu_down:cpu=3:nth=1:errno=EBUSY")
        try r.inject("cpu_up:cpu=2:errno=EIO")
        #expect(try r.create("smp-demo") == Errno.busy.ret)
        #expect(r.kernel.online == [0, 1, 3])
        // The driver still owes CPU 2 to Linux (as after a failed add_cpu on destroy), so
        // disable brings it back instead of failing with EBUSY forever (quirk 5's trap).
        #expect(r.driver.offlinedCPUs == [2])
        r.machine.faults.removeAll()
        #expect(try r.disable() == 0)
        #expect(r.kernel.online == [0, 1, 2, 3])
        #expect(r.driver.offlinedCPUs.isEmpty)
    }

    @Test func theAdminOnliningAnOwedCPUPaysTheDebtWhenFixed() throws {
        let r = try Rig(profile: .fixed)
        try r.enable()
        try r.inject("cpu_down:cpu=3:nth=1:errno=EBUSY")
        try r.inject("cpu_up:cpu=2:nth=1:errno=EIO")
        #expect(try r.create("smp-demo") == Errno.busy.ret)
        #expect(r.driver.offlinedCPUs == [2])
        r.machine.faults.removeAll()
        // §8 item 3: a CPU in offlined_cpus is never online. The admin's online clears it.
        _ = try r.kernel.addCPU(2)
        #expect(r.driver.offlinedCPUs.isEmpty)
        #expect(r.box.invariantViolations().isEmpty)
    }
}
