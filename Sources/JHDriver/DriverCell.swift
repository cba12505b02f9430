import JHABI
import JHConfig
import JHLinux
import JHMachine

/// The driver's `struct cell` (driver/cell.h): what Linux knows about one cell.
public final class DriverCell {
    public let id: CellID
    public let name: String
    public internal(set) var cpusAssigned: CPUSet
    public let memoryRegions: [MemoryRegion]
    public let pciDevices: [DriverPCIDevice]
    /// Kernel allocations backing this object (kzalloc + vmalloc copies), freed on release.
    var allocations: [UInt64] = []
    /// Whether `cell_register` added it to the list (a half-created cell is not).
    public internal(set) var registered = false
    /// Its sysfs directory `cells/<id>` and that directory's `statistics`, once created.
    var sysfsDir: SysfsNode?
    var statisticsDir: SysfsNode?
    /// The reusable storage behind `sysfsDir` (its nodes read this cell through it).
    var sysfsStorage: CellSysfsStorage?

    init(id: CellID, name: String, cpus: CPUSet, regions: [MemoryRegion], pci: [DriverPCIDevice]) {
        self.id = id; self.name = name; cpusAssigned = cpus; memoryRegions = regions; pciDevices = pci
    }
}

extension JailhouseDriver {
    /// Mirrors `cell_create` in driver/cell.c: builds a driver cell object (id = lowest
    /// free, CPU set, copies of regions and PCI devices, sysfs directory). It touches no CPU
    /// and does not add the cell to the list.
    func cellCreate(_ desc: DescriptorView) throws(Errno) -> DriverCell {
        // num_memory_regions >= ULONG_MAX / sizeof(struct jailhouse_memory) cannot hold for
        // a u32 count on a 64-bit kernel; the check is kept for the record.
        var id: UInt32 = 0
        while cells.contains(where: { $0.id.rawValue == id }) { id += 1 }

        let object = try kernelAlloc(512, tag: "struct cell", site: .cellObjectAlloc)
        let regionCount = Int(desc.numMemoryRegions)
        let regions: UInt64
        do throws(Errno) {
            // vmalloc(0) returns NULL: a config without memory regions is -ENOMEM, before
            // any CPU is touched.
            guard regionCount > 0 else {
                machine.record(DriverTrace.vmallocZero, result: .error(.noMemory))
                throw Errno.noMemory
            }
            regions = try kernelAlloc(32 * regionCount, tag: "cell memory_regions",
                                      site: .cellRegionsAlloc)
        } catch {
            kernel.kfree(object)
            throw error
        }
        var allocations = [object, regions]
        if desc.numPCIDevices > 0 {
            do {
                allocations.append(try kernelAlloc(56 * Int(desc.numPCIDevices), tag: "cell pci_devices",
                                                   site: .cellRegionsAlloc))
            } catch {
                for a in allocations { kernel.kfree(a) }
                throw error
            }
        }
        let cell = DriverCell(
            id: CellID(id), name: desc.name, cpus: desc.cpus(nrCPUIDs: kernel.nrCPUIDs),
            regions: desc.memoryRegions(limit: 1 << 16), pci: desc.pciDevices(limit: 1 << 16))
        cell.allocations = allocations
        do {
            try sysfsCellCreate(cell)
        } catch {
            for a in allocations { kernel.kfree(a) }
            throw error
        }
        machine.record(DriverTrace.cellCreate, result: .ok, a: Int(id), text: cell.name, set: cell.cpusAssigned)
        return cell
    }

    /// Mirrors `cell_register` in driver/cell.c: list add and the KOBJ_ADD uevent.
    func cellRegister(_ cell: DriverCell) {
        cells.append(cell)
        cell.registered = true
        machine.record(DriverTrace.cellRegister, a: Int(cell.id.rawValue), text: cell.name)
    }

    /// Mirrors `cell_delete` in driver/cell.c: unlink, move the per-CPU statistics back to
    /// root (or free them for the root), drop the kobjects, free the object.
    func cellDelete(_ cell: DriverCell) {
        cells.removeAll { $0 === cell }
        cell.registered = false
        sysfsCellDelete(cell)
        for a in cell.allocations { kernel.kfree(a) }
        cell.allocations = []
        machine.record(DriverTrace.cellDelete, a: Int(cell.id.rawValue), text: cell.name)
    }

    /// Mirrors `find_cell` in driver/cell.c: the first cell in creation order whose id
    /// matches, or — for id -1 — whose name matches.
    func findCell(_ arg: CellIDArg) -> DriverCell? {
        cells.first { Int64($0.id.rawValue) == Int64(arg.id) || (arg.id == CellID.unusedWireValue && $0.name == arg.name) }
    }

    /// Mirrors `cell_management_prologue` in driver/cell.c: on success the lock is held.
    func cellManagementPrologue(_ arg: CellIDArg, _ file: DeviceFile) throws(Errno) -> DriverCell {
        try lock(file)
        guard enabled else {
            machine.record(DriverTrace.notEnabled, result: .error(.invalidArgument))
            unlock(file)
            throw .invalidArgument
        }
        guard let cell = findCell(arg) else {
            machine.record(DriverTrace.findCellMissing, result: .error(.noEntry),
                           text: arg.id >= 0 ? "id \(arg.id)" : "name \(arg.name)")
            unlock(file)
            throw .noEntry
        }
        return cell
    }
}
