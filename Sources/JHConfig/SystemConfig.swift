import JHABI

/// A system configuration: `struct jailhouse_system` (include/jailhouse/cell-config.h,
/// 488 packed bytes including the embedded root `jailhouse_cell_desc` at offset 356),
/// followed by the root cell's arrays. This is the image JAILHOUSE_ENABLE takes.
public struct SystemConfig: Hashable, Sendable {
    /// "JHSYS".
    public var signature: [UInt8] = ConfigFormat.systemSignature
    public var architecture: Architecture
    public var revision: UInt16 = ConfigFormat.revision
    public var flags: SystemFlags
    /// The physical window reserved for the hypervisor. Its size is also what the
    /// simulated hypervisor uses as its memory pool.
    public var hypervisorMemory: MemoryRegion
    /// The hypervisor's own UART or framebuffer.
    public var debugConsole: Console
    public var platformInfo: PlatformInfo
    /// The root cell. Its own `signature` and `revision` are normally zero.
    public var rootCell: CellConfig

    public init(architecture: Architecture = .x86, flags: SystemFlags = [], hypervisorMemory: MemoryRegion,
                debugConsole: Console = Console(), platformInfo: PlatformInfo = PlatformInfo(),
                rootCell: CellConfig) {
        self.architecture = architecture; self.flags = flags; self.hypervisorMemory = hypervisorMemory
        self.debugConsole = debugConsole; self.platformInfo = platformInfo; self.rootCell = rootCell
    }

    /// Offset of the embedded root descriptor.
    public static let rootCellOffset = ConfigFormat.systemHeaderSize - ConfigFormat.cellDescriptorSize

    /// `jailhouse_system_config_size`: 356 + the root cell's size formula.
    public var encodedSize: Int {
        let c = rootCell.encodedSize
        return c == Int.max ? c : Self.rootCellOffset + c
    }

    /// The size formula computed from the counts in a system header (at least 488 bytes):
    /// how many bytes JAILHOUSE_ENABLE must copy.
    /// - Throws: `ConfigError` when the header is short or the formula overflows 32 bits.
    public static func computedSize(ofHeader bytes: [UInt8]) throws(ConfigError) -> Int {
        guard bytes.count >= ConfigFormat.systemHeaderSize else {
            throw truncatedHeader(bytes.count, needed: ConfigFormat.systemHeaderSize, structName: "system header")
        }
        let r = ByteReader(bytes)
        let counts = try CellConfig.readCounts(r, base: rootCellOffset, "root cell descriptor")
        return try CellConfig.layout(counts, base: rootCellOffset, structName: "root cell descriptor").total
    }

    /// Decodes a system config file.
    ///
    /// Checks the outer signature and revision (as `jailhouse_cmd_enable` does) and that
    /// the file holds every byte the root counts promise. Trailing bytes are ignored.
    /// - Throws: `ConfigError` naming the struct, field and offset.
    public static func decode(_ bytes: [UInt8]) throws(ConfigError) -> SystemConfig {
        let s = "system header"
        let r = ByteReader(bytes)
        try checkSignature(bytes, expected: ConfigFormat.systemSignature, structName: s)
        guard bytes.count >= ConfigFormat.systemHeaderSize else {
            throw truncatedHeader(bytes.count, needed: ConfigFormat.systemHeaderSize, structName: s)
        }
        let rev = try r.load(UInt16.self, at: 6, s, "revision")
        try checkRevision(rev, structName: s)
        let root = try CellConfig.decodeDescriptor(r, base: rootCellOffset, structName: "root cell descriptor")
        var sys = SystemConfig(
            architecture: Architecture(rawValue: try r.load(UInt8.self, at: 5, s, "architecture")),
            flags: SystemFlags(rawValue: try r.load(UInt32.self, at: 8, s, "flags")),
            hypervisorMemory: try MemoryRegion.decode(r, at: 12, "hypervisor memory"),
            debugConsole: try Console.decode(r, at: 44, "debug console"),
            platformInfo: try PlatformInfo.decode(r, at: 76),
            rootCell: root)
        sys.signature = try r.slice(at: 0, length: 5, s, "signature")
        sys.revision = rev
        return sys
    }

    /// The binary image: header, root descriptor and root arrays.
    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: encodedSize == Int.max ? 0 : encodedSize)
        w.put(raw: signature, count: 5); w.put(architecture.rawValue); w.put(revision); w.put(flags.rawValue)
        hypervisorMemory.encode(into: &w)
        debugConsole.encode(into: &w)
        platformInfo.encode(into: &w)
        rootCell.encode(into: &w)
        return w.bytes
    }
}

/// Either kind of configuration file, told apart by its signature.
public enum ConfigFile: Hashable, Sendable {
    case system(SystemConfig)
    case cell(CellConfig)

    /// Decodes a file of either kind: "JHSYS" → system, anything else is read as a cell
    /// config (so a bad signature is reported against `JHCLL`, unless it is a legacy or
    /// system-like signature, which gets its own explanation).
    public static func decode(_ bytes: [UInt8]) throws(ConfigError) -> ConfigFile {
        if kind(of: bytes) == .system { return .system(try SystemConfig.decode(bytes)) }
        return .cell(try CellConfig.decode(bytes))
    }

    public enum Kind: String, Sendable { case system, cell }

    /// The kind a file claims by its signature (current or pre-revision-14 forms); nil
    /// when it has neither.
    public static func kind(of bytes: [UInt8]) -> Kind? {
        func starts(_ s: String) -> Bool { bytes.count >= s.utf8.count && Array(bytes[0 ..< s.utf8.count]) == Array(s.utf8) }
        if starts("JHSYS") || starts("JAILSYST") { return .system }
        if starts("JHCLL") || starts("JHCELL") || starts("JAILCELL") { return .cell }
        return nil
    }

    public var kind: Kind {
        switch self { case .system: .system; case .cell: .cell }
    }

    /// The cell descriptor: the cell itself, or a system config's root cell.
    public var cell: CellConfig {
        switch self { case .system(let s): s.rootCell; case .cell(let c): c }
    }

    public func encode() -> [UInt8] {
        switch self { case .system(let s): s.encode(); case .cell(let c): c.encode() }
    }
}
