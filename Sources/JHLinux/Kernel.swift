import JHABI
import JHMachine

/// A simulated process id.
public struct PID: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static func < (a: PID, b: PID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "pid\(rawValue)" }
}

/// The simulated root-cell Linux kernel: CPU hotplug, cpumasks, kmalloc, processes with
/// user memory, mutexes with signals, printk, sysfs and a PCI bus.
///
/// It models what the Jailhouse driver (driver/*.c) needs from Linux and nothing more.
/// Every primitive charges virtual time from `machine.cost`, records trace events
/// (`layer: .linux`) and passes the fault seam (`LinuxFaultSites`).
///
/// Thread safety: like `Machine`, state is touched only by the running activity; hotplug
/// callbacks that run on another vCPU's queue run while the caller waits.
public final class Kernel: @unchecked Sendable {
    public let machine: Machine
    let cpuDirNames: [String]

    /// Whether the boot CPU can be offlined. x86 Linux ≥ 6.5 cannot (CPU 0's device has
    /// `offline_disabled`, so `remove_cpu(0)` is EPERM and `cpu0/online` does not exist);
    /// older kernels with CONFIG_BOOTPARAM_HOTPLUG_CPU0 could.
    public let bootCPUHotpluggable: Bool
    /// The kernel release the box runs: it decides which hotplug calls the Jailhouse
    /// driver makes (`cpu_down`/`cpu_up` before 5.7, `remove_cpu`/`add_cpu` since).
    public let version: KernelVersion

    /// Platform hook to bring an AP up: sends INIT/SIPI to the CPU and says whether it
    /// came alive. Bare metal: always true. With Jailhouse enabled the lab wires this to
    /// the hypervisor, which refuses CPUs owned by non-root cells; Linux then waits 10 s
    /// and `cpu_up` fails with EIO ("CPU n failed to report alive state").
    public var startupIPI: (CPUID) -> Bool = { _ in true }
    /// Called after a CPU is dead at the end of a successful `cpu_down` (on the control
    /// CPU), for layers that track CPUs leaving Linux.
    public var onCPUOffline: (CPUID) -> Void = { _ in }
    /// Called after a successful `add_cpu` brought a CPU online (an online-state hotplug
    /// callback, `cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, …)`), for layers that track
    /// CPUs coming back to Linux by any path, the admin's included.
    public var onCPUOnline: (CPUID) -> Void = { _ in }

    /// Per-CPU hotplug state machines (`cpuhp_state`).
    var cpuhp: [CPUHotplugMachine]
    /// `dev->offline` of each CPU device: set only by a successful `device_offline`.
    var deviceOffline: [Bool]
    /// `cpu_online_mask`.
    public internal(set) var online: CPUSet
    /// `tsc_khz` as calibrated at boot, and the local APIC timer's ticks per jiffy
    /// (`lapic_timer_period`) with HZ = 250: the simulated box's clocks.
    public let tscKHz: UInt32 = 2_400_000
    public let lapicTimerPeriod: UInt32 = 4_000_000
    public static let hz: UInt32 = 250
    /// Set once kernel code oopsed (`die()`): the kernel is tainted from then on.
    public internal(set) var oops: KernelOops?
    /// CPUs left in an intermediate hotplug state by a failed rollback, with the report.
    public internal(set) var rollbackFailures: [HotplugRollbackFailure] = []

    public let sysfs: Sysfs
    /// The PCI bus (created on first use; it refers back to the kernel).
    public private(set) lazy var pci: PCIBus = PCIBus(kernel: self)

    // Processes, memory, log.
    var processes: [PID: Process] = [:]
    var nextPID: Int32 = 1000
    var heap = KernelHeap()
    public internal(set) var log = PrintkBuffer()

    /// Boots the kernel: every CPU of the machine is possible, present and online (CPU 0
    /// is the boot CPU); sysfs holds the CPU files; a status provider describes each
    /// CPU's hotplug state.
    public init(machine: Machine, bootCPUHotpluggable: Bool = false, version: KernelVersion = .current) {
        self.machine = machine
        self.bootCPUHotpluggable = bootCPUHotpluggable
        self.version = version
        let n = machine.cpuCount
        cpuDirNames = (0..<n).map { "cpu\($0)" }
        cpuhp = Array(repeating: CPUHotplugMachine(state: .online), count: n)
        deviceOffline = Array(repeating: false, count: n)
        online = CPUSet(range: 0..<n)
        sysfs = Sysfs(machine: machine)
        registerCPUSysfs()
        sysfs.mkdirs("/sys/bus/pci/devices")
        sysfs.mkdirs("/sys/bus/pci/drivers")
        machine.addStatusProvider("linux") { [weak self] cpu in self?.cpuStatus(cpu) ?? "-" }
        machine.record(LinuxTrace.boot, result: .ok, a: n, set: online)
        printk(.info, "smp: Brought up 1 node, \(n) CPUs")
    }

    // MARK: cpumasks (include/linux/cpumask.h)

    /// `nr_cpu_ids`: one more than the highest possible CPU number.
    public var nrCPUIDs: Int { machine.cpuCount }
    /// `cpu_possible_mask` (= present: the simulator has no hot-add).
    public var possible: CPUSet { machine.allCPUs }
    /// `cpu_present_mask`.
    public var present: CPUSet { machine.allCPUs }
    /// `num_online_cpus()`.
    public var numOnlineCPUs: Int { online.count }
    /// `cpu_online(cpu)`.
    public func cpuOnline(_ cpu: CPUID) -> Bool { online.contains(cpu) }
    /// `cpu_possible(cpu)`.
    public func cpuPossible(_ cpu: CPUID) -> Bool { cpu >= 0 && cpu < nrCPUIDs }

    /// The hotplug state of a CPU.
    public func hotplugState(_ cpu: CPUID) -> CPUHPState? {
        cpuPossible(cpu) ? cpuhp[cpu].state : nil
    }

    /// One word for status lines: `online`, `offline`, or where a CPU is stuck/going.
    public func cpuStatus(_ cpu: CPUID) -> String {
        guard cpuPossible(cpu) else { return "absent" }
        let m = cpuhp[cpu]
        switch m.phase {
        case .running(let d, _, _):
            return (d == .down ? "teardown@" : "bringup@") + (m.pending ?? m.state).cName
        case .rollingBack:
            return "rollback@" + (m.pending ?? m.state).cName
        case .idle:
            switch m.state {
            case .online: return "online"
            case .offline: return "offline"
            default: return "stuck@" + m.state.cName
            }
        }
    }

    // MARK: Trace helper

    @discardableResult
    @inline(__always)
    func record(_ kind: TraceKind, cpu: CPUID? = nil, result: TraceResult = .none,
                a: Int = 0, b: Int = 0, c: Int = 0, text: String = "") -> UInt64 {
        machine.record(kind, cpu: cpu, result: result, a: a, b: b, c: c, text: text)
    }

    // MARK: sysfs CPU files (drivers/base/cpu.c, drivers/base/core.c)

    /// `cpuN` for every CPU, built once at boot (sysfs names, so none is built per step).
    public func cpuDirName(_ cpu: CPUID) -> String {
        cpu >= 0 && cpu < cpuDirNames.count ? cpuDirNames[cpu] : "cpu\(cpu)"
    }

    private func registerCPUSysfs() {
        let base = "/sys/devices/system/cpu"
        sysfs.mkdirs(base)
        // Mirrors print_cpus_*/show_cpus_attr in drivers/base/cpu.c: "%*pbl\n".
        try? sysfs.createFile(base + "/online", show: { [unowned self] () throws(Errno) in online.rangeList + "\n" }, checked: false)
        try? sysfs.createFile(base + "/possible", show: { [unowned self] () throws(Errno) in possible.rangeList + "\n" }, checked: false)
        try? sysfs.createFile(base + "/present", show: { [unowned self] () throws(Errno) in present.rangeList + "\n" }, checked: false)
        try? sysfs.createFile(base + "/offline", show: { [unowned self] () throws(Errno) in
            possible.subtracting(online).rangeList + "\n"
        }, checked: false)
        try? sysfs.createFile(base + "/kernel_max", show: { [unowned self] () throws(Errno) in "\(nrCPUIDs - 1)\n" }, checked: false)
        registerHotplugFailFiles(base)
        for cpu in 0..<nrCPUIDs {
            sysfs.mkdirs(base + "/cpu\(cpu)")
            // The `online` attribute exists only for hotpluggable CPUs (device_add skips
            // it when offline_disabled is set).
            guard cpu != 0 || bootCPUHotpluggable else { continue }
            try? sysfs.createFile(base + "/cpu\(cpu)/online",
                                  show: { [unowned self] () throws(Errno) in deviceOffline[cpu] ? "0\n" : "1\n" },
                                  store: { [unowned self] (text: String) throws(Errno) in try storeOnline(cpu, text) },
                                  checked: false)
        }
    }

    /// Mirrors `online_store` (drivers/base/core.c): `kstrtobool`, then
    /// `device_online`/`device_offline`; "already in that state" is a success.
    func storeOnline(_ cpu: CPUID, _ text: String) throws(Errno) {
        guard let value = Self.kstrtobool(text) else { throw .invalidArgument }
        record(LinuxTrace.sysfsStoreOnline, cpu: cpu, a: cpu, b: value ? 1 : 0)
        if value { try addCPU(cpu) } else { try removeCPU(cpu) }
    }

    /// Mirrors `kstrtobool` (lib/kstrtox.c): decides on the first one or two characters.
    public static func kstrtobool(_ s: String) -> Bool? {
        let c = Array(s.utf8)
        guard let f = c.first else { return nil }
        switch f {
        case UInt8(ascii: "y"), UInt8(ascii: "Y"), UInt8(ascii: "t"), UInt8(ascii: "T"), UInt8(ascii: "1"): return true
        case UInt8(ascii: "n"), UInt8(ascii: "N"), UInt8(ascii: "f"), UInt8(ascii: "F"), UInt8(ascii: "0"): return false
        case UInt8(ascii: "o"), UInt8(ascii: "O"):
            guard c.count > 1 else { return nil }
            switch c[1] {
            case UInt8(ascii: "n"), UInt8(ascii: "N"): return true
            case UInt8(ascii: "f"), UInt8(ascii: "F"): return false
            default: return nil
            }
        default: return nil
        }
    }
}

/// What is left behind when undoing a failed hotplug operation failed too.
public struct HotplugRollbackFailure: Hashable, Sendable {
    public var cpu: CPUID
    /// The operation: `cpu_down` or `cpu_up`.
    public var operation: String
    public var error: Errno
    public var failedAt: CPUHPState
    public var rollbackError: Errno
    /// Where the CPU is left.
    public var stuckAt: CPUHPState
    public var time: VirtualTime
}
