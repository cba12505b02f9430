import JHABI

/// A cache partition: `struct jailhouse_cache` (cell-config.h), 12 packed bytes. On x86
/// it drives Intel CAT (hypervisor/arch/x86/cat.c).
public struct CacheRegion: Hashable, Sendable {
    /// First way/bit of the partition.
    public var start: UInt32
    public var size: UInt32
    public var type: CacheType
    /// The `padding` byte; kept so an image round-trips even when it is not zero.
    public var padding: UInt8
    public var flags: CacheFlags

    public init(start: UInt32 = 0, size: UInt32 = 0, type: CacheType = .l3, padding: UInt8 = 0,
                flags: CacheFlags = []) {
        self.start = start; self.size = size; self.type = type; self.padding = padding; self.flags = flags
    }

    public static let size = 12

    static func decode(_ r: ByteReader, at o: Int, _ s: String) throws(ConfigError) -> CacheRegion {
        CacheRegion(start: try r.load(UInt32.self, at: o, s, "start"),
                    size: try r.load(UInt32.self, at: o + 4, s, "size"),
                    type: CacheType(rawValue: try r.load(UInt8.self, at: o + 8, s, "type")),
                    padding: try r.load(UInt8.self, at: o + 9, s, "padding"),
                    flags: CacheFlags(rawValue: try r.load(UInt16.self, at: o + 10, s, "flags")))
    }

    func encode(into w: inout ByteWriter) {
        w.put(start); w.put(size); w.put(type.rawValue); w.put(padding); w.put(flags.rawValue)
    }
}

/// An interrupt controller (x86: IOAPIC) and the pins the cell owns:
/// `struct jailhouse_irqchip` (cell-config.h), 32 packed bytes.
public struct IRQChip: Hashable, Sendable {
    public var address: UInt64
    /// x86: IOAPIC id / source id (e.g. 0xff00).
    public var id: UInt32
    public var pinBase: UInt32
    /// 128 pins, bit n of word n/32 = pin `pinBase + n`.
    public var pinBitmap: [UInt32]

    public init(address: UInt64 = 0, id: UInt32 = 0, pinBase: UInt32 = 0, pinBitmap: [UInt32] = [0, 0, 0, 0]) {
        self.address = address; self.id = id; self.pinBase = pinBase
        self.pinBitmap = (pinBitmap + [0, 0, 0, 0]).prefix(4).map { $0 }
    }

    public static let size = 32

    /// Pin numbers (relative to `pinBase`) set in the bitmap.
    public var pins: [Int] {
        (0 ..< 128).filter { i in i / 32 < pinBitmap.count && pinBitmap[i / 32] & (1 << UInt32(i % 32)) != 0 }
    }

    /// Builds the bitmap from pin numbers 0…127 (others are ignored).
    public static func bitmap(pins: [Int]) -> [UInt32] {
        var b: [UInt32] = [0, 0, 0, 0]
        for p in pins where p >= 0 && p < 128 { b[p / 32] |= 1 << UInt32(p % 32) }
        return b
    }

    static func decode(_ r: ByteReader, at o: Int, _ s: String) throws(ConfigError) -> IRQChip {
        var bm: [UInt32] = []
        for i in 0 ..< 4 { bm.append(try r.load(UInt32.self, at: o + 16 + 4 * i, s, "pin_bitmap[\(i)]")) }
        return IRQChip(address: try r.load(UInt64.self, at: o, s, "address"),
                       id: try r.load(UInt32.self, at: o + 8, s, "id"),
                       pinBase: try r.load(UInt32.self, at: o + 12, s, "pin_base"), pinBitmap: bm)
    }

    func encode(into w: inout ByteWriter) {
        w.put(address); w.put(id); w.put(pinBase)
        for i in 0 ..< 4 { w.put(i < pinBitmap.count ? pinBitmap[i] : 0) }
    }
}

/// An allowed x86 port I/O range: `struct jailhouse_pio` (cell-config.h), 4 packed bytes.
public struct PIORegion: Hashable, Sendable {
    public var base: UInt16
    public var length: UInt16

    public init(base: UInt16, length: UInt16) { self.base = base; self.length = length }

    public static let size = 4

    static func decode(_ r: ByteReader, at o: Int, _ s: String) throws(ConfigError) -> PIORegion {
        PIORegion(base: try r.load(UInt16.self, at: o, s, "base"),
                  length: try r.load(UInt16.self, at: o + 2, s, "length"))
    }

    func encode(into w: inout ByteWriter) { w.put(base); w.put(length) }
}

/// A PCI device the cell owns, or a virtual ivshmem device:
/// `struct jailhouse_pci_device` (cell-config.h), 56 packed bytes.
public struct PCIDevice: Hashable, Sendable {
    public var type: PCIDeviceType
    /// Index into `platform_info.iommu_units`.
    public var iommu: UInt8
    public var domain: UInt16
    /// bus << 8 | device << 3 | function.
    public var bdf: UInt16
    public var barMask: [UInt32]
    /// Index of the first capability in the cell's PCI capability array.
    public var capsStart: UInt16
    public var numCaps: UInt16
    public var numMSIVectors: UInt8
    /// The C bitfield byte: bit 0 `msi_64bits`, bit 1 `msi_maskable`, bits 2–7 reserved
    /// (kept raw so reserved bits round-trip).
    public var msiBits: UInt8
    public var numMSIXVectors: UInt16
    public var msixRegionSize: UInt16
    public var msixAddress: UInt64
    /// ivshmem: index of the device's first memory region.
    public var shmemRegionsStart: UInt32
    public var shmemDevID: UInt8
    public var shmemPeers: UInt8
    public var shmemProtocol: ShmemProtocol

    public init(type: PCIDeviceType = .device, iommu: UInt8 = 0, domain: UInt16 = 0, bdf: UInt16 = 0,
                barMask: [UInt32] = [0, 0, 0, 0, 0, 0], capsStart: UInt16 = 0, numCaps: UInt16 = 0,
                numMSIVectors: UInt8 = 0, msiBits: UInt8 = 0, numMSIXVectors: UInt16 = 0,
                msixRegionSize: UInt16 = 0, msixAddress: UInt64 = 0, shmemRegionsStart: UInt32 = 0,
                shmemDevID: UInt8 = 0, shmemPeers: UInt8 = 0, shmemProtocol: ShmemProtocol = .undefined) {
        self.type = type; self.iommu = iommu; self.domain = domain; self.bdf = bdf
        self.barMask = (barMask + [UInt32](repeating: 0, count: 6)).prefix(6).map { $0 }
        self.capsStart = capsStart; self.numCaps = numCaps; self.numMSIVectors = numMSIVectors
        self.msiBits = msiBits; self.numMSIXVectors = numMSIXVectors; self.msixRegionSize = msixRegionSize
        self.msixAddress = msixAddress; self.shmemRegionsStart = shmemRegionsStart
        self.shmemDevID = shmemDevID; self.shmemPeers = shmemPeers; self.shmemProtocol = shmemProtocol
    }

    public static let size = 56

    public var msi64Bits: Bool {
        get { msiBits & 1 != 0 }
        set { msiBits = newValue ? msiBits | 1 : msiBits & ~1 }
    }
    public var msiMaskable: Bool {
        get { msiBits & 2 != 0 }
        set { msiBits = newValue ? msiBits | 2 : msiBits & ~2 }
    }
    /// `bus:dev.fn` as lspci prints it.
    public var bdfString: String {
        func hex(_ v: UInt16, _ w: Int) -> String {
            let s = String(v, radix: 16); return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(hex(bdf >> 8, 2)):\(hex((bdf >> 3) & 0x1f, 2)).\(bdf & 7)"
    }

    static func decode(_ r: ByteReader, at o: Int, _ s: String) throws(ConfigError) -> PCIDevice {
        var bars: [UInt32] = []
        for i in 0 ..< 6 { bars.append(try r.load(UInt32.self, at: o + 6 + 4 * i, s, "bar_mask[\(i)]")) }
        return PCIDevice(
            type: PCIDeviceType(rawValue: try r.load(UInt8.self, at: o, s, "type")),
            iommu: try r.load(UInt8.self, at: o + 1, s, "iommu"),
            domain: try r.load(UInt16.self, at: o + 2, s, "domain"),
            bdf: try r.load(UInt16.self, at: o + 4, s, "bdf"), barMask: bars,
            capsStart: try r.load(UInt16.self, at: o + 30, s, "caps_start"),
            numCaps: try r.load(UInt16.self, at: o + 32, s, "num_caps"),
            numMSIVectors: try r.load(UInt8.self, at: o + 34, s, "num_msi_vectors"),
            msiBits: try r.load(UInt8.self, at: o + 35, s, "msi_64bits"),
            numMSIXVectors: try r.load(UInt16.self, at: o + 36, s, "num_msix_vectors"),
            msixRegionSize: try r.load(UInt16.self, at: o + 38, s, "msix_region_size"),
            msixAddress: try r.load(UInt64.self, at: o + 40, s, "msix_address"),
            shmemRegionsStart: try r.load(UInt32.self, at: o + 48, s, "shmem_regions_start"),
            shmemDevID: try r.load(UInt8.self, at: o + 52, s, "shmem_dev_id"),
            shmemPeers: try r.load(UInt8.self, at: o + 53, s, "shmem_peers"),
            shmemProtocol: ShmemProtocol(rawValue: try r.load(UInt16.self, at: o + 54, s, "shmem_protocol")))
    }

    func encode(into w: inout ByteWriter) {
        w.put(type.rawValue); w.put(iommu); w.put(domain); w.put(bdf)
        for i in 0 ..< 6 { w.put(i < barMask.count ? barMask[i] : 0) }
        w.put(capsStart); w.put(numCaps); w.put(numMSIVectors); w.put(msiBits)
        w.put(numMSIXVectors); w.put(msixRegionSize); w.put(msixAddress)
        w.put(shmemRegionsStart); w.put(shmemDevID); w.put(shmemPeers); w.put(shmemProtocol.rawValue)
    }
}

/// A PCI capability the hypervisor emulates or passes through:
/// `struct jailhouse_pci_capability` (cell-config.h), 8 packed bytes.
public struct PCICapability: Hashable, Sendable {
    /// Capability id; bit 15 (0x8000) marks an extended capability.
    public var id: UInt16
    public var start: UInt16
    public var length: UInt16
    public var flags: PCICapabilityFlags

    public init(id: UInt16, start: UInt16, length: UInt16, flags: PCICapabilityFlags = []) {
        self.id = id; self.start = start; self.length = length; self.flags = flags
    }

    public static let size = 8
    public var isExtended: Bool { id & 0x8000 != 0 }

    static func decode(_ r: ByteReader, at o: Int, _ s: String) throws(ConfigError) -> PCICapability {
        PCICapability(id: try r.load(UInt16.self, at: o, s, "id"),
                      start: try r.load(UInt16.self, at: o + 2, s, "start"),
                      length: try r.load(UInt16.self, at: o + 4, s, "len"),
                      flags: PCICapabilityFlags(rawValue: try r.load(UInt16.self, at: o + 6, s, "flags")))
    }

    func encode(into w: inout ByteWriter) { w.put(id); w.put(start); w.put(length); w.put(flags.rawValue) }
}

/// An IOMMU stream id: `union jailhouse_stream_id` (cell-config.h), 4 bytes. Either a
/// plain u32 id, or (ARM MMU-500) a u16 id plus a u16 mask; the raw word keeps both.
public struct StreamID: Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// MMU-500 view: low half.
    public var mmu500ID: UInt16 { UInt16(truncatingIfNeeded: rawValue) }
    /// MMU-500 view: high half (`mask_out`).
    public var mmu500MaskOut: UInt16 { UInt16(truncatingIfNeeded: rawValue >> 16) }

    public static let size = 4
}
