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
        FaultSiteInfo(name: kmalloc, layer: .linux,
                      meaning: "kmalloc/kzalloc returns NULL (the caller sees ENOMEM); state= matches the call-site tag", defaultErrno: .noMemory),
        FaultSiteInfo(name: copyFromUser, layer: .linux,
                      meaning: "copy_from_user cannot read the user buffer (EFAULT); state= matches the process name", defaultErrno: .badAddress),
        FaultSiteInfo(name: copyToUser, layer: .linux,
                      meaning: "copy_to_user cannot write the user buffer (EFAULT)", defaultErrno: .badAddress),
        FaultSiteInfo(name: mutexLockInterruptible, layer: .linux,
                      meaning: "a signal interrupts mutex_lock_interruptible (EINTR); state= matches the lock name",
                      defaultErrno: .interrupted),
        FaultSiteInfo(name: cpuDown, layer: .linux,
                      meaning: "a fallible teardown callback of cpu_down fails (state= names the CPUHP_ state; the CPU rolls back online)",
                      defaultErrno: .busy, perCPU: true, details: hotplugStates),
        FaultSiteInfo(name: cpuUp, layer: .linux,
                      meaning: "a fallible PREPARE or ONLINE startup callback of cpu_up fails (the CPU rolls back offline)",
                      defaultErrno: .noMemory, perCPU: true, details: hotplugStates),
        FaultSiteInfo(name: cpuUpBringup, layer: .linux,
                      meaning: "the AP does not come alive after INIT/SIPI: cpu_up fails with EIO after the 10 s wait",
                      defaultErrno: .ioError, perCPU: true, details: [CPUHPState.bringupCPU.cName]),
        FaultSiteInfo(name: cpuhpRollback, layer: .linux,
                      meaning: "a callback fails while undoing a failed cpu_down/cpu_up; the CPU stays in the intermediate state",
                      defaultErrno: .busy, perCPU: true, details: hotplugStates),
        FaultSiteInfo(name: sysfsCreate, layer: .linux,
                      meaning: "creating a sysfs directory or attribute fails (ENOMEM); state= matches the path", defaultErrno: .noMemory),
        FaultSiteInfo(name: pciBind, layer: .linux,
                      meaning: "a PCI driver's probe fails while binding a device (the device stays unbound); state= matches the driver",
                      defaultErrno: .noDevice),
    ]
}
