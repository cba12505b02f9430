import JHABI
import JHConfig
@testable import JHDriver
import JHHypervisor
import JHLinux
import JHMachine
import Testing

/// The remaining errno paths of each ioctl (jailhouse-behaviour.md §8 item 13), each
/// asserting that nothing changed.
@Suite struct ErrnoPathTests {
    @Test func enableFaultsWhenTheCPUBitmapIsUnreadable() throws {
        let r = try Rig()
        let before = r.snapshot()
        let address = r.kernel.mapUser(r.tool.pid, Array(BuiltinConfigs.qemuX86.prefix(ConfigFormat.systemHeaderSize)))
        #expect(r.checked(try r.tool.ioctl(.enable, rawArgument: address)) == Errno.badAddress.ret)
        #expect(r.snapshot() == before)
    }

    @Test func enableFaultsWhenTheWholeConfigIsUnreadable() throws {
        let r = try Rig()
        let before = r.snapshot()
        let address = r.kernel.mapUser(r.tool.pid, Array(BuiltinConfigs.qemuX86.prefix(ConfigFormat.systemHeaderSize + 8)))
        #expect(r.checked(try r.tool.ioctl(.enable, rawArgument: address)) == Errno.badAddress.ret)
        #expect(r.snapshot() == before)
        #expect(r.driver.hypervisorWindow == nil && r.driver.moduleReferences == 0)
    }

    @Test func disableInterruptedIsEINTR() throws {
        let r = try Rig()
        try r.enable()
        try r.inject("mutex_lock_interruptible:nth=1")
        let before = r.snapshot()
        #expect(try r.disable() == Errno.interrupted.ret)
        #expect(r.snapshot() == before)
    }

    @Test func disableStopsAtTheFirstRefusingCell() throws {
        let r = try Rig()
        try r.enable()
        try r.create("tiny-demo")
        try r.createAndStartLockingApicDemo()
        // tiny-demo comes first, and its destroy is vetoed because another cell
        // (apic-demo) holds RUNNING_LOCKED: disable stops there.
        let before = r.snapshot()
        #expect(try r.disable() == Errno.notPermitted.ret)
        #expect(r.driver.enabled)
        #expect(r.snapshot() == before)
    }

    @Test func startOfARunningLockedCellIsRefused() throws {
        let r = try Rig()
        try r.enable()
        try r.createAndStartLockingApicDemo()
        let before = r.snapshot()
        #expect(try r.start("apic-demo") == Errno.notPermitted.ret)
        #expect(r.snapshot() == before)
    }

    @Test(arguments: ["start", "destroy", "load"])
    func managementInterruptedIsEINTR(command: String) throws {
        let r = try Rig()
        try r.enable()
        try r.create("tiny-demo")
        try r.inject("mutex_lock_interruptible:nth=1")
        let before = r.snapshot()
        let ret: Int64
        switch command {
        case "start": ret = try r.start("tiny-demo")
        case "destroy": ret = try r.destroy("tiny-demo")
        default: ret = try r.shutdown("tiny-demo")
        }
        #expect(ret == Errno.interrupted.ret)
        #expect(r.snapshot() == before)
    }

    @Test func loadOfARunningLockedCellIsRefusedBySetLoadable() throws {
        let r = try Rig()
        try r.enable()
        try r.createAndStartLockingApicDemo()
        #expect(try r.tool.cellLoad(.name("apic-demo"), images: [.init(string: "x")]) == Errno.notPermitted.ret)
    }

    @Test func loadFaultsOnAnUnreadableImageDescriptorOrSource() throws {
        let r = try Rig()
        try r.enable()
        try r.create("tiny-demo")
        // Claims one image but maps only the 48-byte header.
        let header = IoctlArgs.cellLoad(cellID: IoctlArgs.cellID(id: 1), images: []).enumerated().map { i, b in i == 40 ? 1 : b }
        let address = r.kernel.mapUser(r.tool.pid, header)
        #expect(r.checked(try r.tool.ioctl(.cellLoad, rawArgument: address)) == Errno.badAddress.ret)
        // A descriptor whose source is not mapped.
        let bad = IoctlArgs.cellLoad(cellID: IoctlArgs.cellID(id: 1),
                                     images: [.init(sourceAddress: 0x1000, size: 4, targetAddress: 0)])
        #expect(r.checked(try r.tool.ioctl(.cellLoad, argument: bad)) == Errno.badAddress.ret)
    }

    @Test func hypervisorErrorsPassThroughCreate() throws {
        // E2BIG: a config whose page span exceeds the 16-page temporary mapping.
        let r = try Rig()
        try r.enable()
        var big = Rig.cell("tiny-demo")
        let extra = 2100
        let count = UInt32(2 + extra).littleEndian
        withUnsafeBytes(of: count) { for i in 0..<4 { big[52 + i] = $0[i] } }
        // Insert the extra (zero-sized) regions right after the two real ones.
        let regionsEnd = 132 + 8 + 64
        big.insert(contentsOf: [UInt8](repeating: 0, count: 32 * extra), at: regionsEnd)
        let before = r.snapshot()
        #expect(r.checked(try r.tool.cellCreate(big)) == Errno.tooBig.ret)
        #expect(r.snapshot() == before)
        // ENOMEM from an exhausted pool, injected.
        try r.inject("hv_page_alloc:nth=1:errno=ENOMEM")
        #expect(try r.create("tiny-demo") == Errno.noMemory.ret)
        #expect(r.snapshot() == before)
        // ERANGE from a unit.
        try r.inject("hv_unit_cell_init:nth=1:errno=ERANGE")
        #expect(try r.create("tiny-demo") == Errno.outOfRange.ret)
        #expect(r.snapshot() == before)
    }

    @Test func unresponsiveInmateWithNoTimeoutHangsTheCallAndIsReported() throws {
        let r = try Rig()
        try r.enable()
        try r.create("apic-demo")
        r.hv.setInmate(.unresponsive, forCell: 1)
        try r.start("apic-demo")
        #expect(throws: SimulationHang.self) { try r.tool.cellDestroy(.name("apic-demo")) }
    }

    @Test func statisticsFollowTheirCPU() throws {
        let r = try Rig()
        try r.enable()
        try r.create("tiny-demo")
        try r.start("tiny-demo")
        let base = "/sys/devices/jailhouse/cells/1/statistics"
        #expect(try r.kernel.sysfs.list(base).contains("cpu2"))
        let total = try Int(r.kernel.sysfs.read(base + "/vmexits_total").dropLast()) ?? -1
        let perCPU = try Int(r.kernel.sysfs.read(base + "/cpu2/vmexits_total").dropLast()) ?? -2
        #expect(total == perCPU && total >= 0)
        try r.destroy("tiny-demo")
        #expect(try r.kernel.sysfs.list("/sys/devices/jailhouse/cells/0/statistics").contains("cpu2"))
        #expect(try r.kernel.sysfs.read("/sys/devices/jailhouse/cells/0/cpus_assigned") == "f\n")
    }
}
