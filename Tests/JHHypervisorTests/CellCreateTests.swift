import Testing
import JHABI
import JHMachine
@testable import JHHypervisor

@Suite struct CellCreateTests {
    @Test func enableGivesEveryRootCPUToRoot() throws {
        let rig = try Rig()
        #expect(rig.hv.isActive)
        #expect((0..<4).map { rig.hv.owner(of: $0) } == [0, 0, 0, 0])
        #expect((0..<4).allSatisfy { rig.hv.cpuState($0) == .runningRoot })
        #expect(rig.hv.memoryMap.maps(0, 0x3ee0_0000, 0x10_0000))
        #expect(rig.hv.memoryMap.cells(at: 0x3a00_0000).isEmpty, "the hypervisor window is not root's")
        #expect(rig.hv.memoryMap.cells(at: 0xfed0_0000).isEmpty, "sub-page regions are not page-mapped")
        #expect(rig.hv.rootPIO.allows(0x3f8))
        #expect(rig.ops("owner").count == 4)
    }

    @Test func enableNeedsExactlyTheRootSet() throws {
        let m = try Machine(cpuCount: 4, seed: 1, executor: .inline)
        let hv = Hypervisor(machine: m)
        let sys = TSystem.qemu()
        let a = Rig.configAddress(sys)
        m.memory.write(a, sys.bytes())
        #expect(hv.enable(cpus: [0, 1, 2], configAddress: a, maxCPUs: 4) == [-22, -22, -22])
        var small = TSystem.qemu()
        small.root.cpus = [0, 1]
        m.memory.write(a, small.bytes())
        #expect(hv.enable(cpus: [0, 1, 2], configAddress: a, maxCPUs: 4) == [-22, -22, -22])
        #expect(!hv.isActive)
        m.memory.write(a, [0, 0, 0, 0, 0])
        #expect(hv.enable(cpus: [0, 1], configAddress: a, maxCPUs: 4) == [-22, -22], "bad signature")
    }

    @Test func enableFaultReportsTheSameErrorOnEveryCPU() throws {
        let m = try Machine(cpuCount: 4, seed: 1, executor: .inline,
                            faults: FaultInjector(rules: [FaultRule(site: HypervisorFaultSites.cpuInit, cpu: 2, errno: .ioError)]))
        let hv = Hypervisor(machine: m)
        let sys = TSystem.qemu()
        m.memory.write(Rig.configAddress(sys), sys.bytes())
        #expect(hv.enable(cpus: [0, 1, 2, 3], configAddress: Rig.configAddress(sys), maxCPUs: 4) == [-5, -5, -5, -5])
        #expect(!hv.isActive && hv.owner(of: 0) == nil)
    }

    @Test func createMovesCPUsMemoryPIOAndUnits() throws {
        let rig = try Rig()
        let used0 = rig.hv.poolPages.used
        #expect(try rig.create(.tiny()) == 0)
        #expect(rig.hv.owner(of: 2) == 1)
        #expect(rig.hv.cpuState(2) == .parked)
        #expect(rig.hv.cells.map(\.name) == ["QEMU-VM", "tiny-demo"])
        #expect(rig.hv.cells[0].cpus == [0, 1, 3])
        #expect(rig.hv.state(ofCell: 1) == .shutDown)
        #expect(rig.hv.poolPages.used > used0)
        #expect(try rig.call(.hypervisorGetInfo, 1) == Int64(rig.hv.poolPages.used))
        #expect(try rig.call(.hypervisorGetInfo, 4) == 2)
        // Memory: RAM leaves root and goes to the cell; the comm page is the cell's.
        #expect(rig.hv.memoryMap.cells(at: 0x3ee0_0000) == [1])
        #expect(rig.hv.memoryMap.cells(at: 0x3ed0_0000) == [0])
        let comm = rig.hv.commPageAddress(ofCell: 1)!
        #expect(rig.hv.memoryMap.cells(at: comm) == [1])
        #expect(comm >= 0x3a00_0000 && comm < 0x3a60_0000, "comm page lives in the hypervisor pool")
        // PIO: root lost the cell's ports.
        #expect(!rig.hv.rootPIO.allows(0x3f8) && rig.hv.rootPIO.allows(0x40))
        // Owner events for the timeline.
        #expect(rig.ops("owner").last?.detail == "cpu=2 cell=1 name=tiny-demo")
        for op in ["cell_suspend", "park", "unmap", "map", "unit_init", "cell_resume", "config_commit"] {
            #expect(!rig.ops(op).isEmpty, "missing trace op \(op)")
        }
    }

    @Test func createFromANonRootCPUIsEPERM() throws {
        let rig = try Rig()
        #expect(try rig.create(.apic()) == 0)
        #expect(try rig.call(.cellStart, 2) == 0)
        let before = rig.snapshot
        let suspensions = rig.ops("cell_suspend").count
        #expect(try rig.create(.tiny(), from: 3) == -1)
        #expect(rig.snapshot == before)
        #expect(rig.ops("cell_suspend").count == suspensions, "no suspension before the EPERM check")
    }

    @Test func aRunningLockedCellVetoesCreate() throws {
        let rig = try Rig()
        rig.hv.setInmate(.locking, forCell: 2)
        #expect(try rig.create(.apic()) == 0)
        #expect(try rig.call(.cellStart, 2) == 0)
        #expect(rig.hv.state(ofCell: 2) == .runningLocked)
        let before = rig.snapshot
        #expect(try rig.create(.tiny()) == -1)
        #expect(rig.snapshot == before)
        #expect((0..<4).filter { rig.hv.cpuState($0) == .suspended }.isEmpty, "root resumed")
    }

    @Test func aUsedNameOrIDIsEEXIST() throws {
        let rig = try Rig()
        #expect(try rig.create(.tiny()) == 0)
        let before = rig.snapshot
        var sameName = TCell.apic(id: 9); sameName.name = "tiny-demo"
        #expect(try rig.create(sameName) == -17)
        #expect(try rig.create(.apic(id: 1)) == -17)
        #expect(try rig.create(.apic(id: 0)) == -17, "root's id")
        var rootName = TCell.apic(); rootName.name = "QEMU-VM"
        #expect(try rig.create(rootName) == -17)
        #expect(rig.snapshot == before)
    }

    @Test func aConfigBeyondTheSixteenPageWindowIsE2BIG() throws {
        let rig = try Rig()
        let before = rig.snapshot
        var big = TCell.tiny()
        big.countOverride = [68: 1200] // 1200 PCI devices: 67 200 bytes
        #expect(try rig.create(big) == -7)
        // Fits by size but not with its page offset.
        var edge = TCell.tiny()
        edge.cache = []
        edge.countOverride = [52: (65536 - 132 - 8 - 12) / 32] // 2043 regions, zero past the second
        #expect(try rig.create(edge, at: 0x2000_0000) != -7)
        #expect(try rig.call(.cellDestroy, 1) == 0)
        #expect(try rig.create(edge, at: 0x2000_0f00) == -7)
        #expect(rig.snapshot == before)
    }

    @Test func failedConfigMappingIsENOMEM() throws {
        for part in ["header", "all"] {
            let rig = try Rig(faults: [FaultRule(site: HypervisorFaultSites.mapConfig, detail: part, errno: .noMemory)])
            let before = rig.snapshot
            #expect(try rig.create(.tiny()) == -12)
            #expect(rig.snapshot == before, "\(part)")
        }
    }

    @Test func anExhaustedPoolIsENOMEMAndFreesEverything() throws {
        // A window that leaves four free pages after enable. The pool starts after the
        // core image, so per-CPU areas, config copy and bitmap count as used (paging_init).
        let setup = try Rig().hv.poolPages.used
        let hvSize = Hypervisor.firmware.coreSize + UInt64(setup + 4) * 4096
        let rig = try Rig(system: .qemu(hvSize: hvSize))
        #expect(rig.hv.poolPages.size == setup + 4)
        #expect(try rig.call(.hypervisorGetInfo, 0) == Int64(setup + 4))
        let before = rig.snapshot
        #expect(try rig.create(.tiny()) == -12)
        #expect(rig.snapshot == before)
        #expect(rig.hv.poolPages.used == setup)
    }

    @Test func everyPoolAllocationFailureUnwinds() throws {
        var big = TCell.linux()
        big.cpuSetSize = 16
        for what in ["cell", "cpu_set", "mmio", "arch", "ioapic", "pci"] {
            let rig = try Rig(faults: [FaultRule(site: HypervisorFaultSites.pageAlloc, detail: what, errno: .noMemory)])
            let before = rig.snapshot
            #expect(try rig.create(big) == -12, "\(what)")
            #expect(rig.snapshot == before, "\(what)")
        }
    }

    @Test func mmioTablesFailureIsENOMEM() throws {
        let rig = try Rig(faults: [FaultRule(site: HypervisorFaultSites.mmioCellInit, errno: .noMemory)])
        let before = rig.snapshot
        var t = TCell.tiny(); t.cpuSetSize = 16
        #expect(try rig.create(t) == -12)
        #expect(rig.snapshot == before)
    }

    @Test func aCPUSetOver4096BytesIsEINVAL() throws {
        let rig = try Rig()
        let before = rig.snapshot
        var t = TCell.tiny(); t.cpuSetSize = 4097
        #expect(try rig.create(t) == -22)
        #expect(rig.snapshot == before)
        var ok = TCell.tiny(); ok.cpuSetSize = 4096
        let used = rig.hv.poolPages.used
        #expect(try rig.create(ok) == 0)
        #expect(try rig.call(.cellDestroy, 1) == 0)
        #expect(rig.hv.poolPages.used == used)
    }

    @Test func theCallersCPUInTheSetIsEBUSY() throws {
        let rig = try Rig()
        let before = rig.snapshot
        var t = TCell.tiny(); t.cpus = [0, 2]
        #expect(try rig.create(t) == -16)
        #expect(rig.snapshot == before)
    }

    @Test func aCPURootDoesNotOwnIsEBUSY() throws {
        let rig = try Rig()
        #expect(try rig.create(.tiny()) == 0)
        let before = rig.snapshot
        #expect(try rig.create(.linux()) == -16, "CPU 2 belongs to tiny-demo")
        var far = TCell.apic(); far.cpus = [3, 7]
        #expect(try rig.create(far) == -16, "CPU 7 is not a system CPU")
        #expect(rig.snapshot == before)
    }

    @Test func archCreateFailureUnwinds() throws {
        let rig = try Rig(faults: [FaultRule(site: HypervisorFaultSites.archCellCreate, errno: .noMemory)])
        let before = rig.snapshot
        #expect(try rig.create(.linux()) == -12)
        #expect(rig.snapshot == before)
    }

    @Test(arguments: ["iommu", "ioapic", "cat", "pci"])
    func aFailingUnitUnwindsTheOnesBefore(unit: String) throws {
        let rig = try Rig(faults: [FaultRule(site: HypervisorFaultSites.unitCellInit, detail: unit, errno: .noMemory)])
        let before = rig.snapshot
        let mask = rig.hv.rootCATMask, pins = rig.hv.rootIOAPICPins(0xfec0_0000)
        #expect(try rig.create(.linux()) == -12)
        #expect(rig.snapshot == before)
        #expect(rig.hv.rootCATMask == mask && rig.hv.rootIOAPICPins(0xfec0_0000) == pins)
        // The link order of hypervisor/arch/x86/Kbuild: arch units, then pci.
        let order = ["iommu", "ioapic", "cat", "pci"]
        let undone = order.prefix(order.firstIndex(of: unit)!).reversed().map { "unit=\($0) cell=3" }
        #expect(rig.ops("unit_exit").map(\.detail) == undone, "exits in reverse order")
    }

    @Test func iommuWithoutADomainIDIsERANGE() throws {
        let rig = try Rig()
        let before = rig.snapshot
        #expect(try rig.create(.tiny(id: 256)) == -34)
        #expect(rig.snapshot == before)
        #expect(try rig.create(.tiny(id: 255)) == 0)
    }

    @Test func ioapicTakesUnknownChipsAndRejectsOnlyTooManyAndPinBase() throws {
        let rig = try Rig()
        let before = rig.snapshot
        var many = TCell.linux(); many.irqchips = Array(repeating: TIrqchip(address: 0xfec0_0000, pins: [1]), count: 9)
        #expect(try rig.create(many) == -34, "more than 8 chips")
        #expect(rig.snapshot == before)
        // A chip root does not have is added (ioapic_get_or_add_phys); root's pins stay.
        var unknown = TCell.linux(); unknown.irqchips[0].address = 0xfec1_0000
        #expect(try rig.create(unknown) == 0)
        #expect(rig.hv.rootIOAPICPins(0xfec0_0000)?[0] == 0x00ff_ffff)
        #expect(rig.hv.physIOAPICs.map(\.address) == [0xfec0_0000, 0xfec1_0000])
        #expect(try rig.call(.cellDestroy, 3) == 0)
        #expect(rig.snapshot == before)
        // The cell gets its full bitmap; root loses it and gets back what its config lists.
        #expect(try rig.create(.linux()) == 0)
        #expect(rig.hv.rootIOAPICPins(0xfec0_0000)?[0] == 0x00ff_ffe7)
        #expect(try rig.call(.cellDestroy, 3) == 0)
        #expect(rig.hv.rootIOAPICPins(0xfec0_0000)?[0] == 0x00ff_ffff)
    }

    /// Quirk 14: pin_base ≠ 0 is checked after the page and earlier chips' pins are taken,
    /// and nothing unwinds them.
    @Test(arguments: [Profile.upstream, .fixed])
    func ioapicPinBaseLeaksInUpstream(profile: Profile) throws {
        let rig = try Rig(profile: profile)
        let before = rig.snapshot
        var cell = TCell.linux()
        cell.irqchips = [TIrqchip(address: 0xfec0_0000, pins: [0x18]), TIrqchip(address: 0xfec0_0000, pinBase: 24, pins: [1])]
        #expect(try rig.create(cell) == -22)
        if profile == .upstream {
            #expect(rig.hv.leakedPages == 1)
            #expect(rig.snapshot.poolUsed == before.poolUsed + 1)
            #expect(rig.hv.rootIOAPICPins(0xfec0_0000)?[0] == 0x00ff_ffe7, "pins 3-4 stay taken")
        } else {
            #expect(rig.hv.leakedPages == 0)
            #expect(rig.snapshot == before)
            #expect(rig.hv.rootIOAPICPins(0xfec0_0000)?[0] == 0x00ff_ffff)
        }
    }

    @Test func pciNeverRefusesAnUnlistedOrOwnedDevice() throws {
        let rig = try Rig()
        // 01:00.0 is not in root's list: upstream simply adds it (e1000-demo on qemu-x86).
        var absent = TCell.tiny(); absent.pci = [TPCI(type: 1, bdf: 0x0100)]
        #expect(try rig.create(absent) == 0)
        #expect(rig.hv.pciOwners(bdf: 0x0100) == [1])
        #expect(rig.hv.console.contains("Adding PCI device 01:00.0 to cell \"tiny-demo\""))
        #expect(try rig.call(.cellDestroy, 1) == 0)
        #expect(rig.hv.pciOwners(bdf: 0x0100).isEmpty, "root never had it, so nobody gets it back")
        var e1000 = TCell.tiny(); e1000.pci = [TPCI(type: 1, bdf: 0x0010)]
        #expect(try rig.create(e1000) == 0)
        #expect(rig.hv.pciOwners(bdf: 0x0010) == [1])
        #expect(rig.hv.console.contains("Removing PCI device 00:02.0 from cell \"QEMU-VM\""))
        // A device another cell holds is added again: both cells hold it.
        var other = TCell.apic(); other.pio = []; other.pci = [TPCI(type: 1, bdf: 0x0010)]
        #expect(try rig.create(other) == 0)
        #expect(rig.hv.pciOwners(bdf: 0x0010) == [1, 2])
        #expect(try rig.call(.cellDestroy, 2) == 0)
        #expect(rig.hv.pciOwners(bdf: 0x0010) == [0, 1], "destroy hands it to root although cell 1 still has it")
        #expect(try rig.call(.cellDestroy, 1) == 0)
        #expect(rig.hv.pciOwners(bdf: 0x0010) == [0])
    }

    @Test func catRunsOutOfClassesOfService() throws {
        let rig = try Rig()
        var c1 = TCell.apic(id: 1); c1.name = "c1"; c1.cpus = [1]
        #expect(try rig.create(c1) == 0)
        #expect(try rig.create(.tiny(id: 2)) == 0)
        #expect(try rig.create(.apic(id: 3)) == 0)
        let before = rig.snapshot
        // A fourth cell (no CPUs left to give it) still needs a class of service.
        var c4 = TCell.tiny(id: 4); c4.name = "c4"; c4.cpus = []; c4.memory = [TCell.comm]; c4.pio = []
        #expect(try rig.create(c4) == -16)
        #expect(rig.snapshot == before)
        c4.cache = []
        #expect(try rig.create(c4) == 0, "without cache regions no class is needed")
    }

    @Test func catRejectsABadCacheRegion() throws {
        let rig = try Rig()
        let before = rig.snapshot
        var t = TCell.tiny(); t.cache = [TCache(start: 18, size: 4)]
        #expect(try rig.create(t) == -22)
        t.cache = [TCache(start: 0, size: 2, type: 1)]
        #expect(try rig.create(t) == -22, "L3_CODE alone is not supported")
        #expect(rig.snapshot == before)
    }

    @Test(arguments: [1, 2, 3])
    func aMappingFailureDestroysTheHalfBuiltCell(nth: Int) throws {
        let rig = try Rig(faults: [FaultRule(site: HypervisorFaultSites.pagingMap, nth: nth, errno: .noMemory)])
        let before = rig.snapshot
        #expect(try rig.create(.linux()) == -12)
        #expect(rig.snapshot == before)
        #expect(rig.hv.cpuState(2) == .parked && rig.hv.cpuState(3) == .parked, "CPUs come back parked")
        #expect(!rig.ops("cell_destroy_internal").isEmpty)
    }

    @Test func anUnmapFailureFromRootDestroysTheHalfBuiltCell() throws {
        let rig = try Rig(faults: [FaultRule(site: HypervisorFaultSites.pagingUnmap, detail: "create", nth: 2, errno: .noMemory)])
        let before = rig.snapshot
        #expect(try rig.create(.linux()) == -12)
        #expect(rig.snapshot == before)
    }

    @Test func statisticsAreZeroedWhenACPUChangesOwner() throws {
        let rig = try Rig()
        for _ in 0..<3 { _ = try rig.call(.hypervisorGetInfo, 0, from: 2) }
        #expect(rig.hv.statistics(cpu: 2)[.hypercall] == 3)
        #expect(try rig.create(.tiny()) == 0)
        #expect(rig.hv.statistics(cpu: 2)[.total] == 0)
    }

    @Test func nonRootCellsMayShareMemoryAsUpstream() throws {
        // Quirk 8 stays in both profiles: no overlap check between non-root cells.
        for profile in [Profile.upstream, .fixed] {
            let rig = try Rig(profile: profile)
            #expect(try rig.create(.tiny()) == 0)
            var twin = TCell.apic(); twin.memory[0].phys = 0x3ee0_0000
            #expect(try rig.create(twin) == 0)
            #expect(rig.hv.memoryMap.cells(at: 0x3ee0_0000) == [1, 2])
        }
    }
}
