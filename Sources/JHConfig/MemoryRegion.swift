import JHABI

/// One memory region of a cell: `struct jailhouse_memory` (cell-config.h), 32 packed bytes.
/// Also the hypervisor's own window in the system header.
public struct MemoryRegion: Hashable, Sendable {
    public var physStart: UInt64
    /// Guest-physical address inside the cell.
    public var virtStart: UInt64
    public var size: UInt64
    public var flags: MemoryFlags

    public init(physStart: UInt64 = 0, virtStart: UInt64 = 0, size: UInt64 = 0, flags: MemoryFlags = []) {
        self.physStart = physStart; self.virtStart = virtStart; self.size = size; self.flags = flags
    }

    /// `sizeof(struct jailhouse_memory)`.
    public static let size = 32

    /// Physical bytes covered, clamped at 2^64 so a hostile size cannot trap.
    public var physRange: Range<UInt64> {
        let (end, overflow) = physStart.addingReportingOverflow(size)
        return physStart ..< (overflow ? UInt64.max : end)
    }

    /// Guest-physical bytes covered (clamped like `physRange`).
    public var virtRange: Range<UInt64> {
        let (end, overflow) = virtStart.addingReportingOverflow(size)
        return virtStart ..< (overflow ? UInt64.max : end)
    }

    /// Whether the two regions share a physical byte. Zero-sized placeholders (upstream
    /// ivshmem `{ 0 }` entries) and COMM_REGION entries (whose phys_start the hypervisor
    /// ignores) never overlap anything.
    public func overlaps(_ other: MemoryRegion) -> Bool {
        guard size > 0, other.size > 0, !flags.contains(.commRegion),
              !other.flags.contains(.commRegion) else { return false }
        return physRange.overlaps(other.physRange)
    }

    /// "Sub-page" regions are emulated by an MMIO handler instead of being mapped
    /// (hypervisor/mmio.c): virt_start or size not page aligned.
    public var isSubPage: Bool {
        virtStart % UInt64(ConfigFormat.pageSize) != 0 || size % UInt64(ConfigFormat.pageSize) != 0
    }

    static func decode(_ r: ByteReader, at o: Int, _ s: String) throws(ConfigError) -> MemoryRegion {
        MemoryRegion(physStart: try r.load(UInt64.self, at: o, s, "phys_start"),
                     virtStart: try r.load(UInt64.self, at: o + 8, s, "virt_start"),
                     size: try r.load(UInt64.self, at: o + 16, s, "size"),
                     flags: MemoryFlags(rawValue: try r.load(UInt64.self, at: o + 24, s, "flags")))
    }

    func encode(into w: inout ByteWriter) {
        w.put(physStart); w.put(virtStart); w.put(size); w.put(flags.rawValue)
    }
}
