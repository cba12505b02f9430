/// A cell's comm-region state (`JAILHOUSE_CELL_*`). An open set: an inmate may write
/// any value, and the hypervisor answers CELL_GET_STATE with -EINVAL for unknown ones.
public struct CellState: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let running = CellState(rawValue: 0)
    public static let runningLocked = CellState(rawValue: 1)
    public static let shutDown = CellState(rawValue: 2)
    public static let failed = CellState(rawValue: 3)
    public static let failedCommRev = CellState(rawValue: 4)

    /// Whether the value is one of the five defined states.
    public var isKnown: Bool { rawValue <= 4 }
    /// SHUT_DOWN and FAILED end the message wait at once (FAILED_COMM_REV does not).
    public var shortCircuitsMessageWait: Bool { self == .shutDown || self == .failed }

    /// The text sysfs `cells/<id>/state` prints (driver/sysfs.c).
    public var sysfsText: String {
        switch rawValue {
        case 0: "running"
        case 1: "running/locked"
        case 2: "shut down"
        case 3: "failed"
        case 4: "Comm ABI mismatch"
        default: "invalid"
        }
    }
    public var description: String { sysfsText }
}

/// Messages the hypervisor sends a cell through its comm region (`JAILHOUSE_MSG_*`).
public struct CommMessage: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let none = CommMessage(rawValue: 0)
    public static let shutdownRequest = CommMessage(rawValue: 1)
    public static let reconfigCompleted = CommMessage(rawValue: 2)
    public var description: String {
        switch rawValue {
        case 0: "NONE"
        case 1: "SHUTDOWN_REQUEST"
        case 2: "RECONFIG_COMPLETED"
        default: "MSG(\(rawValue))"
        }
    }
}

/// Replies a cell writes into its comm region (`JAILHOUSE_MSG_*` reply codes).
public struct CommReply: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let none = CommReply(rawValue: 0)
    public static let unknown = CommReply(rawValue: 1)
    public static let requestDenied = CommReply(rawValue: 2)
    public static let requestApproved = CommReply(rawValue: 3)
    public static let received = CommReply(rawValue: 4)
    public var description: String {
        switch rawValue {
        case 0: "NONE"
        case 1: "UNKNOWN"
        case 2: "REQUEST_DENIED"
        case 3: "REQUEST_APPROVED"
        case 4: "RECEIVED"
        default: "REPLY(\(rawValue))"
        }
    }
}

/// The comm region (include/arch/x86/asm/jailhouse_hypercall.h), ABI revision 2.
public enum CommRegionLayout {
    public static let signature: [UInt8] = Array("JHCOMM".utf8)
    public static let revision: UInt16 = 2
    /// Size of the x86 comm region structure in bytes.
    public static let size = 76
    /// `JAILHOUSE_COMM_FLAG_DBG_PUTC_PERMITTED` / `_ACTIVE`.
    public static let flagDebugPutcPermitted: UInt32 = 0x1
    public static let flagDebugPutcActive: UInt32 = 0x2
}
