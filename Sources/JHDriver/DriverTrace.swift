import JHABI
import JHLinux
import JHMachine

/// The Jailhouse driver's trace kinds (ids 0x3000–0x3fff).
///
/// `JailhouseDriver` records them with numeric arguments only; a cell's name or a PCI
/// driver's name is passed as the text argument (a reference to the existing string).
public enum DriverTrace {
    public static let ids: ClosedRange<UInt16> = 0x3000...0x3fff

    /// Formats the templates below use: the Linux ones (`pci`, …) plus ioctl names and
    /// process ids as `pid1000`.
    public static let formats: [String: @Sendable (Int) -> String] = LinuxTrace.formats.merging([
        "ioctl": { IoctlCommand(rawValue: UInt32(truncatingIfNeeded: $0)).name },
        "pid": { "pid\($0)" },
    ]) { a, _ in a }

    static func k(_ n: UInt16, _ op: String, phase: TracePhase = .instant, _ template: String = "",
                  mirrors: String? = nil, legacy: TraceKind.Legacy = .same) -> TraceKind {
        TraceKind(id: 0x3000 + n, .driver, op, phase: phase, template, mirrors: mirrors, formats: formats, legacy: legacy)
    }

    // driver/main.c
    public static let moduleInit = k(0x01, "module_init", "jailhouse", mirrors: "jailhouse_init (driver/main.c)")
    public static let openDenied = k(0x02, "open", "/dev/jailhouse pid={pid:a:pid} caps={caps:t} (needs cap_sys_admin in the effective set)")
    public static let open = k(0x03, "open", "/dev/jailhouse pid={pid:a:pid}")
    public static let ioctl = k(0x04, "ioctl", phase: .begin, "{name:a:ioctl} arg=0x{arg:b:x} pid={pid:c:pid}",
                                mirrors: "jailhouse_ioctl (driver/main.c)")
    public static let ioctlHangs = k(0x05, "ioctl", phase: .end, "{name:a:ioctl} hangs")
    public static let ioctlEnd = k(0x06, "ioctl", phase: .end, "{name:a:ioctl}")
    public static let enterHypervisor = k(0x07, "enter_hypervisor", "cpus={cpus:s}", mirrors: "enter_hypervisor (driver/main.c)")
    public static let leaveHypervisor = k(0x08, "leave_hypervisor", "cpus={cpus:s}", mirrors: "leave_hypervisor (driver/main.c)")
    /// The set argument is the online CPUs; the text argument the root cell's, as a list.
    public static let disableBusy = k(0x09, "disable", "online={online:s} root={root:t}", mirrors: "jailhouse_cmd_disable (driver/main.c)")

    // driver/cell.c
    /// The set argument is the cell's CPUs; the text argument the root cell's, as a list.
    public static let cpumaskSubset = k(0x10, "cpumask_subset", "cell={cell:s} root={root:t}",
                                        mirrors: "jailhouse_cmd_cell_create (driver/cell.c)")
    public static let removeCPUFailed = k(0x11, "remove_cpu", "cpu={cpu:a}", mirrors: "jailhouse_cmd_cell_create (driver/cell.c)")
    public static let offlinedCPUs = k(0x12, "offlined_cpus", "set cpu={cpu:a} now={now:s}")
    /// The fixed profile's online notifier dropping a CPU the driver owed (see `cpuCameOnline`).
    public static let offlinedCPUsPaid = k(0x3c, "offlined_cpus", "clear cpu={cpu:a} (came online) now={now:s}", legacy: .absent)
    public static let addCPURollback = k(0x13, "add_cpu", "cpu={cpu:a} (rollback)",
                                         mirrors: "jailhouse_cmd_cell_create error_cpu_online (driver/cell.c)")
    public static let addCPU = k(0x14, "add_cpu", "cpu={cpu:a}", mirrors: "cell_destroy (driver/cell.c)")
    public static let loadImageNoRegion = k(0x15, "load_image", "target=0x{target:a:x} in no region", mirrors: "load_image (driver/cell.c)")
    public static let loadImageTooBig = k(0x16, "load_image", "target=0x{target:a:x} size={size:b:u} region=0x{region:c:x}",
                                          mirrors: "load_image (driver/cell.c)")
    public static let loadImage = k(0x17, "load_image", "cell={cell:t} bytes={bytes:a:u} target=0x{target:b:x} phys=0x{phys:c:x}",
                                    mirrors: "load_image (driver/cell.c)")
    public static let cellCreate = k(0x18, "cell_create", "id={id:a} name={name:t} cpus={cpus:s}", mirrors: "cell_create (driver/cell.c)")
    public static let cellRegister = k(0x19, "cell_register", "id={id:a} name={name:t}", mirrors: "cell_register (driver/cell.c)")
    public static let cellDelete = k(0x1a, "cell_delete", "id={id:a} name={name:t}", mirrors: "cell_delete (driver/cell.c)")

    // The branches that decide an outcome, so every error and every quiet path says why.
    public static let notEnabled = k(0x60, "jailhouse_enabled", "no", mirrors: "if (!jailhouse_enabled) (driver/cell.c, driver/main.c)", legacy: .absent)
    public static let alreadyEnabled = k(0x61, "jailhouse_enabled", "yes", mirrors: "if (jailhouse_enabled) in jailhouse_cmd_enable (driver/main.c)", legacy: .absent)
    /// Text argument: the cell's name.
    public static let findCellExists = k(0x62, "find_cell", "name={name:t} id={id:a}", mirrors: "find_cell (driver/cell.c)", legacy: .absent)
    /// Text argument: the id or name asked for.
    public static let findCellMissing = k(0x63, "find_cell", "{cell:t} not found", mirrors: "find_cell (driver/cell.c)", legacy: .absent)
    public static let cpuZero = k(0x64, "cpu0", "cpu=0", mirrors: "jailhouse_cmd_cell_create (driver/cell.c)", legacy: .absent)
    public static let cpuAlreadyOffline = k(0x65, "cpu_online", "cpu={cpu:a} offline", mirrors: "if (cpu_online(cpu)) in jailhouse_cmd_cell_create (driver/cell.c)", legacy: .absent)
    public static let rootCPUClear = k(0x66, "root_cpus", "clear cpu={cpu:a} now={now:s}", mirrors: "cpumask_clear_cpu(cpu, &root_cell->cpus_assigned) (driver/cell.c)", legacy: .absent)
    public static let rootCPUSet = k(0x67, "root_cpus", "set cpu={cpu:a} now={now:s}", mirrors: "cpumask_set_cpu(cpu, &root_cell->cpus_assigned) (driver/cell.c)", legacy: .absent)
    public static let offlinedCPUsClear = k(0x68, "offlined_cpus", "clear cpu={cpu:a} now={now:s}", mirrors: "cpumask_clear_cpu(cpu, &offlined_cpus) (driver/cell.c)", legacy: .absent)
    /// Text argument: the hypercall's name.
    public static let hypercallFailed = k(0x69, "hypercall_failed", "{name:t}", mirrors: "jailhouse_call_arg1 (driver/main.h)", legacy: .absent)
    public static let notOfflinedByDriver = k(0x6a, "offlined_cpus", "cpu={cpu:a} not in offlined_cpus", mirrors: "cell_destroy (driver/cell.c)", legacy: .absent)
    public static let addCPURollbackFailed = k(0x6b, "offlined_cpus", "keep cpu={cpu:a} now={now:s}", mirrors: "jailhouse_cmd_cell_create error_cpu_online (driver/cell.c)", legacy: .absent)

    // The seed's driver (Linux ≤ 5.6): the exported cpu_down/cpu_up instead of remove_cpu/add_cpu.
    public static let cpuDownFailed = k(0x70, "cpu_down", "cpu={cpu:a}", mirrors: "jailhouse_cmd_cell_create (driver/cell.c, Linux ≤ 5.6)", legacy: .absent)
    public static let cpuUpRollback = k(0x71, "cpu_up", "cpu={cpu:a} (rollback)",
                                        mirrors: "jailhouse_cmd_cell_create error_cpu_online (driver/cell.c, Linux ≤ 5.6)", legacy: .absent)
    public static let cpuUp = k(0x72, "cpu_up", "cpu={cpu:a}", mirrors: "cell_destroy (driver/cell.c, Linux ≤ 5.6)", legacy: .absent)

    // driver/pci.c
    /// Text argument: the previous driver's name, or `none`.
    public static let pciClaim = k(0x20, "pci_claim", "{dev:a:pci} from={from:t} to=jailhouse-pci-stub",
                                   mirrors: "jailhouse_pci_claim_release (driver/pci.c)")
    public static let pciRelease = k(0x21, "pci_release", "{dev:a:pci}", mirrors: "jailhouse_pci_claim_release (driver/pci.c)")
    // round two of fidelity: the max_cpus hang, vmalloc(0), oopses
    public static let enterBeyondMaxCPUs = k(0x50, "enter_hypervisor", "cpus={cpus:s} >= max_cpus={max:a}",
                                             mirrors: "enter_hypervisor (driver/main.c)")
    public static let vmallocZero = k(0x51, "vmalloc", "size=0 (no memory regions) returns NULL", mirrors: "vmalloc (mm/vmalloc.c)")
    public static let ioctlBlocked = k(0x52, "ioctl", phase: .end, "{name:a:ioctl} blocks on jailhouse_lock")
    public static let ioctlOopsed = k(0x53, "ioctl", phase: .end, "{name:a:ioctl} oopsed")

    public static let all: [TraceKind] = [
        enterBeyondMaxCPUs, vmallocZero, ioctlBlocked, ioctlOopsed,
        moduleInit, openDenied, open, ioctl, ioctlHangs, ioctlEnd, enterHypervisor, leaveHypervisor, disableBusy,
        cpumaskSubset, removeCPUFailed, offlinedCPUs, addCPURollback, addCPU, loadImageNoRegion, loadImageTooBig, loadImage,
        cellCreate, cellRegister, cellDelete, pciClaim, pciRelease,
        notEnabled, alreadyEnabled, findCellExists, findCellMissing, cpuZero, cpuAlreadyOffline, rootCPUClear, rootCPUSet,
        offlinedCPUsClear, hypercallFailed, notOfflinedByDriver, addCPURollbackFailed, offlinedCPUsPaid,
        consoleRead,
        cpuDownFailed, cpuUpRollback, cpuUp,
    ]
}

extension PCIAddress {
    /// The packed form trace events carry: domain << 16 | bdf (see `LinuxTrace`).
    var driverTraceValue: Int { Int(domain) << 16 | Int(bdf) }
}
