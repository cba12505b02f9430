/// Which root-cell Linux (and with it which Jailhouse driver path) a box runs.
///
/// The driver grew up with the kernel: before Linux 5.7 it took CPUs with the exported
/// `cpu_down()`/`cpu_up()`, which bypass the CPU's device, so sysfs `cpuN/online` keeps
/// its old value (siemens/jailhouse 15169df2 switched to `remove_cpu`/`add_cpu`); and
/// until 79304da4 it checked no configuration's architecture byte. `linux5_6` is that
/// older driver, as the seed document walks through it; `current` is the model of today's
/// driver on a recent kernel. Carried by the box (the lab's `--kernel`), never global.
public enum KernelVersion: String, CaseIterable, Sendable, Codable, Hashable {
    /// Linux 5.6 with the seed's driver: `cpu_down`/`cpu_up`, no architecture check.
    case linux5_6 = "5.6"
    /// Linux ≥ 5.7 with today's driver (e57d1eff): `remove_cpu`/`add_cpu` through the
    /// CPU device, and the architecture check in enable and cell create.
    case current = "current"

    /// Parses `--kernel`'s value: `5.6`, or `current` (also spelled `5.7`, the first
    /// kernel of that path). Nil for anything else.
    public init?(argument: String) {
        switch argument {
        case "5.6": self = .linux5_6
        case "current", "5.7": self = .current
        default: return nil
        }
    }

    /// Whether the driver takes CPUs with the exported `cpu_down`/`cpu_up` (no device).
    public var driverUsesCPUDownUp: Bool { self == .linux5_6 }
    /// Whether the driver checks a configuration's architecture byte (79304da4).
    public var driverChecksArchitecture: Bool { self == .current }

    /// The accepted values, for usage messages.
    public static let usage = "5.6 (the seed's driver: cpu_down/cpu_up, no architecture check) or current (default: remove_cpu/add_cpu)"
}
