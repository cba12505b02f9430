import JHABI
import JHMachine

/// Every place the simulated hypervisor can be made to fail, for fault plans
/// (`jhsim faults list`). Site names start with `hv_`; `detail` (`state=` in a rule)
/// narrows a site to one use, e.g. `hv_page_alloc:state=cell`.
public enum HypervisorFaultSites {
    public static let pageAlloc = "hv_page_alloc"
    public static let mapConfig = "hv_map_config"
    public static let mmioCellInit = "hv_mmio_cell_init"
    public static let archCellCreate = "hv_arch_cell_create"
    public static let unitCellInit = "hv_unit_cell_init"
    public static let pagingMap = "hv_paging_map"
    public static let pagingUnmap = "hv_paging_unmap"
    public static let remapToRoot = "hv_remap_to_root"
    public static let initEarly = "hv_init_early"
    public static let cpuInit = "hv_cpu_init"
    public static let unitInit = "hv_unit_init"

    public static let all: [FaultSiteInfo] = [
        FaultSiteInfo(.hvPageAlloc, layer: .hypervisor,
                      meaning: "page_alloc from the memory pool (detail: cell, cpu_set, mmio, arch, ioapic, pci, paging)", perCPU: true),
        FaultSiteInfo(.hvMapConfig, layer: .hypervisor,
                      meaning: "temporary mapping of the cell config pages (detail: header, all)", perCPU: true),
        FaultSiteInfo(.hvMmioCellInit, layer: .hypervisor,
                      meaning: "mmio_cell_init: the cell's MMIO dispatch tables", perCPU: true),
        FaultSiteInfo(.hvArchCellCreate, layer: .hypervisor,
                      meaning: "arch_cell_create: I/O bitmap and EPT root of a new cell", perCPU: true),
        FaultSiteInfo(.hvUnitCellInit, layer: .hypervisor,
                      meaning: "a unit's cell_init (detail: iommu, ioapic, pci, cat)", perCPU: true),
        FaultSiteInfo(.hvPagingMap, layer: .hypervisor,
                      meaning: "mapping a memory region into a cell (detail: cell, comm)", perCPU: true),
        FaultSiteInfo(.hvPagingUnmap, layer: .hypervisor,
                      meaning: "unmapping a memory region from root (detail: create, start)", perCPU: true),
        FaultSiteInfo(.hvRemapToRoot, layer: .hypervisor,
                      meaning: "remap_to_root_cell of a LOADABLE region on set-loadable", perCPU: true),
        FaultSiteInfo(.hvInitEarly, layer: .hypervisor,
                      meaning: "init_early on the first CPU at enable (paging, pool setup)", perCPU: true),
        FaultSiteInfo(.hvCpuInit, layer: .hypervisor,
                      meaning: "cpu_init of one CPU at enable (VMX/SVM setup)", perCPU: true),
        FaultSiteInfo(.hvUnitInit, layer: .hypervisor,
                      meaning: "a unit's init at enable (detail: iommu, ioapic, pci, cat)", perCPU: true),
    ]
}

/// The typed handles of this layer's sites (ids 16…31), for `Machine.check`.
extension FaultSiteKey {
    public static let hvPageAlloc = FaultSiteKey(16, HypervisorFaultSites.pageAlloc, defaultErrno: .noMemory)
    public static let hvMapConfig = FaultSiteKey(17, HypervisorFaultSites.mapConfig, defaultErrno: .noMemory)
    public static let hvMmioCellInit = FaultSiteKey(18, HypervisorFaultSites.mmioCellInit, defaultErrno: .noMemory)
    public static let hvArchCellCreate = FaultSiteKey(19, HypervisorFaultSites.archCellCreate, defaultErrno: .noMemory)
    public static let hvUnitCellInit = FaultSiteKey(20, HypervisorFaultSites.unitCellInit, defaultErrno: .noMemory)
    public static let hvPagingMap = FaultSiteKey(21, HypervisorFaultSites.pagingMap, defaultErrno: .noMemory)
    public static let hvPagingUnmap = FaultSiteKey(22, HypervisorFaultSites.pagingUnmap, defaultErrno: .noMemory)
    public static let hvRemapToRoot = FaultSiteKey(23, HypervisorFaultSites.remapToRoot, defaultErrno: .noMemory)
    public static let hvInitEarly = FaultSiteKey(24, HypervisorFaultSites.initEarly, defaultErrno: .noMemory)
    public static let hvCpuInit = FaultSiteKey(25, HypervisorFaultSites.cpuInit, defaultErrno: .ioError)
    public static let hvUnitInit = FaultSiteKey(26, HypervisorFaultSites.unitInit, defaultErrno: .noDevice)
}
