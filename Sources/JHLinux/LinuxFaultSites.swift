import JHABI
import JHMachine

/// Every place the simulated Linux kernel can be made to fail, with its meaning.
///
/// `jhsim faults list` prints this catalog; `FaultRule(parsing:catalog:)` validates rules
/// against it. Hotplug sites exist only at *fallible* states, so
/// `cpu_down:cpu=3:nth=1` fails the first callback of CPU 3's offlining that could fail
/// in Linux.
public enum LinuxFaultSites {
    public static let kmalloc = "kmalloc"
    public static let copyFromUser = "copy_from_user"
    public static let copyToUser = "copy_to_user"
    public static let mutexLockInterruptible = "mutex_lock_interruptible"
    public static let cpuDown = "cpu_down"
    public static let cpuUp = "cpu_up"
    public static let cpuUpBringup = "cpu_up_bringup"
    public static let cpuhpRollback = "cpuhp_rollback"
    public static let sysfsCreate = "sysfs_create"
    public static let pciBind = "pci_bind"

    /// The hotplug states, the only details hotplug sites are hit with.
    static let hotplugStates = CPUHPState.allCases.map(\.cName)

    public static let all: [FaultSiteInfo] = [
        FaultSiteInfo(.kmalloc, layer: .linux,
                      meaning: "kmalloc/kzalloc returns NULL (the caller sees ENOMEM); state= matches the call-site tag", sized: true),
        FaultSiteInfo(.copyFromUser, layer: .linux,
                      meaning: "copy_from_user cannot read the user buffer (EFAULT); state= matches the process name", sized: true),
        FaultSiteInfo(.copyToUser, layer: .linux,
                      meaning: "copy_to_user cannot write the user buffer (EFAULT)"),
        FaultSiteInfo(.mutexLockInterruptible, layer: .linux,
                      meaning: "a signal interrupts mutex_lock_interruptible (EINTR); state= matches the lock name"),
        FaultSiteInfo(.cpuDown, layer: .linux,
                      meaning: "a fallible teardown callback of cpu_down fails (state= names the CPUHP_ state; the CPU rolls back online)", perCPU: true, details: hotplugStates),
        FaultSiteInfo(.cpuUp, layer: .linux,
                      meaning: "a fallible PREPARE or ONLINE startup callback of cpu_up fails (the CPU rolls back offline)", perCPU: true, details: hotplugStates),
        FaultSiteInfo(.cpuUpBringup, layer: .linux,
                      meaning: "the AP does not come alive after INIT/SIPI: cpu_up fails with EIO after the 10 s wait", perCPU: true, details: [CPUHPState.bringupCPU.cName]),
        FaultSiteInfo(.cpuhpRollback, layer: .linux,
                      meaning: "a callback fails while undoing a failed cpu_down/cpu_up; the CPU stays in the intermediate state", perCPU: true, details: hotplugStates),
        FaultSiteInfo(.sysfsCreate, layer: .linux,
                      meaning: "creating a sysfs directory or attribute fails (ENOMEM); state= matches the path"),
        FaultSiteInfo(.pciBind, layer: .linux,
                      meaning: "a PCI driver's probe fails while binding a device (the device stays unbound); state= matches the driver"),
    ]
}

/// The typed handles of this layer's sites (ids 0…15), for `Machine.check`.
extension FaultSiteKey {
    public static let kmalloc = FaultSiteKey(0, LinuxFaultSites.kmalloc, defaultErrno: .noMemory, attr: "failslab")
    public static let copyFromUser = FaultSiteKey(1, LinuxFaultSites.copyFromUser, defaultErrno: .badAddress, attr: "fail_usercopy")
    public static let copyToUser = FaultSiteKey(2, LinuxFaultSites.copyToUser, defaultErrno: .badAddress, attr: "fail_usercopy")
    public static let mutexLockInterruptible = FaultSiteKey(3, LinuxFaultSites.mutexLockInterruptible, defaultErrno: .interrupted)
    public static let cpuDown = FaultSiteKey(4, LinuxFaultSites.cpuDown, defaultErrno: .busy)
    public static let cpuUp = FaultSiteKey(5, LinuxFaultSites.cpuUp, defaultErrno: .noMemory)
    public static let cpuUpBringup = FaultSiteKey(6, LinuxFaultSites.cpuUpBringup, defaultErrno: .ioError)
    public static let cpuhpRollback = FaultSiteKey(7, LinuxFaultSites.cpuhpRollback, defaultErrno: .busy)
    public static let sysfsCreate = FaultSiteKey(8, LinuxFaultSites.sysfsCreate, defaultErrno: .noMemory)
    public static let pciBind = FaultSiteKey(9, LinuxFaultSites.pciBind, defaultErrno: .noDevice)
}
