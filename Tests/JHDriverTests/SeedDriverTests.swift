import JHABI
import JHConfig
@testable import JHDriver
import JHHypervisor
import JHLinux
import JHMachine
import Testing

/// The seed's driver (Linux 5.6, before 15169df2 and 79304da4) next to today's: the
/// exported `cpu_down`/`cpu_up` instead of `remove_cpu`/`add_cpu`, the sysfs `online` file
/// that goes stale, and no architecture check.
@Suite struct SeedDriverTests {
    /// The Linux-layer ops of the hotplug calls the driver made (begin events only).
    static func hotplugCalls(_ r: Rig) -> [String] {
        r.machine.trace.events.filter {
            $0.layer == .linux && $0.phase == .begin
                && ($0.op == "remove_cpu" || $0.op == "add_cpu"
                    || $0.kind == LinuxTrace.cpuDownExported || $0.kind == LinuxTrace.cpuUpExported)
        }.map { "\($0.op)(\($0.field("cpu") ?? "?"))" }
    }

    @Test func createAndDestroyCallCPUDownAndCPUUpOnLinux5_6() throws {
        let old = try Rig(kernel: .linux5_6)
        try old.enable()
        #expect(try old.create("tiny-demo") == 0)
        #expect(try old.destroy("tiny-demo") == 0)
        #expect(Self.hotplugCalls(old) == ["cpu_down(2)", "cpu_up(2)"])
        // Driver-side kinds say cpu_up too.
        #expect(old.machine.trace.events.contains { $0.kind == DriverTrace.cpuUp })
        #expect(!old.machine.trace.events.contains { $0.kind == DriverTrace.addCPU })

        let now = try Rig()
        try now.enable()
        #expect(try now.create("tiny-demo") == 0)
        #expect(try now.destroy("tiny-demo") == 0)
        #expect(Self.hotplugCalls(now) == ["remove_cpu(2)", "add_cpu(2)"])
        #expect(now.machine.trace.events.contains { $0.kind == DriverTrace.addCPU })
    }

    @Test func theOnlineFileGoesStaleOnlyOnLinux5_6() throws {
        for kernel in KernelVersion.allCases {
            let r = try Rig(kernel: kernel)
            try r.enable()
            #expect(try r.create("tiny-demo") == 0)
            #expect(!r.kernel.cpuOnline(2), "the cell's CPU is offline in cpu_online_mask on both")
            let file = try r.kernel.sysfs.read("/sys/devices/system/cpu/cpu2/online")
            #expect(file == (kernel == .linux5_6 ? "1\n" : "0\n"))
            #expect(r.kernel.onlineFile(2) == (kernel == .linux5_6))
            #expect(try r.destroy("tiny-demo") == 0)
            #expect(try r.kernel.sysfs.read("/sys/devices/system/cpu/cpu2/online") == "1\n")
        }
    }

    /// With the stale file, the admin's `echo 1 > online` on a cell's CPU is a silent
    /// no-op (device_online sees a device that is "online"); today it runs cpu_up, whose
    /// INIT/SIPI the hypervisor swallows, and fails with EIO.
    @Test func anAdminOnlineOfACellsCPUSucceedsSilentlyOnLinux5_6() throws {
        let old = try Rig(kernel: .linux5_6)
        try old.enable()
        try old.create("tiny-demo")
        try old.kernel.sysfs.write("/sys/devices/system/cpu/cpu2/online", "1")
        #expect(!old.kernel.cpuOnline(2), "the CPU stays with the cell")
        #expect(old.box.invariantViolations().isEmpty)

        let now = try Rig()
        try now.enable()
        try now.create("tiny-demo")
        #expect(throws: Errno.ioError) { try now.kernel.sysfs.write("/sys/devices/system/cpu/cpu2/online", "1") }
    }

    /// The upstream create rollback (quirk 3) brings an admin-offlined CPU back with the
    /// exported cpu_up on 5.6, so its device keeps saying offline while it runs.
    @Test func theRollbackLeavesTheOtherStaleFileOnLinux5_6() throws {
        for kernel in KernelVersion.allCases {
            let r = try Rig(kernel: kernel)
            try r.enable()
            try r.kernel.sysfs.write("/sys/devices/system/cpu/cpu2/online", "0")
            try r.inject("cpu_down:cpu=3:nth=1:errno=EBUSY")
            #expect(try r.create("smp-demo") == Errno.busy.ret)
            #expect(r.kernel.cpuOnline(2))
            #expect(r.kernel.onlineFile(2) == (kernel == .current), "5.6 leaves cpu2/online at 0")
            let calls = Self.hotplugCalls(r)
            if kernel == .linux5_6 {
                #expect(calls.contains("cpu_down(3)") && calls.contains("cpu_up(2)"))
                #expect(r.machine.trace.events.contains { $0.kind == DriverTrace.cpuDownFailed })
                #expect(r.machine.trace.events.contains { $0.kind == DriverTrace.cpuUpRollback })
            } else {
                #expect(calls.contains("remove_cpu(3)") && calls.contains("add_cpu(2)"))
            }
        }
    }

    @Test func theSeedsDriverHasNoArchitectureCheck() throws {
        var config = Rig.cell("tiny-demo")
        config[5] = Architecture.arm64.rawValue
        let old = try Rig(kernel: .linux5_6)
        try old.enable()
        #expect(try old.tool.cellCreate(config) == 0)
        #expect(old.driver.cells.contains { $0.name == "tiny-demo" }, "the foreign config became a cell")
        #expect(!old.kernel.dmesg().contains { $0.contains("architecture mismatch") })

        for profile in [Profile.upstream, .fixed] {
            let now = try Rig(profile: profile)
            try now.enable()
            _ = try now.tool.cellCreate(config)
            #expect(!now.driver.cells.contains { $0.name == "tiny-demo" })
            #expect(now.kernel.dmesg().contains { $0.contains("Configuration architecture mismatch") })
        }

        var system = BuiltinConfigs.qemuX86
        system[5] = Architecture.arm64.rawValue
        let oldBox = try Rig(kernel: .linux5_6)
        #expect(try oldBox.tool.enable(system) == 0, "enable takes a foreign system config too")
        let nowBox = try Rig()
        #expect(try nowBox.tool.enable(system) == Errno.invalidArgument.ret)
    }

    @Test func disableBringsCellCPUsBackWithCPUUpOnLinux5_6() throws {
        let r = try Rig(kernel: .linux5_6)
        try r.enable()
        try r.create("tiny-demo")
        #expect(try r.disable() == 0)
        #expect(r.kernel.online == [0, 1, 2, 3])
        #expect(Self.hotplugCalls(r) == ["cpu_down(2)", "cpu_up(2)"])
    }

    @Test func aFailedCPUUpOnDestroyIsOnlyLoggedOnLinux5_6Too() throws {
        let r = try Rig(kernel: .linux5_6)
        try r.enable()
        try r.create("tiny-demo")
        try r.inject("cpu_up:cpu=2:nth=1:errno=EIO")
        #expect(try r.destroy("tiny-demo") == 0)
        #expect(!r.kernel.cpuOnline(2))
        #expect(r.kernel.dmesg().contains { $0.contains("failed to bring CPU 2 back online") })
    }
}
