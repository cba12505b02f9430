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
        FaultSiteInfo(name: pageAlloc, layer: .hypervisor,
                      meaning: "page_alloc from the memory pool (detail: cell, cpu_set, mmio, arch, ioapic, pci, paging)",
                      defaultErrno: .noMemory, perCPU: true),
        FaultSiteInfo(name: mapConfig, layer: .hypervisor,
                      meaning: "temporary mapping of the cell config pages (detail: header, all)",
                      defaultErrno: .noMemory, perCPU: true),
        FaultSiteInfo(name: mmioCellInit, layer: .hypervisor,
                      meaning: "mmio_cell_init: the cell's MMIO dispatch tables", defaultErrno: .noMemory, perCPU: true),
        FaultSiteInfo(name: archCellCreate, layer: .hypervisor,
                      meaning: "arch_cell_create: I/O bitmap and EPT root of a new cell", defaultErrno: .noMemory, perCPU: true),
        FaultSiteInfo(name: unitCellInit, layer: .hypervisor,
                      meaning: "a unit's cell_init (detail: iommu, ioapic, pci, cat)", defaultErrno: .noMemory, perCPU: true),
        FaultSiteInfo(name: pagingMap, layer: .hypervisor,
                      meaning: "mapping a memory region into a cell (detail: cell, comm)", defaultErrno: .noMemory, perCPU: true),
        FaultSiteInfo(name: pagingUnmap, layer: .hypervisor,
                      meaning: "unmapping a memory region from root (detail: create, start)", defaultErrno: .noMemory, perCPU: true),
        FaultSiteInfo(name: remapToRoot, layer: .hypervisor,
                      meaning: "remap_to_root_cell of a LOADABLE region on set-loadable", defaultErrno: .noMemory, perCPU: true),
        FaultSiteInfo(name: initEarly, layer: .hypervisor,
                      meaning: "init_early on the first CPU at enable (paging, pool setup)", defaultErrno: .noMemory, perCPU: true),
        FaultSiteInfo(name: cpuInit, layer: .hypervisor,
                      meaning: "cpu_init of one CPU at enable (VMX/SVM setup)", defaultErrno: .ioError, perCPU: true),
        FaultSiteInfo(name: unitInit, layer: .hypervisor,
                      meaning: "a unit's init at enable (detail: iommu, ioapic, pci, cat)", defaultErrno: .noDevice, perCPU: true),
    ]
}
