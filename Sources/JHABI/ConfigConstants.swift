/// Constants and flag sets of the revision-14 configuration format
/// (include/jailhouse/cell-config.h). The layout itself lives in JHConfig.
public enum ConfigFormat {
    public static let revision: UInt16 = 14
    public static let systemSignature: [UInt8] = Array("JHSYS".utf8)
    public static let cellSignature: [UInt8] = Array("JHCLL".utf8)
    /// Revisions 1–13 used 6-byte signatures.
    public static let legacySystemSignature: [UInt8] = Array("JHSYST".utf8)
    public static let legacyCellSignature: [UInt8] = Array("JHCELL".utf8)
    /// `sizeof(struct jailhouse_cell_desc)`.
    public static let cellDescriptorSize = 132
    /// `sizeof(struct jailhouse_system)` including the embedded root descriptor.
    public static let systemHeaderSize = 488
    /// Largest `cpu_set_size` the hypervisor accepts (`cell_init`).
    public static let maxCPUSetSize = 4096
    public static let maxIOMMUUnits = 8
    public static let pageSize = 4096
}

/// `JAILHOUSE_X86` / `JAILHOUSE_ARM` / `JAILHOUSE_ARM64`.
public struct Architecture: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let x86 = Architecture(rawValue: 0)
    public static let arm = Architecture(rawValue: 1)
    public static let arm64 = Architecture(rawValue: 2)
    public var isKnown: Bool { rawValue <= 2 }
    public var name: String {
        switch rawValue {
        case 0: "x86"
        case 1: "arm"
        case 2: "arm64"
        default: "arch(\(rawValue))"
        }
    }
    public init?(name: String) {
        switch name.lowercased() {
        case "x86", "x86_64", "x86-64": self = .x86
        case "arm": self = .arm
        case "arm64", "aarch64": self = .arm64
        default: return nil
        }
    }
    public var description: String { name }
}

/// A flag set whose every bit has a C name, so configs print and parse by name.
public protocol NamedFlags: OptionSet, Hashable, Sendable where RawValue: FixedWidthInteger, Element == Self {
    /// Every known flag with its C-derived name, in bit order.
    static var names: [(Self, String)] { get }
}

extension NamedFlags {
    /// Names of the known flags that are set, in bit order.
    public var flagNames: [String] { Self.names.filter { contains($0.0) }.map(\.1) }
    /// Bits that no known flag covers.
    public var unknownBits: RawValue {
        Self.names.reduce(rawValue) { $0 & ~$1.0.rawValue }
    }
    /// Parses one flag name (case-insensitive).
    public static func named(_ name: String) -> Self? {
        names.first { $0.1.caseInsensitiveCompare(name) }?.0
    }
}

private extension String {
    func caseInsensitiveCompare(_ other: String) -> Bool { lowercased() == other.lowercased() }
}

/// `JAILHOUSE_CELL_*` descriptor flags.
public struct CellFlags: NamedFlags, Codable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let passiveCommRegion = CellFlags(rawValue: 0x0000_0001)
    public static let testDevice = CellFlags(rawValue: 0x0000_0002)
    public static let aarch32 = CellFlags(rawValue: 0x0000_0004)
    public static let virtualConsolePermitted = CellFlags(rawValue: 0x4000_0000)
    public static let virtualConsoleActive = CellFlags(rawValue: 0x8000_0000)
    public static let names: [(CellFlags, String)] = [
        (.passiveCommRegion, "PASSIVE_COMMREG"), (.testDevice, "TEST_DEVICE"),
        (.aarch32, "AARCH32"), (.virtualConsolePermitted, "VIRTUAL_CONSOLE_PERMITTED"),
        (.virtualConsoleActive, "VIRTUAL_CONSOLE_ACTIVE"),
    ]
}

/// `JAILHOUSE_SYS_*` system flags.
public struct SystemFlags: NamedFlags, Codable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let virtualDebugConsole = SystemFlags(rawValue: 0x1)
    public static let names: [(SystemFlags, String)] = [(.virtualDebugConsole, "VIRTUAL_DEBUG_CONSOLE")]
}

/// `JAILHOUSE_MEM_*` memory region flags.
public struct MemoryFlags: NamedFlags, Codable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let read = MemoryFlags(rawValue: 0x0001)
    public static let write = MemoryFlags(rawValue: 0x0002)
    public static let execute = MemoryFlags(rawValue: 0x0004)
    public static let dma = MemoryFlags(rawValue: 0x0008)
    public static let io = MemoryFlags(rawValue: 0x0010)
    public static let commRegion = MemoryFlags(rawValue: 0x0020)
    public static let loadable = MemoryFlags(rawValue: 0x0040)
    public static let rootShared = MemoryFlags(rawValue: 0x0080)
    public static let noHugepages = MemoryFlags(rawValue: 0x0100)
    public static let ioUnaligned = MemoryFlags(rawValue: 0x8000)
    public static let io8 = MemoryFlags(rawValue: 1 << 16)
    public static let io16 = MemoryFlags(rawValue: 2 << 16)
    public static let io32 = MemoryFlags(rawValue: 4 << 16)
    public static let io64 = MemoryFlags(rawValue: 8 << 16)
    public static let names: [(MemoryFlags, String)] = [
        (.read, "READ"), (.write, "WRITE"), (.execute, "EXECUTE"), (.dma, "DMA"), (.io, "IO"),
        (.commRegion, "COMM_REGION"), (.loadable, "LOADABLE"), (.rootShared, "ROOTSHARED"),
        (.noHugepages, "NO_HUGEPAGES"), (.ioUnaligned, "IO_UNALIGNED"), (.io8, "IO_8"),
        (.io16, "IO_16"), (.io32, "IO_32"), (.io64, "IO_64"),
    ]
}

/// `JAILHOUSE_CACHE_*` flags.
public struct CacheFlags: NamedFlags, Codable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let rootShared = CacheFlags(rawValue: 0x0001)
    public static let names: [(CacheFlags, String)] = [(.rootShared, "ROOTSHARED")]
}

/// `JAILHOUSE_PCICAPS_*` flags.
public struct PCICapabilityFlags: NamedFlags, Codable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let write = PCICapabilityFlags(rawValue: 0x0001)
    public static let names: [(PCICapabilityFlags, String)] = [(.write, "WRITE")]
}

/// `JAILHOUSE_CON_*` console flags (the access and width bits; the rest is reserved).
public struct ConsoleFlags: NamedFlags, Codable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let accessMMIO = ConsoleFlags(rawValue: 0x0001)
    public static let regDist4 = ConsoleFlags(rawValue: 0x0002)
    public static let fb1920x1080 = ConsoleFlags(rawValue: 0x0004)
    public static let invertedGate = ConsoleFlags(rawValue: 0x1000)
    public static let mdrQuirk = ConsoleFlags(rawValue: 0x2000)
    public static let names: [(ConsoleFlags, String)] = [
        (.accessMMIO, "ACCESS_MMIO"), (.regDist4, "REGDIST_4"), (.fb1920x1080, "FB_1920x1080"),
        (.invertedGate, "INVERTED_GATE"), (.mdrQuirk, "MDR_QUIRK"),
    ]
}

/// `JAILHOUSE_PCI_TYPE_*`.
public struct PCIDeviceType: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let device = PCIDeviceType(rawValue: 1)
    public static let bridge = PCIDeviceType(rawValue: 2)
    public static let ivshmem = PCIDeviceType(rawValue: 3)
    public var description: String {
        switch rawValue {
        case 1: "DEVICE"
        case 2: "BRIDGE"
        case 3: "IVSHMEM"
        default: "TYPE(\(rawValue))"
        }
    }
}

/// An open code set of the config format (a C enum or `#define` family) whose known
/// values have C-derived names. Unknown wire values stay representable, so a config
/// with a value this simulator does not know still decodes and re-encodes exactly.
public protocol NamedCode: RawRepresentable, Hashable, Sendable where RawValue: FixedWidthInteger & Sendable {
    init(rawValue: RawValue)
    /// Every known value with its name.
    static var names: [(Self, String)] { get }
}

extension NamedCode {
    /// The C-derived name, or nil for a value this simulator does not know.
    public var knownName: String? { Self.names.first { $0.0 == self }?.1 }
    /// Parses one name (case-insensitive).
    public static func named(_ name: String) -> Self? {
        names.first { $0.1.lowercased() == name.lowercased() }?.0
    }
}

/// `JAILHOUSE_CON_TYPE_*` (include/jailhouse/console.h).
public struct ConsoleType: NamedCode, Codable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let none = ConsoleType(rawValue: 0)
    public static let efifb = ConsoleType(rawValue: 1)
    public static let uart8250 = ConsoleType(rawValue: 2)
    public static let pl011 = ConsoleType(rawValue: 3)
    public static let xuartps = ConsoleType(rawValue: 4)
    public static let mvebu = ConsoleType(rawValue: 5)
    public static let hscif = ConsoleType(rawValue: 6)
    public static let scifa = ConsoleType(rawValue: 7)
    public static let imx = ConsoleType(rawValue: 8)
    public static let imxLPUART = ConsoleType(rawValue: 9)
    public static let scif = ConsoleType(rawValue: 0xa)
    public static let names: [(ConsoleType, String)] = [
        (.none, "NONE"), (.efifb, "EFIFB"), (.uart8250, "8250"), (.pl011, "PL011"),
        (.xuartps, "XUARTPS"), (.mvebu, "MVEBU"), (.hscif, "HSCIF"), (.scifa, "SCIFA"),
        (.imx, "IMX"), (.imxLPUART, "IMX_LPUART"), (.scif, "SCIF"),
    ]
    public var description: String { knownName ?? "TYPE(\(rawValue))" }
}

/// `JAILHOUSE_IOMMU_*` unit types (cell-config.h, `struct jailhouse_iommu.type`).
public struct IOMMUType: NamedCode, Codable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// An unused slot of `platform_info.iommu_units[]`.
    public static let unused = IOMMUType(rawValue: 0)
    public static let amd = IOMMUType(rawValue: 1)
    public static let intel = IOMMUType(rawValue: 2)
    public static let smmuV3 = IOMMUType(rawValue: 3)
    public static let pvu = IOMMUType(rawValue: 4)
    public static let armMMU500 = IOMMUType(rawValue: 5)
    public static let names: [(IOMMUType, String)] = [
        (.unused, "UNUSED"), (.amd, "AMD"), (.intel, "INTEL"), (.smmuV3, "SMMUV3"),
        (.pvu, "PVU"), (.armMMU500, "ARM_MMU500"),
    ]
    public var description: String { knownName ?? "TYPE(\(rawValue))" }
}

/// `JAILHOUSE_CACHE_*` types of `struct jailhouse_cache` (Intel CAT on x86).
public struct CacheType: NamedCode, Codable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let l3Code = CacheType(rawValue: 1)
    public static let l3Data = CacheType(rawValue: 2)
    public static let l3 = CacheType(rawValue: 3)
    public static let names: [(CacheType, String)] = [
        (.l3Code, "L3_CODE"), (.l3Data, "L3_DATA"), (.l3, "L3"),
    ]
    public var description: String { knownName ?? "TYPE(\(rawValue))" }
}

/// `JAILHOUSE_APIC_MODE_*` of the x86 platform info.
public struct APICMode: NamedCode, Codable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let auto = APICMode(rawValue: 0)
    public static let xapic = APICMode(rawValue: 1)
    public static let x2apic = APICMode(rawValue: 2)
    public static let names: [(APICMode, String)] = [(.auto, "AUTO"), (.xapic, "XAPIC"), (.x2apic, "X2APIC")]
    public var description: String { knownName ?? "MODE(\(rawValue))" }
}

/// `JAILHOUSE_SHMEM_PROTO_*` of an ivshmem PCI device. The ranges CUSTOM
/// (0x4000–0x7fff), VIRTIO_FRONT (0x8000+) and VIRTIO_BACK (0xc000+) carry a
/// sub-code; only the fixed values are named.
public struct ShmemProtocol: NamedCode, Codable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let undefined = ShmemProtocol(rawValue: 0)
    public static let veth = ShmemProtocol(rawValue: 1)
    public static let custom = ShmemProtocol(rawValue: 0x4000)
    public static let virtioFront = ShmemProtocol(rawValue: 0x8000)
    public static let virtioBack = ShmemProtocol(rawValue: 0xc000)
    public static let names: [(ShmemProtocol, String)] = [
        (.undefined, "UNDEFINED"), (.veth, "VETH"), (.custom, "CUSTOM"),
        (.virtioFront, "VIRTIO_FRONT"), (.virtioBack, "VIRTIO_BACK"),
    ]
    public var description: String { knownName ?? String(format16: rawValue) }
}

extension PCIDeviceType: NamedCode {
    public static let names: [(PCIDeviceType, String)] = [
        (.device, "DEVICE"), (.bridge, "BRIDGE"), (.ivshmem, "IVSHMEM"),
    ]
}

extension Architecture: NamedCode {
    public static let names: [(Architecture, String)] = [(.x86, "x86"), (.arm, "arm"), (.arm64, "arm64")]
}

private extension String {
    init(format16 v: UInt16) { self = "0x" + String(v, radix: 16) }
}
