import JHABI

/// A debug or inmate console: `struct jailhouse_console` (include/jailhouse/console.h),
/// 32 packed bytes. Used twice: the hypervisor's own UART in the system header and the
/// console a cell may use, which the hypervisor copies into the comm region at start.
public struct Console: Hashable, Sendable {
    /// Port number (PIO) or physical MMIO address.
    public var address: UInt64 = 0
    /// MMIO window size in bytes.
    public var size: UInt32 = 0
    public var type: ConsoleType = .none
    public var flags: ConsoleFlags = []
    /// UART divider (0 = leave as firmware set it).
    public var divider: UInt32 = 0
    /// Clock gate bit number.
    public var gateNr: UInt32 = 0
    /// Physical address of the clock gate register, 0 for none.
    public var clockReg: UInt64 = 0

    public init(address: UInt64 = 0, size: UInt32 = 0, type: ConsoleType = .none,
                flags: ConsoleFlags = [], divider: UInt32 = 0, gateNr: UInt32 = 0,
                clockReg: UInt64 = 0) {
        self.address = address; self.size = size; self.type = type; self.flags = flags
        self.divider = divider; self.gateNr = gateNr; self.clockReg = clockReg
    }

    /// `sizeof(struct jailhouse_console)`.
    public static let size = 32

    /// True for the all-zero console (`JAILHOUSE_CON_TYPE_NONE`, nothing set).
    public var isEmpty: Bool { self == Console() }

    static func decode(_ r: ByteReader, at o: Int, _ s: String) throws(ConfigError) -> Console {
        Console(address: try r.load(UInt64.self, at: o, s, "address"),
                size: try r.load(UInt32.self, at: o + 8, s, "size"),
                type: ConsoleType(rawValue: try r.load(UInt16.self, at: o + 12, s, "type")),
                flags: ConsoleFlags(rawValue: try r.load(UInt16.self, at: o + 14, s, "flags")),
                divider: try r.load(UInt32.self, at: o + 16, s, "divider"),
                gateNr: try r.load(UInt32.self, at: o + 20, s, "gate_nr"),
                clockReg: try r.load(UInt64.self, at: o + 24, s, "clock_reg"))
    }

    func encode(into w: inout ByteWriter) {
        w.put(address); w.put(size); w.put(type.rawValue); w.put(flags.rawValue)
        w.put(divider); w.put(gateNr); w.put(clockReg)
    }
}
