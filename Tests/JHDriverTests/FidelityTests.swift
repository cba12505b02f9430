import JHABI
import JHConfig
@testable import JHDriver
import JHHypervisor
import JHLinux
import JHMachine
import Testing

/// Driver behaviour of upstream e57d1eff that round two of fidelity added: the max_cpus
/// hang, clock rates from Linux, vmalloc(0), and the kernel oopses of quirks 9 and 15.
@Suite struct DriverFidelityTests {
    static func system(_ edit: (inout SystemConfig) -> Void) throws -> [UInt8] {
        var s = try SystemConfig.decode(BuiltinConfigs.qemuX86)
        edit(&s)
        return s.encode()
    }

    @Test func moreOnlineCPUsThanMaxCPUsHangsEnable() throws {
        // The root set 0-1 gives max_cpus = 2; CPUs 2-3 are online too.
        let r = try Rig()
        let config = try Self.system { $0.rootCell.cpus = [0, 1] }
        #expect(throws: SimulationHang.self) { try r.tool.enable(config) }
        do {
            _ = try r.tool.enable(config)
        } catch {
            #expect(error.reason.contains("max_cpus (2)"))
            #expect(error.cpuStatus.count == 4, "every vCPU's state is reported")
        }
    }

    @Test func zeroClockRatesAreFilledFromLinuxAndReachTheCommRegion() throws {
        let r = try Rig()
        #expect(try r.enable() == 0)
        #expect(try r.create("tiny-demo") == 0)
        #expect(try r.start("tiny-demo") == 0)
        let id = r.driver.cells.last!.id.rawValue
        let comm = r.hv.commPageAddress(ofCell: id)!
        #expect(r.machine.memory.readU32(comm + 68) == r.kernel.tscKHz)
        #expect(r.machine.memory.readU32(comm + 72) == r.kernel.lapicTimerPeriod / (1000 / Kernel.hz))
        // A config that names its rates keeps them.
        let r2 = try Rig()
        let own = try Self.system { $0.platformInfo.x86.tscKHz = 1234; $0.platformInfo.x86.apicKHz = 567 }
        #expect(try r2.tool.enable(own) == 0)
        #expect(try r2.create("tiny-demo") == 0)
        #expect(try r2.start("tiny-demo") == 0)
        let comm2 = r2.hv.commPageAddress(ofCell: r2.driver.cells.last!.id.rawValue)!
        #expect(r2.machine.memory.readU32(comm2 + 68) == 1234 && r2.machine.memory.readU32(comm2 + 72) == 567)
    }

    @Test func aCellWithoutMemoryRegionsIsENOMEMBeforeAnyCPUIsTouched() throws {
        let r = try Rig()
        #expect(try r.enable() == 0)
        var c = try CellConfig.decode(Rig.cell("tiny-demo"))
        c.memoryRegions = []
        let before = r.snapshot()
        #expect(try r.tool.cellCreate(c.encode()) == Errno.noMemory.ret)
        #expect(r.snapshot() == before)
        #expect(!r.machine.trace.events.contains { $0.op == "cpu_down" || $0.op == "remove_cpu" })
    }

    /// Quirk 15: the failed root setup (vmalloc(0) of a root without regions) leaves
    /// root_cell as ERR_PTR; the next enable oopses. Fixed: the next enable works.
    @Test(arguments: [Profile.upstream, .fixed])
    func aFailedRootSetupOopsesTheNextEnableUpstream(profile: Profile) throws {
        let r = try Rig(profile: profile)
        let noRegions = try Self.system { $0.rootCell.memoryRegions = [] }
        #expect(try r.tool.enable(noRegions) == Errno.noMemory.ret)
        if profile == .upstream {
            do {
                _ = try r.tool.enable(BuiltinConfigs.qemuX86)
                Issue.record("enable returned")
            } catch {
                #expect(error.oops?.quirk == .prepareRootLeavesErrPtr)
            }
            #expect(r.kernel.oops != nil)
            #expect(r.kernel.dmesg().contains { $0.contains("Oops: 0000 [#1]") })
            // Every later command blocks on the lock the killed process held.
            #expect(throws: SimulationHang.self) { try r.tool.disable() }
        } else {
            #expect(try r.enable() == 0)
            #expect(r.kernel.oops == nil)
        }
    }

    /// Quirk 9: a failing `statistics` kobject is released as a cell; a failing root
    /// `cpuN` object is freed twice.
    @Test(arguments: [Profile.upstream, .fixed], ["statistics", "statistics/cpu1"])
    func aSysfsStatisticsFailureOopsesUpstream(profile: Profile, object: String) throws {
        let r = try Rig(profile: profile)
        let enable = object == "statistics/cpu1"
        if !enable { #expect(try r.enable() == 0) }
        let id = enable ? 0 : 1
        try r.inject("sysfs_create:state=/sys/devices/jailhouse/cells/\(id)/\(object):nth=1:errno=ENOMEM")
        let run: () throws(SimulationHang) -> Int64 = { () throws(SimulationHang) -> Int64 in
            enable ? try r.tool.enable(BuiltinConfigs.qemuX86) : try r.tool.cellCreate(Rig.cell("tiny-demo"))
        }
        if profile == .upstream {
            do {
                _ = try run()
                Issue.record("the command returned")
            } catch {
                #expect(error.oops?.quirk == .sysfsErrorPathBadRelease)
            }
        } else {
            #expect(try run() == Errno.noMemory.ret)
            #expect(r.kernel.oops == nil)
            #expect((try? r.kernel.sysfs.list(JailhouseDriver.cellsDir)) == (enable ? [] : ["0"]))
        }
    }

    /// Quirk 16: a virtual PCI host on x86 without CONFIG_OF_OVERLAY only warns.
    @Test(arguments: [Profile.upstream, .fixed])
    func aVirtualPCIHostAddsNoRootIVSHMEMDevicesUpstream(profile: Profile) throws {
        let r = try Rig(profile: profile)
        let virt = try Self.system { $0.platformInfo.pciIsVirtual = 1 }
        #expect(try r.tool.enable(virt) == 0)
        let ivshmem = r.kernel.pci.lookup(domain: 0, bdf: 0x0f << 3)
        if profile == .upstream {
            #expect(ivshmem == nil)
            #expect(r.kernel.dmesg().contains { $0.contains("jailhouse: failed to add virtual host controller") })
        } else {
            #expect(ivshmem != nil)
        }
    }

    /// Acceptance: the fixtures made from upstream's e1000-demo.c and ioapic-demo.c go
    /// through enable/create/start/destroy on qemu-x86 with upstream's outcomes.
    @Test func e1000AndIOAPICDemosRunTheirLifecycleAsUpstream() throws {
        let r = try Rig()
        #expect(try r.enable() == 0)
        let pool = r.hv.poolPages.used
        // 00:19.0 is in neither the root config nor Linux: the hypervisor adds it anyway.
        #expect(try r.create("e1000-demo") == 0)
        let e1000 = r.driver.cells.last!.id.rawValue
        #expect(r.hv.pciOwners(bdf: 0x19 << 3) == [e1000])
        #expect(r.hv.console.contains("Adding PCI device 00:19.0 to cell \"e1000-demo\""))
        #expect(try r.start("e1000-demo") == 0)
        #expect(try r.destroy("e1000-demo") == 0)
        #expect(r.hv.console.contains("Removing PCI device 00:19.0 from cell \"e1000-demo\""))
        #expect(r.hv.pciOwners(bdf: 0x19 << 3).isEmpty)
        #expect(r.hv.poolPages.used == pool)
        // ioapic-demo takes pin 9; its own irqchip id gets a remapping region that stays.
        #expect(r.hv.rootIOAPICPins(0xfec0_0000)?[0] == 0xff_ffff)
        #expect(try r.create("ioapic-demo") == 0)
        #expect(r.hv.rootIOAPICPins(0xfec0_0000)?[0] == 0xff_fdff)
        #expect(r.hv.console.contains("Reserving 24 interrupt(s) for device ff:00.1"))
        #expect(try r.start("ioapic-demo") == 0)
        #expect(try r.destroy("ioapic-demo") == 0)
        #expect(r.hv.rootIOAPICPins(0xfec0_0000)?[0] == 0xff_ffff)
        #expect(r.hv.poolPages.used == pool)
        #expect(try r.disable() == 0)
    }
}
