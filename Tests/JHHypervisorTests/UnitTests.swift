import Testing
import JHABI
import JHMachine
@testable import JHHypervisor

/// The x86 units as upstream e57d1eff has them: link order, CAT's contiguous root mask,
/// VT-d's refusal of boards without an Intel IOMMU, and the console they print.
@Suite struct UnitTests {
    @Test func enableConsoleFollowsSetupAndTheKbuildLinkOrder() throws {
        let rig = try Rig()
        let c = rig.hv.console
        let units = c.split(separator: "\n").filter { $0.hasPrefix("Initializing unit: ") }
        #expect(units == ["Initializing unit: VT-d", "Initializing unit: IOAPIC",
                          "Initializing unit: Cache Allocation Technology", "Initializing unit: PCI"])
        #expect(c.contains("Using x2APIC\n"))
        #expect(c.contains(" CPU 2... (APIC ID 2) OK\n"))
        #expect(c.contains("DMAR unit @0xfed90000/0x1000\n"))
        #expect(c.contains("Adding PCI device 00:02.0 to cell \"QEMU-VM\"\n"))
        #expect(c.contains("CAT: Using COS 0 with bitmask 000fffff for cell QEMU-VM\n"))
        #expect(c.contains("Reserving 24 interrupt(s) for device ff:00.0 at index 0\n"))
        // The early-setup line already counts the reserved pages, root's cell_init and
        // arch pages; the remap pool is 4 bitmap pages of 32768 bits.
        #expect(c.contains(", remap 0/131072\nInitializing processors:\n"))
        #expect(!c.contains("after early setup: mem 0/"))
    }

    @Test func xapicModeIsPrintedAndMapsTheAPICPage() throws {
        var sys = TSystem.qemu()
        sys.apicMode = 1
        let rig = try Rig(system: sys)
        #expect(rig.hv.console.contains("Using xAPIC\n"))
        #expect(rig.hv.console.contains(", remap 1/131072\nInitializing processors:\n"))
    }

    @Test(arguments: [[], [(UInt32(1), UInt64(0xfeb8_0000), UInt32(0x4000))]])
    func vtdRefusesABoardWithoutAnIntelIOMMU(units: [(UInt32, UInt64, UInt32)]) throws {
        let m = try Machine(cpuCount: 4, seed: 1, executor: .inline)
        let hv = Hypervisor(machine: m)
        var sys = TSystem.qemu()
        sys.iommus = units
        m.memory.write(Rig.configAddress(sys), sys.bytes())
        #expect(hv.enable(cpus: [0, 1, 2, 3], configAddress: Rig.configAddress(sys), maxCPUs: 4) == [-22, -22, -22, -22])
        #expect(!hv.isActive && hv.poolPages.used == 0)
        #expect(hv.console.hasSuffix("Initializing unit: VT-d\n"))
    }

    @Test func everyCellGetsOneVTdRootTablePage() throws {
        let rig = try Rig()
        let before = rig.hv.poolPages.used
        #expect(try rig.create(.tiny()) == 0)
        let cell = rig.hv.cell(1)!
        #expect(cell.allocations.filter { $0.what == "vtd_root_table" }.map(\.pages) == [1])
        #expect(rig.hv.rootCell!.allocations.contains { $0.what == "vtd_root_table" })
        #expect(try rig.call(.cellDestroy, 1) == 0)
        #expect(rig.hv.poolPages.used == before)
    }

    @Test func catKeepsRootContiguousAndGivesWaysBack() throws {
        let rig = try Rig()
        #expect(rig.hv.rootCATMask == 0xfffff)
        // tiny-demo takes way 2: root keeps 3–19 (contiguous), ways 0–1 wait in freed_mask.
        #expect(try rig.create(.tiny()) == 0)
        #expect(rig.hv.rootCATMask == 0xffff8)
        #expect(rig.hv.console.contains("CAT: Shrunk root cell bitmask to 000ffff8\n"))
        #expect(rig.hv.console.contains("CAT: Using COS 1 with bitmask 00000004 for cell tiny-demo\n"))
        #expect(try rig.call(.cellDestroy, 1) == 0)
        #expect(rig.hv.rootCATMask == 0xfffff)
        #expect(rig.hv.console.contains("CAT: Extended root cell bitmask to 000fffff\n"))
        // A cell without cache regions shares COS 0 and root's mask, and says so.
        var plain = TCell.tiny(); plain.cache = []
        #expect(try rig.create(plain) == 0)
        #expect(rig.hv.console.hasSuffix("CAT: Using COS 0 with bitmask 000fffff for cell tiny-demo\n"
                                         + "Created cell \"tiny-demo\"\n"
                                         + rig.hv.console.split(separator: "\n").last! + "\n"))
    }

    @Test func catRefusesTwoRegionsAnEmptyRootAndChecksCOSFirst() throws {
        let rig = try Rig()
        let before = rig.snapshot
        var two = TCell.tiny(); two.cache = [TCache(start: 2, size: 1), TCache(start: 4, size: 1)]
        #expect(try rig.create(two) == -22, "num_cache_regions != 1")
        var all = TCell.tiny(); all.cache = [TCache(start: 0, size: 20)]
        #expect(try rig.create(all) == -22, "root's mask would become empty")
        #expect(rig.snapshot == before && rig.hv.rootCATMask == 0xfffff)
        var shared = TCell.tiny(); shared.cache = [TCache(start: 0, size: 20, flags: 1)]
        #expect(try rig.create(shared) == 0, "ROOTSHARED leaves root's mask alone")
        #expect(rig.hv.rootCATMask == 0xfffff)
        #expect(try rig.call(.cellDestroy, 1) == 0)
        // COS 1–3 taken: a fourth cell is -EBUSY even with an invalid region.
        var c1 = TCell.apic(id: 1); c1.name = "c1"; c1.cpus = [1]
        #expect(try rig.create(c1) == 0)
        #expect(try rig.create(.tiny(id: 2)) == 0)
        #expect(try rig.create(.apic(id: 3)) == 0)
        var c4 = TCell.tiny(id: 4); c4.name = "c4"; c4.cpus = []; c4.memory = [TCell.comm]; c4.pio = []
        c4.cache = [TCache(start: 0, size: 2, type: 1)]
        #expect(try rig.create(c4) == -16)
    }
}
