import JHDriver
import JHHypervisor
import JHLinux
import JHMachine

/// The user's trace kinds (ids 0x4000–0x4fff): the commands a lab or scenario runs.
public enum LabTrace {
    public static let ids: ClosedRange<UInt16> = 0x4000...0x4fff

    /// Text argument: the command line (the logged command's own string).
    public static let command = TraceKind(id: 0x4001, .user, "command", "{line:t}")
    public static let done = TraceKind(id: 0x4002, .user, "done", "{line:t}")
    public static let doneHang = TraceKind(id: 0x4003, .user, "done", "{line:t} (never returns)")
    /// A real program's request through libjhsim-preload; the text is its own argv.
    public static let program = TraceKind(id: 0x4004, .user, "program", "{line:t}")

    public static let all: [TraceKind] = [command, done, doneHang, program]

    /// Every layer's catalog with its id range, lowest layer first.
    public static let catalogs: [(name: String, ids: ClosedRange<UInt16>, kinds: [TraceKind])] = [
        ("machine", MachineTrace.ids, MachineTrace.all),
        ("linux", LinuxTrace.ids, LinuxTrace.all),
        ("hypervisor", HypervisorTrace.ids, HypervisorTrace.all),
        ("driver", DriverTrace.ids, DriverTrace.all),
        ("lab", ids, all),
    ]
}
