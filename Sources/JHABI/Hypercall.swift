/// Hypercall codes (include/jailhouse/hypercall.h). An open set: any other code is
/// answered with -ENOSYS by the hypervisor.
public struct HypercallCode: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let disable = HypercallCode(rawValue: 0)
    public static let cellCreate = HypercallCode(rawValue: 1)
    public static let cellStart = HypercallCode(rawValue: 2)
    public static let cellSetLoadable = HypercallCode(rawValue: 3)
    public static let cellDestroy = HypercallCode(rawValue: 4)
    public static let hypervisorGetInfo = HypercallCode(rawValue: 5)
    public static let cellGetState = HypercallCode(rawValue: 6)
    public static let cpuGetInfo = HypercallCode(rawValue: 7)
    public static let debugConsolePutc = HypercallCode(rawValue: 8)

    public var name: String {
        switch rawValue {
        case 0: "JAILHOUSE_HC_DISABLE"
        case 1: "JAILHOUSE_HC_CELL_CREATE"
        case 2: "JAILHOUSE_HC_CELL_START"
        case 3: "JAILHOUSE_HC_CELL_SET_LOADABLE"
        case 4: "JAILHOUSE_HC_CELL_DESTROY"
        case 5: "JAILHOUSE_HC_HYPERVISOR_GET_INFO"
        case 6: "JAILHOUSE_HC_CELL_GET_STATE"
        case 7: "JAILHOUSE_HC_CPU_GET_INFO"
        case 8: "JAILHOUSE_HC_DEBUG_CONSOLE_PUTC"
        default: "hypercall(\(rawValue))"
        }
    }
    public var description: String { name }
}

/// Info types of `JAILHOUSE_HC_HYPERVISOR_GET_INFO`.
public enum HypervisorInfo: UInt64, Sendable, CaseIterable {
    case memPoolSize = 0, memPoolUsed = 1, remapPoolSize = 2, remapPoolUsed = 3, numCells = 4
}

/// `JAILHOUSE_CPU_INFO_STATE` values and the statistics base of `CPU_GET_INFO`.
public enum CPUInfo {
    public static let state: UInt64 = 0
    public static let statBase: UInt64 = 1000
    public static let stateRunning: Int64 = 0
    public static let stateFailed: Int64 = 2
}

/// The x86 per-CPU VM-exit statistics, in index order (`JAILHOUSE_CPU_STAT_*`).
public enum CPUStatistic: Int, CaseIterable, Sendable, Codable {
    case total, mmio, management, hypercall, pio, xapic, cr, cpuid, xsetbv, exception,
         msrOther, msrX2apicICR

    /// The sysfs file suffix: `statistics/vmexits_<name>`.
    public var sysfsName: String {
        switch self {
        case .total: "total"
        case .mmio: "mmio"
        case .management: "management"
        case .hypercall: "hypercall"
        case .pio: "pio"
        case .xapic: "xapic"
        case .cr: "cr"
        case .cpuid: "cpuid"
        case .xsetbv: "xsetbv"
        case .exception: "exception"
        case .msrOther: "msr_other"
        case .msrX2apicICR: "msr_x2apic_icr"
        }
    }
}
