import JHABI
import JHConfig
import JHHypervisor
import JHLinux
import JHMachine

/// An open file description of /dev/jailhouse: which simulated process holds it.
public struct DeviceFile: Hashable, Sendable {
    public let pid: PID
    public let credentials: Credentials
}

/// The Jailhouse Linux driver (driver/main.c, cell.c, pci.c, sysfs.c) re-expressed on
/// the simulated kernel, calling the simulated hypervisor through hypercalls.
///
/// Its state is the C driver's globals, owned by this object instead of being global:
/// `jailhouse_lock`, `jailhouse_enabled`, the `cells` list with `root_cell` first,
/// `offlined_cpus`, the PCI stub's claimed list and the hypervisor window.
public final class JailhouseDriver: @unchecked Sendable {
    public let kernel: Kernel
    public let hypervisor: Hypervisor
    public var machine: Machine { kernel.machine }

    /// `jailhouse_lock`: serialises every command.
    let jailhouseLock: KernelMutex
    /// `jailhouse_enabled`.
    public internal(set) var enabled = false
    /// The registered cells in creation order; the root cell is first.
    public internal(set) var cells: [DriverCell] = []
    /// `root_cell`: exists from `prepare_root` at enable until disable.
    public internal(set) var rootCell: DriverCell?
    /// `offlined_cpus`: the CPUs the driver itself took offline for non-root cells.
    public internal(set) var offlinedCPUs = CPUSet()
    /// PCI devices bound to jailhouse-pci-stub by CLAIM (`claimed_devs`).
    public internal(set) var claimedDevices: [PCIAddress] = []
    /// The module reference count held by a successful enable.
    public internal(set) var moduleReferences = 0
    /// `hypervisor_mem_res` + mapping: the reserved hypervisor window, if any.
    public internal(set) var hypervisorWindow: (phys: UInt64, size: UInt64)?
    /// `hv_core_and_percpu_size` of the last enable.
    var coreAndPerCPUSize: UInt64 = 0
    /// `console_available`: the system flag VIRTUAL_DEBUG_CONSOLE.
    var consoleAvailable = false
    /// Whether the sysfs `core` file exists (created at enable, kept across disable).
    var sysfsCoreSize: UInt64?
    /// `/sys/devices/jailhouse/cells`, created at module init.
    var cellsDirNode: SysfsNode?
    /// Detached `cells/<id>` subtrees of deleted cells, reused by the next create (see
    /// `CellSysfsStorage`).
    var cellSysfsPool: [CellSysfsStorage] = []

    public static let stubDriverName = "jailhouse-pci-stub"
    /// Upstream's `root_cell` after a failed `jailhouse_cell_prepare_root`: ERR_PTR, not
    /// NULL (quirk 15). `rootCell` is nil then; this says the C pointer is not.
    var rootCellErrPtr: Errno?
    /// A hang found deep inside a command whose code path throws errnos (enable).
    var pendingHang: SimulationHang?

    /// Mirrors `jailhouse_init` in driver/main.c: the root device with its sysfs
    /// attributes and the `cells` directory, the misc device and the PCI stub driver.
    public init(kernel: Kernel, hypervisor: Hypervisor) {
        self.kernel = kernel
        self.hypervisor = hypervisor
        jailhouseLock = KernelMutex(name: "jailhouse_lock")
        sysfsInit()
        pciRegisterStub()
        machine.record(DriverTrace.moduleInit)
    }

    /// Opens /dev/jailhouse for a process. The device node is root-only in real systems;
    /// here the rule is explicit: CAP_SYS_ADMIN in the effective set, else EPERM.
    public func open(pid: PID, credentials: Credentials) throws(Errno) -> DeviceFile {
        guard credentials.hasSysAdmin else {
            machine.record(DriverTrace.openDenied, result: .error(.notPermitted), a: Int(pid.rawValue), text: credentials.text)
            throw .notPermitted
        }
        machine.record(DriverTrace.open, result: .ok, a: Int(pid.rawValue))
        return DeviceFile(pid: pid, credentials: credentials)
    }

    /// Mirrors `jailhouse_ioctl` in driver/main.c: a flat switch over the six commands.
    /// - Returns: 0 or a negative errno, as the system call returns it.
    /// - Throws: `SimulationHang` when a hypercall would wait forever.
    public func ioctl(_ file: DeviceFile, _ command: IoctlCommand, _ arg: UInt64) throws(SimulationHang) -> Int64 {
        // The system call runs on the caller's CPU, as in the real kernel, so the driver's
        // own work there (hypercalls, hotplug control steps) needs no thread handoff. Only
        // done for the boot CPU when it cannot go offline: the caller never migrates
        // mid-call then, and no CPU it waits for ever waits for it.
        if !machine.isInline, !kernel.bootCPUHotpluggable, callerCPU(file) == 0 {
            return try machine.run(on: 0) { () throws(SimulationHang) -> Int64 in try ioctlOnCaller(file, command, arg) }
        }
        return try ioctlOnCaller(file, command, arg)
    }

    private func ioctlOnCaller(_ file: DeviceFile, _ command: IoctlCommand, _ arg: UInt64) throws(SimulationHang) -> Int64 {
        // The calling process is `current` for fault rules with task= (and verbose=2).
        let caller = machine.task
        machine.task = FaultTask(pid: Int(file.pid.rawValue), name: kernel.processName(file.pid) ?? "")
        defer { machine.task = caller }
        machine.record(DriverTrace.ioctl, a: Int(command.rawValue), b: Int(bitPattern: UInt(arg)), c: Int(file.pid.rawValue))
        let result: Int64
        if let o = kernel.oops {
            // The oopsing process died holding jailhouse_lock: every later ioctl sleeps in
            // mutex_lock_interruptible forever.
            machine.record(DriverTrace.ioctlBlocked, a: Int(command.rawValue))
            var h = SimulationHang(waiter: "\(command.name) in mutex_lock_interruptible(jailhouse_lock)",
                                   reason: "the process that held the lock was killed by an earlier \(o)", machine: machine)
            h.oops = o
            throw h
        }
        do throws(DriverFailure) {
            switch command {
            case .enable: try cmdEnable(file, arg)
            case .disable: try cmdDisable(file)
            case .cellCreate: try cmdCellCreate(file, arg)
            case .cellLoad: try cmdCellLoad(file, arg)
            case .cellStart: try cmdCellStart(file, arg)
            case .cellDestroy: try cmdCellDestroy(file, arg)
            default:
                throw DriverFailure.errno(machine.profile.has(.unknownIoctlIsEINVAL) ? .invalidArgument : .notTTY)
            }
            result = 0
        } catch let failure {
            switch failure {
            case .errno(let e): result = e.negated
            case .hang(let h):
                machine.record(DriverTrace.ioctlHangs, a: Int(command.rawValue))
                throw h
            }
        }
        if let o = kernel.oops {
            machine.record(DriverTrace.ioctlOopsed, a: Int(command.rawValue))
            throw SimulationHang(oops: o, during: command.name, machine: machine)
        }
        machine.record(DriverTrace.ioctlEnd, result: result == 0 ? .ok : .error(Errno(rawValue: Int32(-result))),
                       a: Int(command.rawValue))
        return result
    }

    /// Reads the hypervisor console through the device (`jailhouse console`).
    public func readConsole(_ file: DeviceFile) -> String {
        hypervisor.console
    }

    /// Whether `jailhouse_lock` is free (every ioctl must release it on every path).
    public var lockIsFree: Bool { !jailhouseLock.isLocked }

    /// The driver's cell with this id, registered or not.
    public func cell(id: CellID) -> DriverCell? { cells.first { $0.id == id } }
}

/// What a command can end with: an errno, or a simulated hang that stops the run.
enum DriverFailure: Error {
    case errno(Errno)
    case hang(SimulationHang)
}

extension JailhouseDriver {
    // MARK: Thin wrappers over the kernel, one place for the seam.

    func lock(_ file: DeviceFile) throws(Errno) {
        try kernel.mutexLockInterruptible(jailhouseLock, pid: file.pid)
    }

    func unlock(_ file: DeviceFile) {
        kernel.mutexUnlock(jailhouseLock, pid: file.pid)
    }

    func kernelAlloc(_ size: Int, tag: String, site: FaultSiteKey) throws(Errno) -> UInt64 {
        try machine.check(site)
        return try kernel.kmalloc(size, tag: tag)
    }

    func log(_ level: LogLevel, _ text: String) {
        kernel.printk(level, text)
    }

    /// Logs a typed line (rendered only when read or traced).
    func log(_ level: LogLevel, _ line: LogLine) {
        kernel.printk(level, line)
    }

    /// printk formats of the create/destroy path (driver/cell.c).
    static let createdCellMessage = LogFormat("Created Jailhouse cell \"%s\"")
    static let destroyedCellMessage = LogFormat("Destroyed Jailhouse cell \"%s\"")

    /// The CPU the calling process runs on: its own if still online, else the lowest
    /// online CPU (the scheduler migrates it when its CPU goes away).
    func callerCPU(_ file: DeviceFile) -> CPUID {
        let own = kernel.processCPU(file.pid) ?? 0
        return kernel.online.contains(own) ? own : (kernel.online.first ?? 0)
    }

    /// Issues a hypercall from the caller's CPU: `jailhouse_call_arg1` in driver/main.h.
    /// The `hypercall` fault site answers it with -errno before the hypervisor acts, the
    /// way a refused call returns to the driver's error paths.
    func hypercall(_ file: DeviceFile, _ code: HypercallCode, _ arg1: UInt64 = 0) throws(DriverFailure) -> Int64 {
        let short = code.name.hasPrefix("JAILHOUSE_HC_") ? String(code.name.dropFirst(13)) : code.name
        do { try machine.check(.hypercall, detail: short) } catch { return error.negated }
        do {
            return try hypervisor.hypercall(cpu: callerCPU(file), code, arg1)
        } catch {
            throw .hang(error)
        }
    }

    func copyFromUser(_ file: DeviceFile, _ address: UInt64, _ count: Int) throws(Errno) -> [UInt8] {
        try kernel.copyFromUser(file.pid, address, count: count)
    }
}
