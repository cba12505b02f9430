import JHABI

/// A cell configuration: `struct jailhouse_cell_desc` (include/jailhouse/cell-config.h,
/// 132 packed bytes) followed by its eight arrays. The same type describes a `.cell` file
/// and the root cell embedded in a system config.
///
/// Every byte of a valid-size image is kept (raw flag bits, name bytes after the NUL, the
/// signature and revision of an embedded root descriptor), so `decode` followed by
/// `encode` gives back the identical bytes.
public struct CellConfig: Hashable, Sendable {
    /// 5 bytes: "JHCLL" in a cell file; zero in the root descriptor of a system config,
    /// where only the outer header is checked.
    public var signature: [UInt8]
    public var architecture: Architecture
    /// 14 in a cell file; 0 in an embedded root descriptor.
    public var revision: UInt16
    /// The raw 32-byte name field (NUL padded). `name` is the readable view.
    public var nameBytes: [UInt8]
    /// Set by the driver in its kernel copy; files carry 0.
    public var id: UInt32
    public var flags: CellFlags
    /// Bytes of CPU bitmap after the descriptor (upstream configs use 8).
    public var cpuSetSize: UInt32
    public var cpus: CPUSet
    public var memoryRegions: [MemoryRegion]
    public var cacheRegions: [CacheRegion]
    public var irqchips: [IRQChip]
    public var pioRegions: [PIORegion]
    public var pciDevices: [PCIDevice]
    public var pciCapabilities: [PCICapability]
    public var streamIDs: [StreamID]
    /// First IRQ of the virtual PCI host (ARM).
    public var vpciIRQBase: UInt32
    /// Where the cell's CPUs start after CELL_START.
    public var cpuResetAddress: UInt64
    /// Loop iterations to wait for a comm-region reply; 0 = wait forever.
    public var msgReplyTimeout: UInt64
    public var console: Console

    public init(name: String, architecture: Architecture = .x86, flags: CellFlags = [],
                cpuSetSize: UInt32 = 8, cpus: CPUSet = [], memoryRegions: [MemoryRegion] = [],
                cacheRegions: [CacheRegion] = [], irqchips: [IRQChip] = [], pioRegions: [PIORegion] = [],
                pciDevices: [PCIDevice] = [], pciCapabilities: [PCICapability] = [],
                streamIDs: [StreamID] = [], vpciIRQBase: UInt32 = 0, cpuResetAddress: UInt64 = 0,
                msgReplyTimeout: UInt64 = 0, console: Console = Console(), id: UInt32 = 0,
                signature: [UInt8] = ConfigFormat.cellSignature, revision: UInt16 = ConfigFormat.revision) {
        self.signature = signature; self.architecture = architecture; self.revision = revision
        self.nameBytes = []; self.id = id; self.flags = flags; self.cpuSetSize = cpuSetSize
        self.cpus = cpus; self.memoryRegions = memoryRegions; self.cacheRegions = cacheRegions
        self.irqchips = irqchips; self.pioRegions = pioRegions; self.pciDevices = pciDevices
        self.pciCapabilities = pciCapabilities; self.streamIDs = streamIDs; self.vpciIRQBase = vpciIRQBase
        self.cpuResetAddress = cpuResetAddress; self.msgReplyTimeout = msgReplyTimeout; self.console = console
        self.name = name
    }

    /// The name up to its first NUL. Setting it stores at most
    /// `JAILHOUSE_CELL_NAME_MAXLEN` (31) UTF-8 bytes, NUL padded.
    public var name: String {
        get { String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self) }
        set {
            var b = Array(newValue.utf8.prefix(CellName.maxLength))
            b.append(contentsOf: repeatElement(0, count: CellName.fieldSize - b.count))
            nameBytes = b
        }
    }

    /// Whether the name field holds a NUL (the driver forces byte 31 to NUL otherwise).
    public var nameIsTerminated: Bool { nameBytes.prefix(CellName.fieldSize).contains(0) || nameBytes.count < CellName.fieldSize }

    /// The size formula (`jailhouse_cell_config_size`) for this value's counts.
    public var encodedSize: Int {
        let c = counts
        return (try? Self.layout(c, base: 0, structName: "cell descriptor").total) ?? Int.max
    }

    // MARK: Header counts and the size formula

    /// The counts of a descriptor, as stored at offsets 48…79.
    struct Counts {
        var cpuSetSize: UInt32, memoryRegions: UInt32, cacheRegions: UInt32, irqchips: UInt32
        var pioRegions: UInt32, pciDevices: UInt32, pciCaps: UInt32, streamIDs: UInt32
    }

    var counts: Counts {
        func c(_ n: Int) -> UInt32 { UInt32(clamping: n) }
        return Counts(cpuSetSize: cpuSetSize, memoryRegions: c(memoryRegions.count),
                      cacheRegions: c(cacheRegions.count), irqchips: c(irqchips.count),
                      pioRegions: c(pioRegions.count), pciDevices: c(pciDevices.count),
                      pciCaps: c(pciCapabilities.count), streamIDs: c(streamIDs.count))
    }

    /// One array of §2.4: where it starts, how many elements of which size.
    struct ArraySpan {
        var name: String, element: String, countField: String
        var offset: Int, count: Int, elementSize: Int
        var end: Int { offset + count * elementSize }
    }

    struct Layout {
        var arrays: [ArraySpan]
        /// Offset just past the last array.
        var total: Int
    }

    /// Lays out the eight arrays after a descriptor at `base`, in UInt64 arithmetic.
    /// - Throws: when the total exceeds 32 bits, because upstream's
    ///   `jailhouse_cell_config_size()` returns a `__u32` and would silently wrap.
    static func layout(_ c: Counts, base: Int, structName: String) throws(ConfigError) -> Layout {
        let specs: [(String, String, String, Int, UInt32, Int)] = [
            ("CPU set", "CPU bitmap byte", "cpu_set_size", 48, c.cpuSetSize, 1),
            ("memory regions", "memory region", "num_memory_regions", 52, c.memoryRegions, MemoryRegion.size),
            ("cache regions", "cache region", "num_cache_regions", 56, c.cacheRegions, CacheRegion.size),
            ("irqchips", "irqchip", "num_irqchips", 60, c.irqchips, IRQChip.size),
            ("PIO regions", "PIO region", "num_pio_regions", 64, c.pioRegions, PIORegion.size),
            ("PCI devices", "PCI device", "num_pci_devices", 68, c.pciDevices, PCIDevice.size),
            ("PCI capabilities", "PCI capability", "num_pci_caps", 72, c.pciCaps, PCICapability.size),
            ("stream ids", "stream id", "num_stream_ids", 76, c.streamIDs, StreamID.size),
        ]
        var cellSize = UInt64(ConfigFormat.cellDescriptorSize)
        var arrays: [ArraySpan] = []
        var offset = base + ConfigFormat.cellDescriptorSize
        for (name, element, field, fieldOffset, count, size) in specs {
            let bytes = UInt64(count) * UInt64(size)
            cellSize += bytes
            if cellSize > UInt64(UInt32.max) {
                throw ConfigError(
                    structName: structName, field: field, offset: base + fieldOffset,
                    message: "\(field) \(count) at offset \(base + fieldOffset) makes the size formula overflow: "
                        + "\(cellSize) bytes or more do not fit the 32-bit result of jailhouse_cell_config_size()")
            }
            arrays.append(ArraySpan(name: name, element: element, countField: field, offset: offset,
                                    count: Int(count), elementSize: size))
            offset += Int(bytes)
        }
        return Layout(arrays: arrays, total: offset)
    }

    static func readCounts(_ r: ByteReader, base o: Int, _ s: String) throws(ConfigError) -> Counts {
        Counts(cpuSetSize: try r.load(UInt32.self, at: o + 48, s, "cpu_set_size"),
               memoryRegions: try r.load(UInt32.self, at: o + 52, s, "num_memory_regions"),
               cacheRegions: try r.load(UInt32.self, at: o + 56, s, "num_cache_regions"),
               irqchips: try r.load(UInt32.self, at: o + 60, s, "num_irqchips"),
               pioRegions: try r.load(UInt32.self, at: o + 64, s, "num_pio_regions"),
               pciDevices: try r.load(UInt32.self, at: o + 68, s, "num_pci_devices"),
               pciCaps: try r.load(UInt32.self, at: o + 72, s, "num_pci_caps"),
               streamIDs: try r.load(UInt32.self, at: o + 76, s, "num_stream_ids"))
    }

    /// The size formula of §2.4 (`jailhouse_cell_config_size`) computed from the counts
    /// in a cell descriptor header: what the driver and hypervisor must copy.
    /// - Parameter bytes: at least the 132-byte descriptor.
    /// - Throws: `ConfigError` when the header is short or the formula overflows 32 bits.
    public static func computedSize(ofHeader bytes: [UInt8]) throws(ConfigError) -> Int {
        let r = ByteReader(bytes)
        let s = "cell descriptor"
        guard bytes.count >= ConfigFormat.cellDescriptorSize else {
            throw ConfigError(structName: s, field: "size", offset: bytes.count,
                              message: "header is \(bytes.count) bytes, shorter than the \(ConfigFormat.cellDescriptorSize)-byte descriptor")
        }
        return try layout(try readCounts(r, base: 0, s), base: 0, structName: s).total
    }

    // MARK: Decoding

    /// Decodes a `.cell` file.
    ///
    /// Checks what the driver checks before trusting the counts (signature, revision)
    /// and, unlike upstream (quirk 7), that the file holds every byte the counts promise.
    /// Bytes after the computed size are ignored (`ConfigChecker` warns about them).
    /// - Throws: `ConfigError` naming the struct, field and offset.
    public static func decode(_ bytes: [UInt8]) throws(ConfigError) -> CellConfig {
        let r = ByteReader(bytes)
        try checkSignature(bytes, expected: ConfigFormat.cellSignature, structName: "cell descriptor")
        guard bytes.count >= ConfigFormat.cellDescriptorSize else {
            throw truncatedHeader(bytes.count, needed: ConfigFormat.cellDescriptorSize, structName: "cell descriptor")
        }
        let rev = try r.load(UInt16.self, at: 6, "cell descriptor", "revision")
        try checkRevision(rev, structName: "cell descriptor")
        return try decodeDescriptor(r, base: 0, structName: "cell descriptor")
    }

    /// Decodes a descriptor at `base` plus its arrays (cell file: base 0; system: 356).
    static func decodeDescriptor(_ r: ByteReader, base o: Int, structName s: String) throws(ConfigError) -> CellConfig {
        let counts = try readCounts(r, base: o, s)
        let layout = try layout(counts, base: o, structName: s)
        if layout.total > r.count {
            // Name the first array that runs past the end: that is where the file was cut.
            let span = layout.arrays.first { $0.end > r.count } ?? layout.arrays[layout.arrays.count - 1]
            let have = max(0, r.count - span.offset) / max(1, span.elementSize)
            throw ConfigError(
                structName: span.name, field: span.countField, offset: span.offset,
                message: "file ends at byte \(r.count), inside the \(span.name) array at offset \(span.offset) "
                    + "(\(span.countField) = \(span.count), only \(have) complete); "
                    + "the header's counts need \(layout.total) bytes")
        }
        var c = CellConfig(name: "")
        c.signature = try r.slice(at: o, length: 5, s, "signature")
        c.architecture = Architecture(rawValue: try r.load(UInt8.self, at: o + 5, s, "architecture"))
        c.revision = try r.load(UInt16.self, at: o + 6, s, "revision")
        c.nameBytes = try r.slice(at: o + 8, length: CellName.fieldSize, s, "name")
        c.id = try r.load(UInt32.self, at: o + 40, s, "id")
        c.flags = CellFlags(rawValue: try r.load(UInt32.self, at: o + 44, s, "flags"))
        c.cpuSetSize = counts.cpuSetSize
        c.vpciIRQBase = try r.load(UInt32.self, at: o + 80, s, "vpci_irq_base")
        c.cpuResetAddress = try r.load(UInt64.self, at: o + 84, s, "cpu_reset_address")
        c.msgReplyTimeout = try r.load(UInt64.self, at: o + 92, s, "msg_reply_timeout")
        c.console = try Console.decode(r, at: o + 100, s == "cell descriptor" ? "console" : "root cell console")

        let a = layout.arrays
        c.cpus = CPUSet(bitmap: try r.slice(at: a[0].offset, length: a[0].count, "CPU set", "cpu bitmap"))
        func each<T>(_ span: ArraySpan, _ body: (Int, String) throws(ConfigError) -> T) throws(ConfigError) -> [T] {
            var out: [T] = []
            out.reserveCapacity(span.count)
            for i in 0 ..< span.count {
                out.append(try body(span.offset + i * span.elementSize, "\(span.element) \(i)"))
            }
            return out
        }
        c.memoryRegions = try each(a[1]) { off, name throws(ConfigError) in try MemoryRegion.decode(r, at: off, name) }
        c.cacheRegions = try each(a[2]) { off, name throws(ConfigError) in try CacheRegion.decode(r, at: off, name) }
        c.irqchips = try each(a[3]) { off, name throws(ConfigError) in try IRQChip.decode(r, at: off, name) }
        c.pioRegions = try each(a[4]) { off, name throws(ConfigError) in try PIORegion.decode(r, at: off, name) }
        c.pciDevices = try each(a[5]) { off, name throws(ConfigError) in try PCIDevice.decode(r, at: off, name) }
        c.pciCapabilities = try each(a[6]) { off, name throws(ConfigError) in try PCICapability.decode(r, at: off, name) }
        c.streamIDs = try each(a[7]) { off, name throws(ConfigError) in
            StreamID(rawValue: try r.load(UInt32.self, at: off, name, "id"))
        }
        return c
    }

    // MARK: Encoding

    /// The binary image: descriptor plus arrays, `encodedSize` bytes.
    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: encodedSize == Int.max ? 0 : encodedSize)
        encode(into: &w)
        return w.bytes
    }

    func encode(into w: inout ByteWriter) {
        let n = counts
        w.put(raw: signature, count: 5); w.put(architecture.rawValue); w.put(revision)
        w.put(raw: nameBytes, count: CellName.fieldSize)
        w.put(id); w.put(flags.rawValue); w.put(n.cpuSetSize)
        w.put(n.memoryRegions); w.put(n.cacheRegions); w.put(n.irqchips); w.put(n.pioRegions)
        w.put(n.pciDevices); w.put(n.pciCaps); w.put(n.streamIDs)
        w.put(vpciIRQBase); w.put(cpuResetAddress); w.put(msgReplyTimeout)
        console.encode(into: &w)
        w.bytes.append(contentsOf: cpus.bitmap(byteCount: Int(n.cpuSetSize)))
        for m in memoryRegions { m.encode(into: &w) }
        for m in cacheRegions { m.encode(into: &w) }
        for m in irqchips { m.encode(into: &w) }
        for m in pioRegions { m.encode(into: &w) }
        for m in pciDevices { m.encode(into: &w) }
        for m in pciCapabilities { m.encode(into: &w) }
        for m in streamIDs { w.put(m.rawValue) }
    }
}

// MARK: Shared header checks

/// Renders signature bytes for a message: printable ASCII as text, otherwise hex.
func describeSignature(_ b: [UInt8]) -> String {
    if b.allSatisfy({ $0 >= 0x20 && $0 < 0x7f && $0 != 0x22 }) { return "\"" + String(decoding: b, as: UTF8.self) + "\"" }
    return "0x" + b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

/// Checks the 5-byte signature and explains the near misses: the other kind of config,
/// the 6-byte signatures of revisions 1–13 and the 8-byte ones from before revision 1.
func checkSignature(_ bytes: [UInt8], expected: [UInt8], structName s: String) throws(ConfigError) {
    let exp = describeSignature(expected)
    guard bytes.count >= 5 else {
        throw ConfigError(structName: s, field: "signature", offset: 0,
                          message: "file is \(bytes.count) bytes, too short for the 5-byte signature at offset 0 (expected \(exp))")
    }
    let isSystemWanted = expected == ConfigFormat.systemSignature
    func starts(_ sig: String) -> Bool { bytes.count >= sig.utf8.count && Array(bytes[0 ..< sig.utf8.count]) == Array(sig.utf8) }
    // Checked before the exact match: "JHSYST" begins with "JHSYS". A revision-14 file
    // never has 'T' (0x54) in its architecture byte.
    for (old, kind) in [("JHSYST", "system"), ("JHCELL", "cell")] where starts(old) {
        let rev = bytes.count >= 8 ? " (this file says revision \(UInt16(bytes[6]) | UInt16(bytes[7]) << 8))" : ""
        throw ConfigError(structName: s, field: "signature", offset: 0,
                          message: "signature \"\(old)\" at offset 0 is the 6-byte \(kind) signature of revisions 1–13\(rev), "
                              + "expected \(exp): rebuild the config for revision 14")
    }
    if Array(bytes[0 ..< 5]) == expected { return }
    for (old, kind) in [("JAILSYST", "system"), ("JAILCELL", "cell")] where starts(old) {
        throw ConfigError(structName: s, field: "signature", offset: 0,
                          message: "signature \"\(old)\" at offset 0 is the 8-byte \(kind) signature from before revision 1, expected \(exp)")
    }
    let got = Array(bytes[0 ..< 5])
    if !isSystemWanted && got == ConfigFormat.systemSignature {
        throw ConfigError(structName: s, field: "signature", offset: 0,
                          message: "signature \"JHSYS\" at offset 0 marks a system config, expected \(exp) for a cell config")
    }
    if isSystemWanted && got == ConfigFormat.cellSignature {
        throw ConfigError(structName: s, field: "signature", offset: 0,
                          message: "signature \"JHCLL\" at offset 0 marks a cell config, expected \(exp) for a system config")
    }
    throw ConfigError(structName: s, field: "signature", offset: 0,
                      message: "signature \(describeSignature(got)) at offset 0, expected \(exp)")
}

func checkRevision(_ rev: UInt16, structName s: String) throws(ConfigError) {
    guard rev != ConfigFormat.revision else { return }
    let why = rev < ConfigFormat.revision
        ? " (revision 14 moved to 5-byte signatures and added the architecture byte)"
        : " (this simulator knows revisions up to 14)"
    throw ConfigError(structName: s, field: "revision", offset: 6,
                      message: "revision \(rev) at offset 6, expected \(ConfigFormat.revision)\(why)")
}

func truncatedHeader(_ count: Int, needed: Int, structName s: String) -> ConfigError {
    ConfigError(structName: s, field: "size", offset: count,
                message: "file is \(count) bytes, shorter than the \(needed)-byte \(s)")
}
