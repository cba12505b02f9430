import JHABI
import JHConfig
@testable import JHDriver
import JHHypervisor
import JHLinux
import JHMachine
import Testing

@Suite struct EnableTests {
    @Test func enableRegistersTheRootCellAsIDZero() throws {
        let r = try Rig()
        #expect(try r.enable() == 0)
        #expect(r.driver.enabled && r.hv.isActive)
        #expect(r.driver.cells.map(\.name) == ["QEMU-VM"])
        #expect(r.driver.rootCell?.cpusAssigned == [0, 1, 2, 3])
        #expect(r.driver.moduleReferences == 1)
        #expect(try r.kernel.sysfs.read("/sys/devices/jailhouse/enabled") == "1\n")
        #expect(try r.kernel.sysfs.read("/sys/devices/jailhouse/cells/0/name") == "QEMU-VM\n")
        #expect(try r.kernel.sysfs.read("/sys/devices/jailhouse/cells/0/state") == "running\n")
        let stats = try r.kernel.sysfs.list("/sys/devices/jailhouse/cells/0/statistics")
        #expect(["cpu0", "cpu1", "cpu2", "cpu3"].allSatisfy(stats.contains))
        #expect(try Int(r.kernel.sysfs.read("/sys/devices/jailhouse/mem_pool_size").dropLast())! > 0)
    }

    @Test func enableTwiceIsBusy() throws {
        let r = try Rig()
        try r.enable()
        let before = r.snapshot()
        #expect(try r.enable() == Errno.busy.ret)
        #expect(r.snapshot() == before)
        #expect(r.driver.moduleReferences == 1)
    }

    @Test func enableWithACPUOfflineIsInvalid() throws {
        let r = try Rig()
        try r.kernel.removeCPU(3)
        let before = r.snapshot()
        #expect(try r.enable() == Errno.invalidArgument.ret)
        #expect(r.snapshot() == before)
        #expect(!r.driver.enabled && !r.hv.isActive && r.driver.moduleReferences == 0)
        #expect(r.driver.rootCell == nil)
    }

    @Test func enableChecksSignatureRevisionArchitecture() throws {
        let r = try Rig()
        var sig = BuiltinConfigs.qemuX86; sig[0] = 0
        #expect(try r.tool.enable(sig) == Errno.invalidArgument.ret)
        var rev = BuiltinConfigs.qemuX86; rev[6] = 13
        #expect(try r.tool.enable(rev) == Errno.invalidArgument.ret)
        var arch = BuiltinConfigs.qemuX86; arch[5] = 2
        #expect(try r.tool.enable(arch) == Errno.invalidArgument.ret)
        #expect(try r.tool.enable(Rig.cell("tiny-demo")) == Errno.invalidArgument.ret)
        #expect(try r.tool.ioctl(.enable, rawArgument: 0x10) == Errno.badAddress.ret)
        #expect(!r.driver.enabled)
    }

    @Test func enableWithEmptyRootCPUSetIsInvalid() throws {
        let r = try Rig()
        var config = BuiltinConfigs.qemuX86
        for i in 0..<8 { config[488 + i] = 0 }
        #expect(try r.tool.enable(config) == Errno.invalidArgument.ret)
    }

    @Test(arguments: [("vmx_feature_control", Errno.noDevice), ("request_firmware", .noEntry),
                      ("request_mem_region", .invalidArgument), ("ioremap", .invalidArgument)])
    func enableFailuresRollBack(site: String, errno: Errno) throws {
        let r = try Rig(faults: ["\(site):nth=1:errno=\(errno.name)"])
        let before = r.snapshot()
        #expect(try r.enable() == errno.ret)
        #expect(r.snapshot() == before)
        #expect(r.driver.moduleReferences == 0 && !r.hv.isActive)
        #expect(try r.enable() == 0)
    }

    @Test(arguments: [("vmx_feature_control", "jailhouse: VT-x disabled by Firmware/BIOS"),
                      ("request_firmware", "jailhouse: Missing hypervisor image jailhouse-intel.bin")])
    func enableExplainsAMissingPrerequisiteInTheKernelLog(site: String, message: String) throws {
        let r = try Rig(faults: ["\(site):nth=1"])
        #expect(try r.enable() != 0)
        #expect(r.kernel.dmesg().contains { $0.contains(message) })
    }

    @Test func interruptedEnableIsEINTR() throws {
        let r = try Rig(faults: ["mutex_lock_interruptible:nth=1"])
        #expect(try r.enable() == Errno.interrupted.ret)
        #expect(!r.driver.enabled)
    }
}

@Suite struct DisableTests {
    @Test func disableDestroysCellsFirst() throws {
        let r = try Rig()
        try r.enable()
        try r.create("tiny-demo")
        try r.create("apic-demo")
        #expect(try r.disable() == 0)
        #expect(!r.driver.enabled && !r.hv.isActive)
        #expect(r.driver.cells.isEmpty && r.driver.offlinedCPUs.isEmpty)
        #expect(r.kernel.online == [0, 1, 2, 3])
        #expect(r.driver.moduleReferences == 0)
        #expect(try r.kernel.sysfs.list("/sys/devices/jailhouse/cells").isEmpty)
        #expect(try r.kernel.sysfs.read("/sys/devices/jailhouse/enabled") == "0\n")
    }

    @Test func sysfsConsoleReadsEmptyWhileDisabledWhateverTheConsoleFlag() throws {
        // jailhouse_console_dump_delta checks "enabled" before "console available".
        let r = try Rig()
        #expect(try r.kernel.sysfs.read("/sys/devices/jailhouse/console") == "")
        try r.enable()
        #expect(try r.kernel.sysfs.read("/sys/devices/jailhouse/console").hasPrefix("\nInitializing Jailhouse hypervisor v0.12 on CPU 0\n"))
        try r.disable()
        #expect(try r.kernel.sysfs.read("/sys/devices/jailhouse/console") == "")
    }

    @Test func disableNamesTheCellThatRefusedToBeDestroyed() throws {
        let r = try Rig()
        try r.enable()
        try r.createAndStartLockingApicDemo()
        #expect(try r.disable() == Errno.notPermitted.ret)
        #expect(r.kernel.dmesg().contains { $0.contains("Jailhouse: failed to destroy cell \"apic-demo\"") })
        #expect(r.driver.enabled)
    }

    @Test func disableWhenNotEnabledIsInvalid() throws {
        let r = try Rig()
        #expect(try r.disable() == Errno.invalidArgument.ret)
    }

    @Test func disableWithAnAdminOfflinedRootCPUIsBusy() throws {
        let r = try Rig()
        try r.enable()
        try r.kernel.removeCPU(1)
        #expect(try r.disable() == Errno.busy.ret)
        #expect(r.driver.enabled && r.hv.isActive)
        try r.kernel.addCPU(1)
        #expect(try r.disable() == 0)
    }

    @Test func enableDisableEnableWorks() throws {
        let r = try Rig()
        for _ in 0..<3 {
            #expect(try r.enable() == 0)
            #expect(try r.create("linux-x86-demo") == 0)
            #expect(try r.disable() == 0)
        }
        let fresh = try Rig(cpus: 4)
        #expect(r.kernel.kmallocStats.liveBytes == fresh.kernel.kmallocStats.liveBytes)
    }
}

@Suite struct HypervisorConsoleTests {
    @Test func enableTranscriptFollowsSetupC() throws {
        let r = try Rig()
        try r.enable()
        let lines = r.hv.console.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.prefix(4) == ["", "Initializing Jailhouse hypervisor v0.12 on CPU 0", "Code location: 0xfffffffff0000050",
                                    lines[3]])
        #expect(lines[3] == "Using x2APIC")
        // Early setup already holds the per-CPU areas, the config copy, the bitmaps, the
        // parking page table and root's cell and vCPU structures.
        #expect(lines[4].hasPrefix("Page pool usage after early setup: mem ") && lines[4].hasSuffix(", remap 0/131072"))
        #expect(!lines[4].contains("mem 0/"))
        #expect(lines[5] == "Initializing processors:")
        #expect(Array(lines[6...9]) == [" CPU 0... (APIC ID 0) OK", " CPU 1... (APIC ID 1) OK",
                                        " CPU 2... (APIC ID 2) OK", " CPU 3... (APIC ID 3) OK"])
        #expect(lines.filter { $0.hasPrefix("Initializing unit: ") } == [
            "Initializing unit: VT-d", "Initializing unit: IOAPIC", "Initializing unit: Cache Allocation Technology",
            "Initializing unit: PCI"])
        #expect(lines.contains("DMAR unit @0xfed90000/0x1000"))
        #expect(lines.contains("Adding PCI device 00:1f.3 to cell \"QEMU-VM\""))
        #expect(lines.contains { $0.hasPrefix("Page pool usage after late setup:") })
        #expect(lines.contains("Activating hypervisor"))
    }

    @Test func aFailingCPUInitPrintsFailed() throws {
        let r = try Rig(faults: ["hv_cpu_init:cpu=2:nth=1:errno=EIO"])
        #expect(try r.enable() == Errno.ioError.ret)
        #expect(r.hv.console.contains(" CPU 1... (APIC ID 1) OK\n CPU 2... FAILED\n"))
        #expect(!r.hv.console.contains("Activating hypervisor"))
    }
}
