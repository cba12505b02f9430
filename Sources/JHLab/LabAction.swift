import Foundation
import JHABI
import JHMachine

/// One thing a learner did to the box, with every input it needs (config bytes, images),
/// so replaying the log on a fresh box reproduces the same machine exactly.
public enum LabAction: Hashable, Sendable, Codable {
    case enable(config: Data)
    case disable
    case cellCreate(config: Data)
    case cellLoad(cell: CellSelector, images: [PreloadImage])
    case cellStart(cell: CellSelector, inmate: String?)
    /// `cell shutdown`: CELL_LOAD with no images.
    case cellShutdown(cell: CellSelector)
    case cellDestroy(cell: CellSelector)
    /// Admin hotplug: `jhsim cpu online|offline N`.
    case cpuHotplug(cpu: Int, online: Bool)
    /// Chooses how a cell's inmate behaves before it is started.
    case inmate(cell: CellSelector, kind: String)

    /// The ioctl this action issues, if it issues one.
    public var ioctl: IoctlCommand? {
        switch self {
        case .enable: .enable
        case .disable: .disable
        case .cellCreate: .cellCreate
        case .cellLoad, .cellShutdown: .cellLoad
        case .cellStart: .cellStart
        case .cellDestroy: .cellDestroy
        case .cpuHotplug, .inmate: nil
        }
    }
}

/// A logged command: the action, the fault rules active while it ran, an optional
/// signal, and the command line a learner typed (for traces and `lab info`).
public struct LoggedCommand: Hashable, Sendable, Codable {
    public var action: LabAction
    /// Fault rules in CLI form, parsed again at replay.
    public var faults: [String]
    /// Deliver a signal to the issuing process this many virtual nanoseconds after the
    /// command starts (`signal` in scenarios), to show `-EINTR`.
    public var signalAfterNanoseconds: UInt64?
    public var commandLine: String
    /// The issuing process's capabilities (`--caps`, libcap text); nil = privileged.
    public var caps: String?

    public init(action: LabAction, faults: [String] = [], signalAfterNanoseconds: UInt64? = nil, commandLine: String,
                caps: String? = nil) {
        self.action = action; self.faults = faults
        self.signalAfterNanoseconds = signalAfterNanoseconds; self.commandLine = commandLine
        self.caps = caps
    }
}

/// What running one command produced.
public struct ActionOutcome: Hashable, Sendable {
    /// 0 or -errno as the ioctl (or the hotplug write) returned it.
    public var result: Int64
    /// Set when the machine stopped a wait that could never end.
    public var hang: String?
    /// Set when the command never returned because the simulated kernel oopsed (in it or
    /// before it); `hang` holds the report.
    public var oops: Bool = false
    public var errno: Errno? { hang == nil ? Errno.fromReturn(result) : nil }
}

/// The slice of the trace and the machine state one command produced: what `trace
/// --last N`, the timeline and the Chrome export are built from.
public struct CommandRecord: Hashable, Sendable {
    public var index: Int
    public var commandLine: String
    /// Trace sequence numbers `firstSeq ..< endSeq` belong to this command.
    public var firstSeq: UInt64
    public var endSeq: UInt64
    public var start: VirtualTime
    public var end: VirtualTime
    public var outcome: ActionOutcome
    /// Every CPU after the command ended.
    public var cpusAfter: [CPUStatus]
}
