import JHABI
import JHMachine

/// A hypervisor unit (`DEFINE_UNIT`, hypervisor/include/jailhouse/unit.h): a subsystem
/// with its own per-cell setup and teardown, initialised in link order and unwound in
/// reverse. On Intel x86 the link order (hypervisor/arch/x86/Kbuild) puts the arch units
/// first — VT-d, IOAPIC, CAT (the test device only with CONFIG_TEST_DEVICE, which the
/// simulated build does not set) — then the generic PCI unit.
///
/// As upstream, a unit's `cell_init` cleans up after itself where the C code does, and
/// does not where it does not (the IOAPIC pin_base leak, quirk 14).
protocol HVUnit: AnyObject {
    var name: String { get }
    /// The name upstream's DEFINE_UNIT prints at enable ("Initializing unit: …").
    var consoleName: String { get }
    /// The unit's `init` at enable (init_late): its global setup, then its `cell_init`
    /// for the root cell.
    func initialize(root: HVCell, hv: Hypervisor, cpu: CPUID) throws(Errno)
    /// The unit's `cell_init`.
    func cellInit(_ cell: HVCell, hv: Hypervisor, cpu: CPUID) throws(Errno)
    /// The unit's `cell_exit`.
    func cellExit(_ cell: HVCell, hv: Hypervisor)
    /// The unit's `shutdown` (disable, or unwinding a failed enable).
    func shutdown(hv: Hypervisor)
}

/// Hardware facts of the simulated Intel box that upstream reads from CPUID and MMIO.
enum SimulatedHardware {
    /// IOAPIC_VER.MRE + 1 of every simulated IOAPIC.
    static let ioapicPins = 24
    /// `IOAPIC_MAX_CHIPS`.
    static let maxIOAPICs = 8
    /// DMAR capability ND = 2: `1 << (4 + 2 * 2)` domain ids.
    static let dmarDomainIDs: UInt32 = 256
    /// CPUID.(0x10, 1): capacity-bitmask length − 1 and the highest class of service.
    static let catCBMMax: UInt32 = 19
    static let catCOSMax: UInt32 = 3
    /// `DMAR_MMIO_SIZE` in pages (remap-pool pages per DMAR unit).
    static let dmarMMIOPages = 4
}

// MARK: Shared x86 state: physical IOAPICs, the interrupt-remapping table, context tables

/// A physical IOAPIC the hypervisor has mapped (`struct phys_ioapic`).
struct PhysIOAPIC: Equatable { var address: UInt64; var pins: Int }

extension Hypervisor {
    /// Mirrors `ioapic_get_or_add_phys` (hypervisor/arch/x86/ioapic.c): finds the chip at
    /// `address` or maps and adds it. Chips are never removed again until disable.
    /// - Throws: `Errno.outOfRange` when all `IOAPIC_MAX_CHIPS` slots are taken,
    ///   `Errno.noMemory` when its page cannot be mapped.
    func ioapicGetOrAddPhys(_ address: UInt64, cpu: CPUID) throws(Errno) -> PhysIOAPIC {
        if let p = physIOAPICs.first(where: { $0.address == address }) { return p }
        guard physIOAPICs.count < SimulatedHardware.maxIOAPICs else {
            record(HypervisorTrace.ioapicNoSlot, cpu: cpu, result: .error(.outOfRange), a: address.traceBits)
            throw .outOfRange
        }
        try remapAlloc(1)
        let p = PhysIOAPIC(address: address, pins: SimulatedHardware.ioapicPins)
        physIOAPICs.append(p)
        return p
    }

    /// Mirrors `vtd_reserve_int_remap_region` (hypervisor/arch/x86/vtd.c): first fit of
    /// `length` free entries in the interrupt-remapping table for `device`; a device that
    /// already has a region, or needs none, gets 0.
    /// - Throws: `Errno.tooBig` when no run of free entries is long enough.
    @discardableResult
    func reserveIntRemapRegion(device: UInt16, length: Int, cpu: CPUID) throws(Errno) -> Int {
        if length == 0 || intRemapRegions[device] != nil { return 0 }
        var start = -1
        for n in intRemapAssigned.indices {
            if intRemapAssigned[n] { start = -1; continue }
            if start < 0 { start = n }
            if n + 1 == start + length {
                printk("Reserving \(length) interrupt(s) for device \(bdfText(device)) at index \(start)\n")
                for k in start..<(start + length) { intRemapAssigned[k] = true }
                intRemapRegions[device] = (start, length)
                return start
            }
        }
        record(HypervisorTrace.intRemapFull, cpu: cpu, result: .error(.tooBig), a: Int(device), b: length)
        throw .tooBig
    }

    /// Mirrors `vtd_free_int_remap_region`.
    func freeIntRemapRegion(device: UInt16) {
        guard let (pos, length) = intRemapRegions.removeValue(forKey: device) else { return }
        printk("Freeing \(length) interrupt(s) for device \(bdfText(device)) at index \(pos)\n")
        for k in pos..<(pos + length) where k < intRemapAssigned.count { intRemapAssigned[k] = false }
    }

    /// `bb:dd.f` as `PCI_BDF_PARAMS` prints it.
    func bdfText(_ bdf: UInt16) -> String {
        func hex(_ v: UInt16, _ w: Int) -> String {
            let s = String(v, radix: 16); return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(hex(bdf >> 8, 2)):\(hex((bdf >> 3) & 0x1f, 2)).\(bdf & 7)"
    }

    /// Pool pages the hypervisor itself holds (not charged to a cell), with the fault seam.
    /// - Throws: `Errno.noMemory` when the pool is exhausted or a fault is planned.
    func allocGlobalPages(_ count: Int, _ what: String, cpu: CPUID) throws(Errno) -> UInt64 {
        do {
            if !enabling { try machine.check(.hvPageAlloc, cpu: cpu, detail: what) }
        } catch {
            record(HypervisorTrace.pageAlloc, cpu: cpu, result: .error(error), a: count, text: what)
            throw error
        }
        guard let a = pool.alloc(count) else {
            record(HypervisorTrace.pageAlloc, cpu: cpu, result: .error(.noMemory), a: count, text: what)
            throw .noMemory
        }
        globalPages += count
        return a
    }

    /// Gives back pages taken with `allocGlobalPages`.
    func freeGlobalPages(_ address: UInt64, _ count: Int) {
        pool.free(address, count)
        globalPages -= count
    }
}

/// VT-d (hypervisor/arch/x86/vtd.c): the DMAR units, the interrupt-remapping table, one
/// root_table page per cell, and the context tables per PCI bus.
final class IOMMUUnit: HVUnit {
    let name = "iommu"
    let consoleName = "VT-d"
    /// The domain ids the DMAR units support (`dmar_num_did`).
    private(set) var domainIDs: UInt32 = SimulatedHardware.dmarDomainIDs
    /// One context-table page per bus with a present entry, and its present devfns.
    private var contextTables: [UInt8: (page: UInt64, devfns: Set<UInt8>)] = [:]

    /// Mirrors `vtd_init`: sizes the interrupt-remapping table from `vtd_interrupt_limit`,
    /// maps every DMAR unit through the remap pool, refuses a unit that is not Intel's
    /// (this is the Intel build) and a system without units, then `vtd_cell_init(root)`.
    /// - Throws: `Errno.invalidArgument` for a limit ≥ 2^16, no IOMMU unit or a non-Intel
    ///   unit; `Errno.noMemory` when a pool is exhausted.
    func initialize(root: HVCell, hv: Hypervisor, cpu: CPUID) throws(Errno) {
        guard let sys = hv.system else { throw .invalidArgument }
        var n = 0
        while (UInt64(1) << n) < UInt64(sys.vtdInterruptLimit) { n += 1 }
        guard n < 16 else { throw .invalidArgument }
        _ = try hv.allocGlobalPages(max(1, (16 << n + 4095) / 4096), "int_remap_table", cpu: cpu)
        hv.intRemapAssigned = [Bool](repeating: false, count: Int(sys.vtdInterruptLimit))
        hv.intRemapRegions = [:]
        let units = sys.iommuUnits.prefix { $0.base != 0 }
        guard !units.isEmpty else {
            hv.record(HypervisorTrace.vtdNoUnit, cpu: cpu, result: .error(.invalidArgument))
            throw .invalidArgument
        }
        try hv.remapAlloc(units.count * SimulatedHardware.dmarMMIOPages)
        _ = try hv.allocGlobalPages(units.count, "inv_queue", cpu: cpu)
        for u in units {
            guard u.type == IOMMUType.intel.rawValue else {
                hv.record(HypervisorTrace.vtdNotIntel, cpu: cpu, result: .error(.invalidArgument), a: Int(u.type))
                throw .invalidArgument
            }
            hv.printk("DMAR unit @0x\(String(u.base, radix: 16))/0x\(String(u.size, radix: 16))\n")
        }
        domainIDs = SimulatedHardware.dmarDomainIDs
        contextTables = [:]
        try cellInit(root, hv: hv, cpu: cpu)
    }

    /// Mirrors `vtd_cell_init`: the cell id is the domain id; a root_table page; every
    /// irqchip's IOAPIC is added if new and gets an interrupt-remapping region.
    /// - Throws: `Errno.outOfRange` (no domain id, no IOAPIC slot), `Errno.noMemory`,
    ///   `Errno.tooBig` (interrupt-remapping table full).
    func cellInit(_ cell: HVCell, hv: Hypervisor, cpu: CPUID) throws(Errno) {
        guard cell.id < domainIDs else { throw .outOfRange }
        _ = try hv.allocPages(1, for: cell, "vtd_root_table", cpu: cpu)
        for chip in cell.irqchips {
            do throws(Errno) {
                let phys = try hv.ioapicGetOrAddPhys(chip.address, cpu: cpu)
                try hv.reserveIntRemapRegion(device: UInt16(truncatingIfNeeded: chip.id), length: phys.pins, cpu: cpu)
            } catch {
                cellExit(cell, hv: hv)
                throw error
            }
        }
    }

    /// Mirrors `vtd_cell_exit`: only the root_table page goes; IOAPIC remapping regions
    /// stay reserved (other cells may share the chip).
    func cellExit(_ cell: HVCell, hv: Hypervisor) { hv.freePages(of: cell, "vtd_root_table") }

    /// Mirrors `iommu_add_pci_device` (vtd.c): the device's MSI/MSI-X vectors get a
    /// remapping region, its bus a context table if it has none.
    /// - Throws: `Errno.tooBig`, `Errno.noMemory` (the region is freed again then).
    func addPCIDevice(_ d: HVPCIDevice, hv: Hypervisor, cpu: CPUID) throws(Errno) {
        let vectors = max(Int(d.numMSIVectors), Int(d.numMSIXVectors))
        try hv.reserveIntRemapRegion(device: d.bdf, length: vectors, cpu: cpu)
        let bus = UInt8(d.bdf >> 8), devfn = UInt8(d.bdf & 0xff)
        if contextTables[bus] == nil {
            do throws(Errno) {
                contextTables[bus] = (try hv.allocGlobalPages(1, "context_table", cpu: cpu), [])
            } catch {
                hv.freeIntRemapRegion(device: d.bdf)
                throw error
            }
        }
        contextTables[bus]!.devfns.insert(devfn)
    }

    /// Mirrors `iommu_remove_pci_device`: the region goes, and the bus's context table
    /// when no entry on it is present any more.
    func removePCIDevice(_ d: HVPCIDevice, hv: Hypervisor) {
        hv.freeIntRemapRegion(device: d.bdf)
        let bus = UInt8(d.bdf >> 8)
        guard var t = contextTables[bus] else { return }
        t.devfns.remove(UInt8(d.bdf & 0xff))
        if t.devfns.isEmpty {
            hv.freeGlobalPages(t.page, 1)
            contextTables[bus] = nil
        } else {
            contextTables[bus] = t
        }
    }

    func shutdown(hv: Hypervisor) { contextTables = [:] }
}

/// The IOAPIC (hypervisor/arch/x86/ioapic.c): a cell's irqchips and its pins.
final class IOAPICUnit: HVUnit {
    let name = "ioapic"
    let consoleName = "IOAPIC"

    /// Mirrors `ioapic_init`: `ioapic_cell_init(root)`.
    func initialize(root: HVCell, hv: Hypervisor, cpu: CPUID) throws(Errno) {
        try cellInit(root, hv: hv, cpu: cpu)
    }

    /// Mirrors `ioapic_cell_init`: one page for the cell's chips; each chip is found or
    /// added; the cell gets the chip's full pin bitmap and, when root has the chip, root
    /// loses those pins.
    ///
    /// Upstream checks `pin_base` only after the page is taken and earlier chips have moved
    /// their pins, and returns without `ioapic_cell_exit`: page and pins leak (quirk 14).
    /// The fixed profile unwinds.
    /// - Throws: `Errno.outOfRange` (more than 8 chips, no free IOAPIC slot),
    ///   `Errno.noMemory`, `Errno.invalidArgument` (pin_base ≠ 0).
    func cellInit(_ cell: HVCell, hv: Hypervisor, cpu: CPUID) throws(Errno) {
        let list = cell.irqchips
        guard !list.isEmpty else { return }
        guard list.count <= SimulatedHardware.maxIOAPICs else { throw .outOfRange }
        _ = try hv.allocPages(1, for: cell, "ioapic", cpu: cpu)
        for chip in list {
            do throws(Errno) {
                _ = try hv.ioapicGetOrAddPhys(chip.address, cpu: cpu)
            } catch {
                cellExit(cell, hv: hv)
                throw error
            }
            guard chip.pinBase == 0 else {
                if hv.machine.profile.has(.ioapicPinBaseLeaks) {
                    hv.leak(cell, "ioapic")
                    hv.record(HypervisorTrace.ioapicPinBaseLeak, cpu: cpu, result: .error(.invalidArgument),
                              a: Int(cell.id), b: Int(chip.pinBase))
                } else {
                    cellExit(cell, hv: hv)
                }
                throw .invalidArgument
            }
            cell.ioapics.append(HVCell.IOAPICPins(address: chip.address, pins: chip.pinBitmap))
            if cell.isRoot { continue }
            guard let root = hv.rootCell, let k = root.ioapics.firstIndex(where: { $0.address == chip.address }) else { continue }
            root.ioapics[k].pins = zip(root.ioapics[k].pins, chip.pinBitmap).map { $0 & ~$1 }
        }
    }

    /// Mirrors `ioapic_cell_exit`: root gets back the cell's pins that root's own config
    /// lists, and the page goes back.
    func cellExit(_ cell: HVCell, hv: Hypervisor) {
        if let root = hv.rootCell, root !== cell {
            for chip in cell.ioapics {
                guard let k = root.ioapics.firstIndex(where: { $0.address == chip.address }),
                      let own = root.irqchips.first(where: { $0.address == chip.address }) else { continue }
                root.ioapics[k].pins = (0..<4).map { root.ioapics[k].pins[$0] | (chip.pins[$0] & own.pinBitmap[$0]) }
            }
        }
        cell.ioapics = []
        hv.freePages(of: cell, "ioapic")
    }

    func shutdown(hv: Hypervisor) {}
}

/// Intel CAT (hypervisor/arch/x86/cat.c): a cell with a cache region gets its own class of
/// service and capacity bitmask; root's mask shrinks and stays contiguous.
final class CATUnit: HVUnit {
    let name = "cat"
    let consoleName = "Cache Allocation Technology"
    /// Root's mask at enable, and bits waiting to return to root (`orig_root_mask`, `freed_mask`).
    private(set) var origRootMask: UInt64 = 0
    private(set) var freedMask: UInt64 = 0

    /// Mirrors `cat_init`: the simulated CPU has CAT with 20 ways and COS 0–3.
    func initialize(root: HVCell, hv: Hypervisor, cpu: CPUID) throws(Errno) {
        freedMask = 0
        try cellInit(root, hv: hv, cpu: cpu)
        origRootMask = root.catMask
    }

    private static func mask(_ hi: UInt32, _ lo: UInt32) -> UInt64 {
        (hi >= 63 ? UInt64.max : (UInt64(1) << (hi + 1)) - 1) & ~((UInt64(1) << lo) - 1)
    }

    /// Mirrors `cat_cell_init`. The class of service is taken before the region is
    /// validated, so -EBUSY wins over -EINVAL.
    /// - Throws: `Errno.busy` (no free class of service), `Errno.invalidArgument` (not
    ///   exactly one L3 region inside the ways, or root's mask would become empty).
    func cellInit(_ cell: HVCell, hv: Hypervisor, cpu: CPUID) throws(Errno) {
        cell.catCOS = 0
        guard let root = hv.rootCell else { return }
        let regions = cell.cacheRegions
        if cell.config.numCacheRegions > 0 {
            if !cell.isRoot {
                var cos: UInt32 = 0
                while hv.cellList.contains(where: { $0.catCOS == cos }) { cos += 1 }
                cell.catCOS = cos
                guard cos <= SimulatedHardware.catCOSMax else { throw .busy }
            }
            guard cell.config.numCacheRegions == 1, let r = regions.first, r.type == 0x03, r.size > 0,
                  UInt64(r.start) + UInt64(r.size) - 1 <= UInt64(SimulatedHardware.catCBMMax) else {
                throw .invalidArgument
            }
            cell.catMask = Self.mask(r.start + r.size - 1, r.start)
            if !cell.isRoot && r.flags & 1 == 0 && root.catMask & cell.catMask != 0 {
                guard shrinkRootMask(cell.catMask, root: root, hv: hv) else { throw .invalidArgument }
            }
        } else {
            cell.catMask = cell.isRoot ? Self.mask(SimulatedHardware.catCBMMax, 0) : root.catMask
        }
        hv.printk("CAT: Using COS \(cell.catCOS) with bitmask \(Self.hex8(cell.catMask)) for cell \(cell.name)\n")
    }

    /// Mirrors `shrink_root_cell_mask`: root loses `cellMask`; when that splits root's mask,
    /// the lower part goes to the freed mask too; when nothing would be left, root is
    /// refilled from the freed mask, or the call fails.
    private func shrinkRootMask(_ cellMask: UInt64, root: HVCell, hv: Hypervisor) -> Bool {
        if root.catMask & ~cellMask == 0 {
            guard freedMask != 0 else { return false }
            root.catMask = 0
            _ = mergeFreedMask(root: root)
        } else {
            root.catMask &= ~cellMask
            let lo = UInt32(root.catMask.trailingZeroBitCount)
            let len = UInt32((~(root.catMask >> lo)).trailingZeroBitCount)
            let loMask = Self.mask(lo + len - 1, lo)
            if root.catMask & ~loMask != 0 {
                root.catMask &= ~loMask
                freedMask |= loMask
            }
        }
        hv.printk("CAT: Shrunk root cell bitmask to \(Self.hex8(root.catMask))\n")
        freedMask &= ~cellMask
        return true
    }

    /// Mirrors `merge_freed_mask_to_root`: freed bits next to root's mask (or any, when
    /// root's mask is empty) join it, one at a time, until none does.
    private func mergeFreedMask(root: HVCell) -> Bool {
        var updated = false
        var again = true
        while again {
            again = false
            for n in 0..<64 {
                let bit = UInt64(1) << n
                if freedMask & bit != 0,
                   root.catMask & (bit << 1) != 0 || root.catMask & (bit >> 1) != 0 || root.catMask == 0 {
                    root.catMask |= bit
                    freedMask &= ~bit
                    updated = true
                    again = true
                    break
                }
            }
        }
        return updated
    }

    /// Mirrors `cat_cell_exit`: a cell with its own class of service queues its bits that
    /// root had at enable, and whatever now borders root's mask returns to root.
    func cellExit(_ cell: HVCell, hv: Hypervisor) {
        guard cell.catCOS != 0, let root = hv.rootCell else { return }
        freedMask |= cell.catMask & origRootMask
        if mergeFreedMask(root: root) {
            hv.printk("CAT: Extended root cell bitmask to \(Self.hex8(root.catMask))\n")
        }
    }

    func shutdown(hv: Hypervisor) {}

    static func hex8(_ v: UInt64) -> String {
        let s = String(v, radix: 16); return String(repeating: "0", count: max(0, 8 - s.count)) + s
    }
}

/// PCI (hypervisor/pci.c): a cell's physical devices are taken from root when root has
/// them assigned, otherwise simply added; ivshmem devices are virtual.
final class PCIUnit: HVUnit {
    let name = "pci"
    let consoleName = "PCI"
    /// Bytes of one `struct pci_device` on x86 (info and cell pointers, BARs, MSI/MSI-X
    /// shadow state and 16 embedded MSI-X vectors): the per-cell device list is
    /// PAGES(n × this).
    static let deviceStructSize = 448

    /// Mirrors `pci_init`: maps MMCONFIG (unless the PCI bus is virtual), then
    /// `pci_cell_init(root)`.
    func initialize(root: HVCell, hv: Hypervisor, cpu: CPUID) throws(Errno) {
        if let sys = hv.system, sys.pciMMConfigBase != 0, !sys.pciIsVirtual {
            try hv.remapAlloc((Int(sys.pciMMConfigEndBus) + 1) * 256)
        }
        try cellInit(root, hv: hv, cpu: cpu)
    }

    /// Mirrors `pci_cell_init`: for each physical device, root's assignment (if root has
    /// it) is removed and the device added to the cell. Upstream never refuses a device root
    /// does not list or another cell holds: it just adds it.
    /// - Throws: `Errno.noMemory` (device list, context table), `Errno.tooBig`
    ///   (interrupt-remapping table full); the cell's devices are removed again then.
    func cellInit(_ cell: HVCell, hv: Hypervisor, cpu: CPUID) throws(Errno) {
        let list = cell.configPCIDevices
        guard !list.isEmpty else { return }
        let pages = (list.count * Self.deviceStructSize + 4095) / 4096
        _ = try hv.allocPages(pages, for: cell, "pci", cpu: cpu)
        for d in list where d.type != .ivshmem {
            if !cell.isRoot, let root = hv.rootCell, root.pciDevices.contains(where: { $0.bdf == d.bdf }) {
                removePhysical(d, from: root, hv: hv)
            }
            do throws(Errno) {
                try addPhysical(d, to: cell, hv: hv, cpu: cpu)
            } catch {
                cellExit(cell, hv: hv)
                throw error
            }
        }
    }

    /// Mirrors `pci_add_physical_device`.
    private func addPhysical(_ d: HVPCIDevice, to cell: HVCell, hv: Hypervisor, cpu: CPUID) throws(Errno) {
        hv.printk("Adding PCI device \(hv.bdfText(d.bdf)) to cell \"\(cell.name)\"\n")
        // Root can be handed a device it already holds (its device returned twice).
        guard !cell.pciDevices.contains(where: { $0.bdf == d.bdf }) else { return }
        try hv.iommu?.addPCIDevice(d, hv: hv, cpu: cpu)
        if d.msixAddress != 0 {
            do throws(Errno) {
                try hv.remapAlloc((Int(d.msixRegionSize) + 4095) / 4096)
            } catch {
                hv.iommu?.removePCIDevice(d, hv: hv)
                throw error
            }
        }
        cell.pciDevices.append(d)
    }

    /// Mirrors `pci_remove_physical_device`.
    private func removePhysical(_ d: HVPCIDevice, from cell: HVCell, hv: Hypervisor) {
        hv.printk("Removing PCI device \(hv.bdfText(d.bdf)) from cell \"\(cell.name)\"\n")
        hv.iommu?.removePCIDevice(d, hv: hv)
        if d.msixAddress != 0 { hv.remapUsed -= (Int(d.msixRegionSize) + 4095) / 4096 }
        cell.pciDevices.removeAll { $0.bdf == d.bdf }
    }

    /// Mirrors `pci_cell_exit` (root's is a no-op): each device the cell holds is removed
    /// and, if root's config lists it, added back to root (`pci_return_device_to_root_cell`).
    func cellExit(_ cell: HVCell, hv: Hypervisor) {
        guard !cell.isRoot else { return }
        for d in cell.pciDevices {
            removePhysical(d, from: cell, hv: hv)
            if let root = hv.rootCell, let own = root.configPCIDevices.first(where: { $0.domain == d.domain && $0.bdf == d.bdf }) {
                do throws(Errno) {
                    try addPhysical(own, to: root, hv: hv, cpu: -1)
                } catch {
                    hv.printk("WARNING: Failed to re-assign PCI device to root cell\n")
                }
            }
        }
        cell.pciDevices = []
        hv.freePages(of: cell, "pci")
    }

    func shutdown(hv: Hypervisor) {}
}
