import JHABI
import JHConfig
@testable import JHDriver
import JHLinux
import JHMachine
import Testing

/// A deleted cell's sysfs objects are reused by the next create: what a reader sees is
/// always the new cell, and a failed create leaves sysfs as it was.
@Suite struct CellSysfsReuseTests {
    @Test func reusedDirectoryShowsTheNewCell() throws {
        let r = try Rig()
        try r.enable()
        let cells = "/sys/devices/jailhouse/cells"
        #expect(try r.create("tiny-demo") == 0)
        let first = try r.kernel.sysfs.walk(cells + "/1")
        #expect(try r.destroy("tiny-demo") == 0)
        #expect(!r.kernel.sysfs.exists(cells + "/1"))
        #expect(try r.kernel.sysfs.list(cells + "/0/statistics").contains("cpu2"))
        #expect(try r.create("apic-demo") == 0)
        #expect(try r.kernel.sysfs.read(cells + "/1/name") == "apic-demo\n")
        #expect(try r.kernel.sysfs.read(cells + "/1/cpus_assigned_list") == "3\n")
        #expect(try r.kernel.sysfs.read(cells + "/1/state") == "shut down\n")
        let stats = try r.kernel.sysfs.list(cells + "/1/statistics")
        #expect(stats.contains("cpu3") && !stats.contains("cpu2"))
        // Same shape as a fresh directory, apart from the CPU.
        #expect(try r.kernel.sysfs.walk(cells + "/1").map { $0.replacingOccurrences(of: "cpu3", with: "cpu2") } == first)
        #expect(try r.create("tiny-demo") == 0)
        #expect(try r.kernel.sysfs.read(cells + "/2/name") == "tiny-demo\n")
        #expect(try r.kernel.sysfs.read(cells + "/1/name") == "apic-demo\n")
    }

    @Test func failedSysfsCreateLeavesNoDirectoryAndTheNextCreateWorks() throws {
        for profile in [Profile.fixed] {
            let r = try Rig(profile: profile)
            try r.enable()
            #expect(try r.create("tiny-demo") == 0)
            #expect(try r.destroy("tiny-demo") == 0)
            for nth in 1 ... 4 {
                let before = r.snapshot()
                try r.inject("sysfs_create:nth=\(nth):errno=ENOMEM")
                #expect(try r.tool.cellCreate(Rig.cell("tiny-demo")) == Errno.noMemory.ret)
                #expect(r.snapshot() == before)
                #expect(!r.kernel.sysfs.exists("/sys/devices/jailhouse/cells/1"))
                r.machine.faults = FaultInjector()
            }
            #expect(try r.create("tiny-demo") == 0)
            #expect(try r.kernel.sysfs.read("/sys/devices/jailhouse/cells/1/name") == "tiny-demo\n")
        }
    }
}
