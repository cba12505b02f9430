import JHABI
import JHConfig
@testable import JHDriver
import JHHypervisor
import JHLinux
import JHMachine
import Testing

@Suite struct StartDestroyTests {
    @Test func startRunsTheCellAndDestroyGivesCPUsBack() throws {
        let r = try Rig()
        try r.enable()
        try r.create("tiny-demo")
        #expect(try r.start("tiny-demo") == 0)
        #expect(try r.kernel.sysfs.read("/sys/devices/jailhouse/cells/1/state") == "running\n")
        #expect(try r.destroy("tiny-demo") == 0)
        #expect(r.kernel.online == [0, 1, 2, 3])
        #expect(r.driver.rootCell?.cpusAssigned == [0, 1, 2, 3])
        #expect(r.hv.owner(of: 2) == 0)
        #expect(try r.kernel.sysfs.list("/sys/devices/jailhouse/cells/0/statistics").contains("cpu2"))
    }

    @Test func startAndDestroyByID() throws {
        let r = try Rig()
        try r.enable()
        try r.create("tiny-demo")
        #expect(try r.tool.cellStart(.id(1)) == 0)
        #expect(try r.tool.cellDestroy(.id(1)) == 0)
    }

    @Test func unknownCellIsNoEntry() throws {
        let r = try Rig()
        try r.enable()
        let before = r.snapshot()
        #expect(try r.start("nope") == Errno.noEntry.ret)
        #expect(try r.destroy("nope") == Errno.noEntry.ret)
        #expect(try r.tool.cellStart(.id(7)) == Errno.noEntry.ret)
        #expect(try r.shutdown("nope") == Errno.noEntry.ret)
        #expect(r.snapshot() == before)
    }

    @Test func rootCellCannotBeManaged() throws {
        let r = try Rig()
        try r.enable()
        let before = r.snapshot()
        #expect(try r.tool.cellStart(.id(0)) == Errno.invalidArgument.ret)
        #expect(try r.tool.cellDestroy(.id(0)) == Errno.invalidArgument.ret)
        #expect(try r.tool.cellLoad(.id(0), images: []) == Errno.invalidArgument.ret)
        #expect(r.snapshot() == before)
    }

    @Test func managementBeforeEnableIsInvalid() throws {
        let r = try Rig()
        #expect(try r.start("tiny-demo") == Errno.invalidArgument.ret)
        #expect(try r.destroy("tiny-demo") == Errno.invalidArgument.ret)
        #expect(try r.shutdown("tiny-demo") == Errno.invalidArgument.ret)
    }

    @Test func badCellIDPointerFaults() throws {
        let r = try Rig()
        try r.enable()
        #expect(try r.tool.ioctl(.cellStart, rawArgument: 8) == Errno.badAddress.ret)
        #expect(try r.tool.ioctl(.cellDestroy, rawArgument: 8) == Errno.badAddress.ret)
        #expect(try r.tool.ioctl(.cellLoad, rawArgument: 8) == Errno.badAddress.ret)
    }

    @Test func lockingInmateRefusesTheFirstDestroy() throws {
        let r = try Rig()
        try r.enable()
        #expect(try r.createAndStartLockingApicDemo() == 0)
        #expect(try r.kernel.sysfs.read("/sys/devices/jailhouse/cells/1/state") == "running/locked\n")
        let before = r.snapshot()
        #expect(try r.destroy("apic-demo") == Errno.notPermitted.ret)
        #expect(r.snapshot() == before)
        #expect(try r.destroy("apic-demo") == 0, "the inmate approves the second request")
        #expect(r.kernel.online == [0, 1, 2, 3])
    }

    @Test func lockedCellVetoesOtherCreates() throws {
        let r = try Rig()
        try r.enable()
        try r.createAndStartLockingApicDemo()
        let before = r.snapshot()
        #expect(try r.create("tiny-demo") == Errno.notPermitted.ret)
        #expect(r.snapshot() == before)
    }

    @Test func unknownIoctlIsEINVALUpstreamAndENOTTYFixed() throws {
        let up = try Rig()
        #expect(try up.tool.ioctl(IoctlCommand(rawValue: 0x4008_0042), rawArgument: 0) == Errno.invalidArgument.ret)
        let fixed = try Rig(profile: .fixed)
        #expect(try fixed.tool.ioctl(IoctlCommand(rawValue: 0x4008_0042), rawArgument: 0) == Errno.notTTY.ret)
    }
}

@Suite struct LoadTests {
    @Test func loadWritesTheImageIntoCellRAM() throws {
        let r = try Rig()
        try r.enable()
        try r.create("tiny-demo")
        let payload: [UInt8] = [0xf4, 0xeb, 0xfd, 0x90]
        #expect(try r.tool.cellLoad(.name("tiny-demo"), images: [.init(bytes: payload, target: 0)]) == 0)
        #expect(r.machine.memory.read(0x3ee0_0000, count: 4) == payload)
        #expect(try r.kernel.sysfs.read("/sys/devices/jailhouse/cells/1/state") == "shut down\n")
    }

    @Test func loadOutsideAWritableLoadableRegionIsInvalid() throws {
        let r = try Rig()
        try r.enable()
        try r.create("tiny-demo")
        // The comm region at 0x100000 is neither LOADABLE nor a place for images.
        #expect(try r.tool.cellLoad(.name("tiny-demo"), images: [.init(bytes: [1], target: 0x10_0000)]) == Errno.invalidArgument.ret)
        #expect(try r.tool.cellLoad(.name("tiny-demo"), images: [.init(bytes: [1], target: 0x5000_0000)]) == Errno.invalidArgument.ret)
        // An image that does not fit the region.
        let big = [UInt8](repeating: 1, count: 0x10_0001)
        #expect(try r.tool.cellLoad(.name("tiny-demo"), images: [.init(bytes: big, target: 0)]) == Errno.invalidArgument.ret)
    }

    @Test func loadHasNoRollback() throws {
        let r = try Rig()
        try r.enable()
        try r.create("tiny-demo")
        let ok = JailhouseTool.Image(bytes: [7, 7], target: 0x10)
        let bad = JailhouseTool.Image(bytes: [9], target: 0x7000_0000)
        #expect(try r.tool.cellLoad(.name("tiny-demo"), images: [ok, bad]) == Errno.invalidArgument.ret)
        #expect(r.machine.memory.read(0x3ee0_0010, count: 2) == [7, 7])
    }

    @Test func zeroSizedImagesAreSkipped() throws {
        let r = try Rig()
        try r.enable()
        try r.create("tiny-demo")
        #expect(try r.tool.cellLoad(.name("tiny-demo"), images: [.init(bytes: [], target: 0x7000_0000)]) == 0)
    }

    @Test func mapFailureIsBusy() throws {
        let r = try Rig()
        try r.enable()
        try r.create("tiny-demo")
        try r.inject("ioremap:nth=1")
        #expect(try r.tool.cellLoad(.name("tiny-demo"), images: [.init(string: "hi")]) == Errno.busy.ret)
    }
}

@Suite struct CredentialTests {
    @Test func processWithoutSysAdminGetsEPERM() throws {
        let r = try Rig()
        let user = JailhouseTool(box: r.box, name: "student", credentials: try Credentials(text: "="))
        #expect(try user.enable(BuiltinConfigs.qemuX86) == Errno.notPermitted.ret)
        #expect(!r.driver.enabled)
        let admin = JailhouseTool(box: r.box, name: "admin", credentials: try Credentials(text: "cap_sys_admin=ep"))
        #expect(try admin.enable(BuiltinConfigs.qemuX86) == 0)
    }

    @Test func libcapParsesAndPrintsCapabilitySets() throws {
        #expect(try Credentials(text: "cap_sys_admin=ep").hasSysAdmin)
        #expect(try !Credentials(text: "cap_sys_admin=p").hasSysAdmin)
        #expect(try !Credentials(text: "cap_net_admin=eip").hasSysAdmin)
        #expect(try Credentials(text: "all=ep cap_net_raw-e").hasSysAdmin)
        #expect(try Credentials(text: "=").text == "=")
        #expect(throws: CredentialsError.self) { try Credentials(text: "cap_no_such_thing=ep") }
    }

    @Test func cellIDArgumentsParseLikeTheRealTool() {
        #expect(JailhouseTool.CellRef(argument: "2") == .id(2))
        #expect(JailhouseTool.CellRef(argument: "0x10") == .id(16))
        #expect(JailhouseTool.CellRef(argument: "010") == .id(8))
        #expect(JailhouseTool.CellRef(argument: "-1") == .name("-1"))
        #expect(JailhouseTool.CellRef(argument: "tiny-demo") == .name("tiny-demo"))
        #expect(JailhouseTool.CellRef(argument: "7", forceName: true) == .name("7"))
        #expect(JailhouseTool.CellRef(argument: String(repeating: "n", count: 40)) == .name(String(repeating: "n", count: 31)))
        // The sign test runs on the stored __s32, after the wrap; overflow is a name.
        #expect(JailhouseTool.CellRef(argument: "4294967296") == .id(0))
        #expect(JailhouseTool.CellRef(argument: "2147483648") == .name("2147483648"))
        #expect(JailhouseTool.CellRef(argument: "4294967295") == .name("4294967295"))
        #expect(JailhouseTool.CellRef(argument: "99999999999999999999") == .name("99999999999999999999"))
        #expect(JailhouseTool.CellRef(argument: "") == .id(0))
    }
}
