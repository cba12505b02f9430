import JHABI
import JHMachine

/// Fault sites of the driver layer. Every one is a call the C driver makes whose failure
/// it handles; `jhsim faults list` prints them with the other layers' sites.
public enum DriverFaultSites {
    public static let vmxFeatureControl = "vmx_feature_control"
    public static let requestFirmware = "request_firmware"
    public static let requestMemRegion = "request_mem_region"
    public static let ioremap = "ioremap"
    public static let sysfsCore = "sysfs_core_init"
    public static let cellObjectAlloc = "cell_kzalloc"
    public static let cellRegionsAlloc = "cell_vmalloc"
    /// A management hypercall the hypervisor refuses (`state=` names it: CELL_CREATE,
    /// CELL_START, CELL_SET_LOADABLE, CELL_DESTROY), so a rule can aim at "the hypercall
    /// fails" without knowing which step inside the hypervisor would fail.
    public static let hypercall = "hypercall"

    public static let all: [FaultSiteInfo] = [
        FaultSiteInfo(.vmxFeatureControl, layer: .driver,
                      meaning: "enable: IA32_FEATURE_CONTROL does not allow VMXON (\"VT-x disabled by Firmware/BIOS\")"),
        FaultSiteInfo(.requestFirmware, layer: .driver,
                      meaning: "enable: request_firmware cannot find jailhouse-intel.bin"),
        FaultSiteInfo(.requestMemRegion, layer: .driver,
                      meaning: "enable: the hypervisor window is not reserved (missing memmap=)"),
        FaultSiteInfo(.ioremap, layer: .driver,
                      meaning: "enable/load: mapping physical memory into the kernel fails"),
        FaultSiteInfo(.sysfsCore, layer: .driver,
                      meaning: "enable: creating the sysfs 'core' file fails"),
        FaultSiteInfo(.cellObjectAlloc, layer: .driver,
                      meaning: "cell_create: kzalloc of the driver's struct cell fails"),
        FaultSiteInfo(.cellRegionsAlloc, layer: .driver,
                      meaning: "cell_create: vmalloc of the memory-region or PCI-device copy fails"),
        FaultSiteInfo(.hypercall, layer: .driver,
                      meaning: "a management hypercall fails before the hypervisor acts; state= (or nr=) names it: CELL_CREATE, CELL_START, CELL_SET_LOADABLE, CELL_DESTROY"),
    ]
}

/// The typed handles of this layer's sites (ids 32…47), for `Machine.check`.
extension FaultSiteKey {
    public static let vmxFeatureControl = FaultSiteKey(32, DriverFaultSites.vmxFeatureControl, defaultErrno: .noDevice)
    public static let requestFirmware = FaultSiteKey(33, DriverFaultSites.requestFirmware, defaultErrno: .noEntry)
    public static let requestMemRegion = FaultSiteKey(34, DriverFaultSites.requestMemRegion, defaultErrno: .invalidArgument)
    public static let ioremap = FaultSiteKey(35, DriverFaultSites.ioremap, defaultErrno: .invalidArgument)
    public static let sysfsCore = FaultSiteKey(36, DriverFaultSites.sysfsCore, defaultErrno: .noMemory)
    public static let cellObjectAlloc = FaultSiteKey(37, DriverFaultSites.cellObjectAlloc, defaultErrno: .noMemory)
    public static let cellRegionsAlloc = FaultSiteKey(38, DriverFaultSites.cellRegionsAlloc, defaultErrno: .noMemory)
    public static let hypercall = FaultSiteKey(39, DriverFaultSites.hypercall, defaultErrno: .noMemory)
}
