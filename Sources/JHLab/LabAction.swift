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
    /// An ioctl a real program issued on `/dev/jailhouse` through libjhsim-preload: the
    /// request number and argument as it passed them, its process name, and every read
    /// the driver made of its memory, in order, so a replay sees the same bytes.
    case outsideIoctl(request: UInt32, argument: UInt64, process: String, reads: [OutsideRead])
    /// A real program's `write(2)` to a sysfs attribute through libjhsim-preload
    /// (`echo 0 > /sys/devices/system/cpu/cpu2/online`, `chcpu -d 2`).
    case sysfsWrite(path: String, value: String)

    /// The ioctl this action issues, if it issues one.
    public var ioctl: IoctlCommand? {
        switch self {
        case .enable: .enable
        case .disable: .disable
        case .cellCreate: .cellCreate
        case .cellLoad, .cellShutdown: .cellLoad
        case .cellStart: .cellStart
        case .cellDestroy: .cellDestroy
        case .outsideIoctl(let request, _, _, _): IoctlCommand(rawValue: request)
        case .cpuHotplug, .inmate, .sysfsWrite: nil
        }
    }
}

/// One `copy_from_user` the driver made of a real program's memory: where, how much, and
/// the bytes it got (nil when the range was unmapped there and the copy faulted).
public struct OutsideRead: Hashable, Sendable, Codable {
    public var address: UInt64
    public var count: Int
    public var bytes: Data?
    public init(address: UInt64, count: Int, bytes: Data?) {
        self.address = address; self.count = count; self.bytes = bytes
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
    /// Issued by a real program through libjhsim-preload: `commandLine` is that program's
    /// own argv (`jailhouse cell list`), shown without a `jhsim` in front.
    public var viaPreload: Bool?

    /// The command line as a learner would have typed it.
    public var displayLine: String { viaPreload == true ? commandLine : "jhsim " + commandLine }

    public init(action: LabAction, faults: [String] = [], signalAfterNanoseconds: UInt64? = nil, commandLine: String,
                caps: String? = nil, viaPreload: Bool = false) {
        self.action = action; self.faults = faults
        self.signalAfterNanoseconds = signalAfterNanoseconds; self.commandLine = commandLine
        self.caps = caps
        self.viaPreload = viaPreload ? true : nil
    }
}

/// What running one command produced.
public struct ActionOutcome: Hashable, Sendable {
    /// 0 or -errno as the ioctl (or the hotplug write) returned it.
    public var result: Int64
    /// Set when the machine stopped a wait that could never end.
    public var hang: String?
    /// The command's own `--fault` rules (as given) that never fired.
    public var unfiredFaults: [String] = []
    /// Set when the command never returned because the simulated kernel oopsed (in it or
    /// before it); `hang` holds the report.
    public var oops: Bool = false
    public var errno: Errno? { hang == nil ? Errno.fromReturn(result) : nil }
    public init(result: Int64, hang: String? = nil) { self.result = result; self.hang = hang }
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
    /// Issued by a real program through libjhsim-preload (see `LoggedCommand.viaPreload`).
    public var viaPreload = false

    /// The command line as a learner would have typed it.
    public var displayLine: String { viaPreload ? commandLine : "jhsim " + commandLine }
}
