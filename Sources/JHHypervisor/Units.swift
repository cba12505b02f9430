import JHABI
import JHMachine

/// A hypervisor unit (`DEFINE_UNIT`, hypervisor/include/jailhouse/unit.h): a subsystem
/// with its own per-cell setup and teardown, initialised in order and unwound in reverse.
///
/// Each `cellInit` validates everything before it takes anything, so a failing unit leaves
/// no trace and `cellExit` is the exact inverse of a successful `cellInit`.
protocol HVUnit: AnyObject {
    var name: String { get }
    /// The name upstream's DEFINE_UNIT prints at enable ("Initializing unit: …").
    var consoleName: String { get }
    /// The unit's `init` at enable time, with the root cell's config.
    func initRoot(_ root: HVCellDescriptor, pool: inout PagePool) throws(Errno)
    /// The unit's `cell_init`.
    func cellInit(_ cell: HVCell, hv: Hypervisor, cpu: CPUID) throws(Errno)
    /// The unit's `cell_exit`.
    func cellExit(_ cell: HVCell, hv: Hypervisor)
    /// The unit's `shutdown` (disable, or unwinding a failed enable).
    func shutdown()
}

/// VT-d (hypervisor/arch/x86/vtd.c): every cell needs an IOMMU domain id.
final class IOMMUUnit: HVUnit {
    let name = "iommu"
    let consoleName = "VT-d"
    /// Domain ids the (simulated) DMAR unit supports: capability ND = 2 gives 256.
    static let domainIDs: UInt32 = 256
    func initRoot(_ root: HVCellDescriptor, pool: inout PagePool) throws(Errno) {}
    /// Mirrors `vtd_cell_init`: the cell id is the domain id.
    /// - Throws: `Errno.outOfRange` when the id has no domain id.
    func cellInit(_ cell: HVCell, hv: Hypervisor, cpu: CPUID) throws(Errno) {
        guard cell.id < Self.domainIDs else { throw .outOfRange }
    }
    func cellExit(_ cell: HVCell, hv: Hypervisor) {}
    func shutdown() {}
}

/// The IOAPIC (hypervisor/arch/x86/ioapic.c): a cell's irqchips take pins from root.
final class IOAPICUnit: HVUnit {
    let name = "ioapic"
    let consoleName = "IOAPIC"
    /// `IOAPIC_MAX_CHIPS`.
    static let maxChips = 8
    struct Chip { var address: UInt64; var rootPins: [UInt32] }
    private(set) var chips: [Chip] = []

    func initRoot(_ root: HVCellDescriptor, pool: inout PagePool) throws(Errno) {
        let list = root.irqchips
        guard list.count <= Self.maxChips else { throw .outOfRange }
        chips = list.map { Chip(address: $0.address, rootPins: $0.pinBitmap) }
    }

    /// Mirrors `ioapic_cell_init`.
    /// - Throws: `Errno.outOfRange` for more than 8 chips, `Errno.invalidArgument` for a
    ///   pin_base other than 0 or a chip the system does not have, `Errno.noMemory` when the
    ///   per-cell chip data cannot be allocated.
    func cellInit(_ cell: HVCell, hv: Hypervisor, cpu: CPUID) throws(Errno) {
        let list = cell.config.irqchips
        guard !list.isEmpty else { return }
        guard list.count <= Self.maxChips else { throw .outOfRange }
        var plan: [(Int, [UInt32])] = []
        for ic in list {
            guard ic.pinBase == 0 else { throw .invalidArgument }
            guard let k = chips.firstIndex(where: { $0.address == ic.address }) else { throw .invalidArgument }
            // Only pins root still holds move; the rest the cell simply does not get.
            plan.append((k, zip(ic.pinBitmap, chips[k].rootPins).map { $0 & $1 }))
        }
        _ = try hv.allocPages(1, for: cell, "ioapic", cpu: cpu)
        for (k, pins) in plan {
            chips[k].rootPins = zip(chips[k].rootPins, pins).map { $0 & ~$1 }
            cell.ioapicPins.append((k, pins))
        }
    }

    func cellExit(_ cell: HVCell, hv: Hypervisor) {
        for (k, pins) in cell.ioapicPins.reversed() where k < chips.count {
            chips[k].rootPins = zip(chips[k].rootPins, pins).map { $0 | $1 }
        }
        cell.ioapicPins = []
        hv.freePages(of: cell, "ioapic")
    }
    func shutdown() { chips = [] }
}

/// PCI (hypervisor/pci.c): physical devices move from root to the cell; ivshmem devices
/// are virtual and need no owner.
final class PCIUnit: HVUnit {
    let name = "pci"
    let consoleName = "PCI"
    /// Owner of each physical device of the system (root id or a cell id), by bdf.
    private var owners: [UInt16: UInt32] = [:]
    private var rootID: UInt32 = 0

    func initRoot(_ root: HVCellDescriptor, pool: inout PagePool) throws(Errno) {
        owners = [:]
        rootID = root.id
        for d in root.pciDevices where d.type != .ivshmem { owners[d.bdf] = Self.rootOwner }
    }
    /// Placeholder for "root" in `owners` (the root's id may be anything, quirk 11).
    private static let rootOwner = UInt32.max

    /// Mirrors `pci_cell_init`.
    /// - Throws: `Errno.invalidArgument` for a device the root cell does not list,
    ///   `Errno.busy` for a device another cell already owns, `Errno.noMemory` when the
    ///   device structures cannot be allocated.
    func cellInit(_ cell: HVCell, hv: Hypervisor, cpu: CPUID) throws(Errno) {
        let list = cell.config.pciDevices
        guard !list.isEmpty else { return }
        var take: [UInt16] = []
        for d in list where d.type != .ivshmem {
            guard let o = owners[d.bdf] else { throw .invalidArgument }
            guard o == Self.rootOwner, !take.contains(d.bdf) else { throw .busy }
            take.append(d.bdf)
        }
        _ = try hv.allocPages(1, for: cell, "pci", cpu: cpu)
        for b in take { owners[b] = cell.id }
        cell.pciDevices = take
    }

    func cellExit(_ cell: HVCell, hv: Hypervisor) {
        for b in cell.pciDevices.reversed() where owners[b] == cell.id { owners[b] = Self.rootOwner }
        cell.pciDevices = []
        hv.freePages(of: cell, "pci")
    }
    func shutdown() { owners = [:] }

    /// The owning cell of a physical device (root shown with the root's id).
    func owner(bdf: UInt16) -> UInt32? { owners[bdf].map { $0 == Self.rootOwner ? rootID : $0 } }
}

/// Intel CAT (hypervisor/arch/x86/cat.c): a cell with cache regions gets its own class of
/// service and the ways it names, taken from root unless ROOTSHARED.
final class CATUnit: HVUnit {
    let name = "cat"
    let consoleName = "Cache Allocation Technology"
    /// Classes of service of the simulated L3 (COS 0 is root's).
    static let classes = 4
    /// Ways of the simulated L3 (capacity bitmask width).
    static let ways: UInt32 = 20
    private var cosUsed = [Bool](repeating: false, count: CATUnit.classes)
    private(set) var rootMask: UInt32 = 0

    func initRoot(_ root: HVCellDescriptor, pool: inout PagePool) throws(Errno) {
        cosUsed = [Bool](repeating: false, count: Self.classes)
        cosUsed[0] = true
        rootMask = (1 << Self.ways) - 1
    }

    /// Mirrors `cat_cell_init`.
    /// - Throws: `Errno.invalidArgument` for a region that is not L3 or lies outside the
    ///   ways, `Errno.busy` when no class of service is free.
    func cellInit(_ cell: HVCell, hv: Hypervisor, cpu: CPUID) throws(Errno) {
        let regions = cell.config.cacheRegions
        guard !regions.isEmpty else { return }
        var mask: UInt32 = 0
        var shared: UInt32 = 0
        for r in regions {
            guard r.type == 0x03, r.size > 0, r.start < Self.ways, r.size <= Self.ways - r.start else {
                throw .invalidArgument
            }
            let m = ((UInt32(1) << r.size) - 1) << r.start
            mask |= m
            if r.flags & 1 != 0 { shared |= m }
        }
        guard let cos = cosUsed.firstIndex(of: false) else { throw .busy }
        cosUsed[cos] = true
        cell.catCOS = cos
        cell.catWays = mask & ~shared
        rootMask &= ~cell.catWays
    }

    func cellExit(_ cell: HVCell, hv: Hypervisor) {
        guard let cos = cell.catCOS else { return }
        cosUsed[cos] = false
        rootMask |= cell.catWays
        cell.catCOS = nil
        cell.catWays = 0
    }
    func shutdown() { cosUsed = [Bool](repeating: false, count: Self.classes) }
}
