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
        FaultSiteInfo(name: vmxFeatureControl, layer: .driver,
                      meaning: "enable: IA32_FEATURE_CONTROL does not allow VMXON (\"VT-x disabled by Firmware/BIOS\")",
                      defaultErrno: .noDevice),
        FaultSiteInfo(name: requestFirmware, layer: .driver,
                      meaning: "enable: request_firmware cannot find jailhouse-intel.bin",
                      defaultErrno: .noEntry),
        FaultSiteInfo(name: requestMemRegion, layer: .driver,
                      meaning: "enable: the hypervisor window is not reserved (missing memmap=)",
                      defaultErrno: .invalidArgument),
        FaultSiteInfo(name: ioremap, layer: .driver,
                      meaning: "enable/load: mapping physical memory into the kernel fails",
                      defaultErrno: .invalidArgument),
        FaultSiteInfo(name: sysfsCore, layer: .driver,
                      meaning: "enable: creating the sysfs 'core' file fails",
                      defaultErrno: .noMemory),
        FaultSiteInfo(name: cellObjectAlloc, layer: .driver,
                      meaning: "cell_create: kzalloc of the driver's struct cell fails",
                      defaultErrno: .noMemory),
        FaultSiteInfo(name: cellRegionsAlloc, layer: .driver,
                      meaning: "cell_create: vmalloc of the memory-region or PCI-device copy fails",
                      defaultErrno: .noMemory),
        FaultSiteInfo(name: hypercall, layer: .driver,
                      meaning: "a management hypercall fails before the hypervisor acts; state= (or nr=) names it: CELL_CREATE, CELL_START, CELL_SET_LOADABLE, CELL_DESTROY",
                      defaultErrno: .noMemory),
    ]
}
