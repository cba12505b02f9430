import JHABI

/// The hypervisor's per-CPU public data (`struct public_per_cpu` plus the x86 fields the
/// simulation needs): owner, statistics, failed, suspension and wait-for-SIPI.
///
/// One object per CPU so broadcast work on different CPUs never touches the same storage
/// (an array of values would be one variable shared by every thread).
final class PerCPU: @unchecked Sendable {
    let cpu: CPUID
    /// The hypervisor runs on this CPU (between a successful enable and disable).
    var active = false
    /// Id of the owning cell (`per_cpu.cell`).
    var cellID: UInt32?
    /// VM-exit counters, indexed by `CPUStatistic.rawValue`.
    var stats = [UInt32](repeating: 0, count: CPUStatistic.allCases.count)
    /// `failed`: set by `panic_park`, cleared by start, set-loadable and destroy.
    var failed = false
    /// `wait_for_sipi`: parked by INIT; runs no guest code until a SIPI or a reset.
    var waitForSIPI = false
    /// `shutdown_state`: 0 NONE, 1 STARTED, or a negative errno.
    var shutdownState: Int64 = 0
    /// The executor thread (vCPU queue) that last acknowledged a suspension; nil for
    /// executors without per-CPU threads. Tests use it to see the handshake really ran there.
    var ackThread: CPUID?
    /// Whether the acknowledgement ran at all (set on the target's own thread).
    var ackCount = 0

    init(cpu: CPUID) { self.cpu = cpu }

    func count(_ s: CPUStatistic) {
        stats[s.rawValue] &+= 1
        if s != .total { stats[CPUStatistic.total.rawValue] &+= 1 }
    }
    func zeroStats() { stats = [UInt32](repeating: 0, count: stats.count) }
}

/// What a CPU does from the hypervisor's point of view.
public enum HVCPUState: String, Hashable, Sendable, CustomStringConvertible {
    /// The hypervisor is not running on this CPU (not enabled, disabled, or not a system CPU).
    case inactive
    /// Running root-cell (Linux) code.
    case runningRoot
    /// Waiting inside the hypervisor after acknowledging `suspend_cpu`.
    case suspended
    /// In wait-for-SIPI after `arch_park_cpu`: runs nothing until a SIPI or reset.
    case parked
    /// Running a non-root cell's inmate.
    case runningCell
    /// Panic-parked (`failed` set): ignores SIPIs until start, set-loadable or destroy.
    case failed

    public var description: String {
        switch self {
        case .inactive: "hypervisor not active"
        case .runningRoot: "running root cell code"
        case .suspended: "suspended in the hypervisor"
        case .parked: "parked (wait-for-SIPI)"
        case .runningCell: "running cell code"
        case .failed: "failed (panic-parked)"
        }
    }
}

/// One cell as the inspection API shows it.
public struct HVCellInfo: Hashable, Sendable {
    public var id: UInt32
    public var name: String
    public var cpus: CPUSet
    public var state: CellState
    public var loadable: Bool
    public var flags: CellFlags
    /// The inmate the cell runs (nil for root and for cells never started).
    public var inmate: InmateKind?
}

/// The firmware image the driver loads into the hypervisor window (`struct jailhouse_header`).
public struct FirmwareImage: Hashable, Sendable {
    /// "JAILHOUS".
    public var signature: [UInt8]
    /// Bytes of the core image (code, data, BSS) at the start of the window.
    public var coreSize: UInt64
    /// Bytes of one CPU's `struct per_cpu` area, after the core.
    public var perCPUSize: UInt64
    /// Bytes of the `.bin` file.
    public var imageSize: UInt64
    public init(signature: [UInt8], coreSize: UInt64, perCPUSize: UInt64, imageSize: UInt64) {
        self.signature = signature; self.coreSize = coreSize; self.perCPUSize = perCPUSize; self.imageSize = imageSize
    }
}
