import JHABI

/// Little-endian field reads from a byte image, bounds-checked: a read past the end
/// yields nil, never a trap, because the bytes come from guest memory.
struct LEBytes {
    let bytes: [UInt8]
    func u8(_ o: Int) -> UInt8? { o >= 0 && o < bytes.count ? bytes[o] : nil }
    func uint(_ o: Int, _ n: Int) -> UInt64? {
        guard o >= 0, n <= 8, o <= bytes.count - n else { return nil }
        var v: UInt64 = 0
        for k in 0..<n { v |= UInt64(bytes[o + k]) << (8 * UInt64(k)) }
        return v
    }
    func u16(_ o: Int) -> UInt16? { uint(o, 2).map { UInt16(truncatingIfNeeded: $0) } }
    func u32(_ o: Int) -> UInt32? { uint(o, 4).map { UInt32(truncatingIfNeeded: $0) } }
    func u64(_ o: Int) -> UInt64? { uint(o, 8) }
    func slice(_ o: Int, _ n: Int) -> [UInt8]? {
        guard o >= 0, n >= 0, o <= bytes.count - n else { return nil }
        return Array(bytes[o..<(o + n)])
    }
}

/// `struct jailhouse_memory` (32 bytes) as the hypervisor reads it.
public struct HVMemoryRegion: Hashable, Sendable {
    public var physStart: UInt64
    public var virtStart: UInt64
    public var size: UInt64
    public var flags: MemoryFlags
    public init(physStart: UInt64, virtStart: UInt64, size: UInt64, flags: MemoryFlags) {
        self.physStart = physStart; self.virtStart = virtStart; self.size = size; self.flags = flags
    }
    static let size = 32
    init?(_ r: LEBytes, _ o: Int) {
        guard let p = r.u64(o), let v = r.u64(o + 8), let s = r.u64(o + 16), let f = r.u64(o + 24) else { return nil }
        self.init(physStart: p, virtStart: v, size: s, flags: MemoryFlags(rawValue: f))
    }
    /// A region whose start or size is not page aligned is emulated by an MMIO handler
    /// instead of being mapped (the hypervisor's "sub-page" regions).
    var isSubpage: Bool { virtStart % 4096 != 0 || size % 4096 != 0 }
    /// The physical end, saturating so a hostile config cannot overflow.
    var physEnd: UInt64 { physStart.addingReportingOverflow(size).overflow ? .max : physStart + size }
}

/// `struct jailhouse_cache` (12 bytes).
public struct HVCacheRegion: Hashable, Sendable {
    public var start: UInt32, size: UInt32, type: UInt8, flags: UInt16
    static let size = 12
    init?(_ r: LEBytes, _ o: Int) {
        guard let s = r.u32(o), let n = r.u32(o + 4), let t = r.u8(o + 8), let f = r.u16(o + 10) else { return nil }
        start = s; size = n; type = t; flags = f
    }
}

/// `struct jailhouse_irqchip` (32 bytes).
public struct HVIrqchip: Hashable, Sendable {
    public var address: UInt64, id: UInt32, pinBase: UInt32, pinBitmap: [UInt32]
    static let size = 32
    init?(_ r: LEBytes, _ o: Int) {
        guard let a = r.u64(o), let i = r.u32(o + 8), let b = r.u32(o + 12) else { return nil }
        var pins: [UInt32] = []
        for k in 0..<4 { guard let w = r.u32(o + 16 + 4 * k) else { return nil }; pins.append(w) }
        address = a; id = i; pinBase = b; pinBitmap = pins
    }
}

/// `struct jailhouse_pio` (4 bytes): an allowed x86 port range.
public struct HVPIORegion: Hashable, Sendable {
    public var base: UInt16, length: UInt16
    static let size = 4
    init?(_ r: LEBytes, _ o: Int) {
        guard let b = r.u16(o), let l = r.u16(o + 2) else { return nil }
        base = b; length = l
    }
}

/// `struct jailhouse_pci_device` (56 bytes): the fields the hypervisor units use.
public struct HVPCIDevice: Hashable, Sendable {
    public var type: PCIDeviceType, iommu: UInt8, domain: UInt16, bdf: UInt16
    public var numMSIVectors: UInt8, numMSIXVectors: UInt16, msixRegionSize: UInt16, msixAddress: UInt64
    static let size = 56
    init?(_ r: LEBytes, _ o: Int) {
        guard let t = r.u8(o), let i = r.u8(o + 1), let d = r.u16(o + 2), let b = r.u16(o + 4),
              r.slice(o, Self.size) != nil else { return nil }
        type = PCIDeviceType(rawValue: t); iommu = i; domain = d; bdf = b
        numMSIVectors = r.u8(o + 34)!; numMSIXVectors = r.u16(o + 36)!
        msixRegionSize = r.u16(o + 38)!; msixAddress = r.u64(o + 40)!
    }
    /// `domain:bus:dev.fn`, as upstream logs it.
    var name: String {
        func hex(_ v: UInt16, _ w: Int) -> String {
            let s = String(v, radix: 16); return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(hex(domain, 4)):\(hex(bdf >> 8, 2)):\(hex((bdf >> 3) & 0x1f, 2)).\(bdf & 7)"
    }
}

/// A read-only view of a `struct jailhouse_cell_desc` and the arrays after it, over bytes
/// the hypervisor copied out of guest memory (jailhouse-behaviour.md §2.3–2.5).
///
/// The real hypervisor reads raw packed structs from its private copy; this view reads
/// the same offsets with bounds checks. Arrays are decoded only as far as they lie inside
/// the copy, so a config whose counts overrun its bytes (possible only when the 32-bit size
/// wrapped, quirk 7) yields shorter arrays instead of a read past the end.
public struct HVCellDescriptor: Sendable {
    public static let headerSize = 132
    public let bytes: [UInt8]
    public let signature: [UInt8]
    public let architecture: UInt8
    public let revision: UInt16
    public let name: String
    /// The raw name field up to its first NUL: names compare like `strcmp`.
    public let nameBytes: [UInt8]
    public let id: UInt32
    public let flags: CellFlags
    public let cpuSetSize: UInt32
    public let numMemoryRegions: UInt32
    public let numCacheRegions: UInt32
    public let numIrqchips: UInt32
    public let numPIORegions: UInt32
    public let numPCIDevices: UInt32
    public let numPCICaps: UInt32
    public let numStreamIDs: UInt32
    public let cpuResetAddress: UInt64
    public let msgReplyTimeout: UInt64
    /// The 32-byte `struct jailhouse_console`, copied verbatim into the comm region.
    public let console: [UInt8]

    /// Decodes the header at `offset` of `bytes`; nil when the header itself is cut off.
    public init?(bytes: [UInt8], offset: Int = 0) {
        let all = LEBytes(bytes: bytes)
        guard let head = all.slice(offset, Self.headerSize) else { return nil }
        let r = LEBytes(bytes: head)
        self.bytes = Array(bytes[offset...])
        signature = Array(head[0..<5])
        architecture = head[5]
        revision = r.u16(6)!
        nameBytes = Array(head[8..<40].prefix { $0 != 0 })
        name = String(decoding: nameBytes, as: UTF8.self)
        id = r.u32(40)!
        flags = CellFlags(rawValue: r.u32(44)!)
        cpuSetSize = r.u32(48)!
        numMemoryRegions = r.u32(52)!
        numCacheRegions = r.u32(56)!
        numIrqchips = r.u32(60)!
        numPIORegions = r.u32(64)!
        numPCIDevices = r.u32(68)!
        numPCICaps = r.u32(72)!
        numStreamIDs = r.u32(76)!
        cpuResetAddress = r.u64(84)!
        msgReplyTimeout = r.u64(92)!
        console = Array(head[100..<132])
    }

    /// `jailhouse_cell_config_size` computed without overflow.
    public var computedSize: UInt64 {
        UInt64(Self.headerSize) + UInt64(cpuSetSize) + 32 * UInt64(numMemoryRegions)
            + 12 * UInt64(numCacheRegions) + 32 * UInt64(numIrqchips) + 4 * UInt64(numPIORegions)
            + 56 * UInt64(numPCIDevices) + 8 * UInt64(numPCICaps) + 4 * UInt64(numStreamIDs)
    }
    /// The same sum as C computes it: the function returns `__u32`, so it wraps.
    public var wrappedSize: UInt32 { UInt32(truncatingIfNeeded: computedSize) }

    private var r: LEBytes { LEBytes(bytes: bytes) }
    private func offset(after k: Int) -> UInt64 {
        var o = UInt64(Self.headerSize)
        if k > 0 { o += UInt64(cpuSetSize) }
        if k > 1 { o += 32 * UInt64(numMemoryRegions) }
        if k > 2 { o += 12 * UInt64(numCacheRegions) }
        if k > 3 { o += 32 * UInt64(numIrqchips) }
        if k > 4 { o += 4 * UInt64(numPIORegions) }
        if k > 5 { o += 56 * UInt64(numPCIDevices) }
        return o
    }
    private func array<T>(_ k: Int, _ count: UInt32, _ size: Int, _ make: (LEBytes, Int) -> T?) -> [T] {
        let start = offset(after: k)
        guard start <= UInt64(bytes.count) else { return [] }
        let fit = (UInt64(bytes.count) - start) / UInt64(size)
        let n = Int(min(UInt64(count), fit))
        let reader = r
        return (0..<n).compactMap { make(reader, Int(start) + $0 * size) }
    }

    /// The CPU bitmap (`cpu_set_size` bytes, as far as it lies inside the copy).
    public var cpus: CPUSet {
        let start = Self.headerSize
        let n = Int(min(UInt64(cpuSetSize), UInt64(max(0, bytes.count - start))))
        return CPUSet(bitmap: bytes[start..<(start + n)])
    }
    public var memoryRegions: [HVMemoryRegion] { array(1, numMemoryRegions, HVMemoryRegion.size, HVMemoryRegion.init) }
    public var cacheRegions: [HVCacheRegion] { array(2, numCacheRegions, HVCacheRegion.size, HVCacheRegion.init) }
    public var irqchips: [HVIrqchip] { array(3, numIrqchips, HVIrqchip.size, HVIrqchip.init) }
    public var pioRegions: [HVPIORegion] { array(4, numPIORegions, HVPIORegion.size, HVPIORegion.init) }
    public var pciDevices: [HVPCIDevice] { array(5, numPCIDevices, HVPCIDevice.size, HVPCIDevice.init) }
}

/// A view of `struct jailhouse_system` (488 bytes with the embedded root descriptor) and
/// the root arrays after it (jailhouse-behaviour.md §2.6).
public struct HVSystemDescriptor: Sendable {
    public static let headerSize = 488
    public static let rootOffset = 356
    public let signature: [UInt8]
    public let revision: UInt16
    public let flags: UInt32
    public let hypervisorMemory: HVMemoryRegion
    public let pciMMConfigBase: UInt64
    public let pciMMConfigEndBus: UInt8
    public let pciIsVirtual: Bool
    public let pmTimerAddress: UInt16
    public let tscKHz: UInt32
    public let apicKHz: UInt32
    /// `platform_info.x86.apic_mode` and `vtd_interrupt_limit`.
    public let apicMode: UInt8
    public let vtdInterruptLimit: UInt32
    /// `platform_info.iommu_units` (all 8 slots; a unit with base 0 ends the list).
    public let iommuUnits: [(type: UInt32, base: UInt64, size: UInt32)]
    public let root: HVCellDescriptor

    public init?(bytes: [UInt8]) {
        let r = LEBytes(bytes: bytes)
        guard bytes.count >= Self.headerSize, let hv = HVMemoryRegion(r, 12),
              let root = HVCellDescriptor(bytes: bytes, offset: Self.rootOffset) else { return nil }
        signature = Array(bytes[0..<5])
        revision = r.u16(6)!
        flags = r.u32(8)!
        hypervisorMemory = hv
        pciMMConfigBase = r.u64(76)!
        pciMMConfigEndBus = r.u8(84)!
        pciIsVirtual = r.u8(85)! != 0
        pmTimerAddress = r.u16(312)!
        tscKHz = r.u32(320)!
        apicKHz = r.u32(324)!
        apicMode = r.u8(314)!
        vtdInterruptLimit = r.u32(316)!
        iommuUnits = (0..<8).map { i in (r.u32(88 + 28 * i)!, r.u64(92 + 28 * i)!, r.u32(100 + 28 * i)!) }
        self.root = root
    }

    /// `jailhouse_system_config_size`: 356 + the root cell's size.
    public static func size(rootComputedSize: UInt64) -> UInt64 { UInt64(rootOffset) + rootComputedSize }
}
