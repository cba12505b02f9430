/// The `/dev/jailhouse` ioctl numbers (driver/jailhouse.h), computed for x86-64 with
/// `_IOW(0, n, T)` / `_IO(0, n)`. An open set: unknown numbers stay representable, and
/// the driver answers them with -EINVAL.
public struct IoctlCommand: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let enable = IoctlCommand(rawValue: 0x4008_0000)
    public static let disable = IoctlCommand(rawValue: 0x0000_0001)
    public static let cellCreate = IoctlCommand(rawValue: 0x4010_0002)
    public static let cellLoad = IoctlCommand(rawValue: 0x4030_0003)
    public static let cellStart = IoctlCommand(rawValue: 0x4028_0004)
    public static let cellDestroy = IoctlCommand(rawValue: 0x4028_0005)

    public static let all: [IoctlCommand] = [.enable, .disable, .cellCreate, .cellLoad, .cellStart, .cellDestroy]

    /// The C macro name, as `perror` in tools/jailhouse.c prints it.
    public var name: String {
        switch self {
        case .enable: "JAILHOUSE_ENABLE"
        case .disable: "JAILHOUSE_DISABLE"
        case .cellCreate: "JAILHOUSE_CELL_CREATE"
        case .cellLoad: "JAILHOUSE_CELL_LOAD"
        case .cellStart: "JAILHOUSE_CELL_START"
        case .cellDestroy: "JAILHOUSE_CELL_DESTROY"
        default: "ioctl(0x\(String(rawValue, radix: 16)))"
        }
    }
    public var description: String { name }
}

/// Sizes of the ioctl argument structs (naturally aligned, not packed; x86-64).
public enum IoctlLayout {
    /// `struct jailhouse_cell_create` {u64 config_address; u32 config_size; u32 padding}.
    public static let cellCreateSize = 16
    /// `struct jailhouse_cell_id` {s32 id; u32 padding; char name[32]}.
    public static let cellIDSize = 40
    /// `struct jailhouse_cell_load` header: cell_id + u32 num_preload_images + padding.
    public static let cellLoadHeaderSize = 48
    /// `struct jailhouse_preload_image` {u64 source; u64 size; u64 target; u64 padding}.
    public static let preloadImageSize = 32
}
