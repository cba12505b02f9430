import JHABI

/// The readable source format of a configuration (Docs/config-format.md): one tree
/// printed as YAML (hex addresses, `cpus: 2-3`) or JSON (plain numbers, `cpus: [2, 3]`),
/// and read back from either. Printing keeps every byte that is not implied by the
/// readable fields (raw name bytes, union bytes, reserved bits), so
/// `parse(yaml(x))` encodes to exactly the bytes of `x`.
///
/// Upstream writes configs as C initialisers (configs/x86/*.c) compiled into `.cell`
/// files; this format plays that role for the simulator.
public enum ConfigSource {
    public enum Style: Sendable { case yaml, json }

    /// The YAML source of a config.
    public static func yaml(_ file: ConfigFile) -> String { tree(file, style: .yaml).yaml() }

    /// The JSON form: also the stable interface of `jhsim config show --format json`.
    public static func json(_ file: ConfigFile) -> String { tree(file, style: .json).json() + "\n" }

    /// Parses YAML or JSON source into a config.
    /// - Throws: `ConfigError` whose `structName` gives the source line and whose
    ///   message names the key path.
    public static func parse(_ text: String) throws(ConfigError) -> ConfigFile {
        let root = try SourceParser.parse(text)
        var m = try MapReader(root, path: "")
        let kind: String = try m.string("kind", default: "")
        let result: ConfigFile
        switch kind {
        case "system": result = .system(try readSystem(&m))
        case "cell": result = .cell(try readCell(&m, isRoot: false, defaultArch: .x86))
        default:
            throw m.error("kind", "kind must be \"system\" or \"cell\", got \"\(kind)\"", line: root.line)
        }
        try m.finish()
        return result
    }

    // MARK: Printing

    static func tree(_ file: ConfigFile, style: Style) -> SourceValue {
        switch file {
        case .cell(let c):
            return .map([("kind", .string("cell"))] + cellEntries(c, style: style, isRoot: false))
        case .system(let s):
            var e: [(String, SourceValue)] = [
                ("kind", .string("system")), ("revision", .number(UInt64(s.revision), hex: false)),
                ("architecture", code(s.architecture)), ("name", .string(s.rootCell.name)),
                ("flags", flags(s.flags)),
                ("hypervisorMemory", memory(s.hypervisorMemory)),
                ("debugConsole", console(s.debugConsole)),
                ("platformInfo", platform(s.platformInfo, arch: s.architecture)),
                ("rootCell", .map(cellEntries(s.rootCell, style: style, isRoot: true))),
            ]
            if s.signature != ConfigFormat.systemSignature { e.insert(("signature", bytes(s.signature)), at: 1) }
            return .map(e)
        }
    }

    static func num<T: BinaryInteger>(_ v: T, hex: Bool = false) -> SourceValue { .number(UInt64(truncatingIfNeeded: v), hex: hex) }
    static func bytes(_ b: [UInt8]) -> SourceValue {
        .string(b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined())
    }
    static func flags<F: NamedFlags>(_ f: F) -> SourceValue {
        var l: [SourceValue] = f.flagNames.map { .string($0) }
        if f.unknownBits != 0 { l.append(.string("0x" + String(f.unknownBits, radix: 16))) }
        return .list(l)
    }
    static func code<C: NamedCode>(_ c: C) -> SourceValue {
        if let n = c.knownName { return .string(n) }
        return num(c.rawValue, hex: true)
    }

    static func memory(_ m: MemoryRegion) -> SourceValue {
        .map([("physStart", num(m.physStart, hex: true)), ("virtStart", num(m.virtStart, hex: true)),
              ("size", num(m.size, hex: true)), ("flags", flags(m.flags))])
    }

    static func console(_ c: Console) -> SourceValue {
        .map([("address", num(c.address, hex: true)), ("size", num(c.size, hex: true)), ("type", code(c.type)),
              ("flags", flags(c.flags)), ("divider", num(c.divider, hex: true)), ("gateNr", num(c.gateNr)),
              ("clockReg", num(c.clockReg, hex: true))])
    }

    static func platform(_ p: PlatformInfo, arch: Architecture) -> SourceValue {
        var e: [(String, SourceValue)] = [
            ("pciMMConfigBase", num(p.pciMMConfigBase, hex: true)), ("pciMMConfigEndBus", num(p.pciMMConfigEndBus, hex: true)),
            ("pciIsVirtual", num(p.pciIsVirtual)), ("pciDomain", num(p.pciDomain, hex: true)),
        ]
        var units = p.iommuUnits
        while let last = units.last, last.isEmpty { units.removeLast() }
        e.append(("iommuUnits", .list(units.map(iommu))))
        var probe = PlatformInfo()
        if arch == .x86 {
            probe.x86 = p.x86
            if probe.archBytes == p.archBytes {
                let x = p.x86
                var v: [(String, SourceValue)] = [
                    ("pmTimerAddress", num(x.pmTimerAddress, hex: true)), ("apicMode", code(x.apicMode)),
                    ("vtdInterruptLimit", num(x.vtdInterruptLimit)), ("tscKHz", num(x.tscKHz)), ("apicKHz", num(x.apicKHz)),
                ]
                if x.padding != 0 { v.append(("padding", num(x.padding, hex: true))) }
                e.append(("x86", .map(v)))
                return .map(e)
            }
        } else if arch == .arm || arch == .arm64 {
            probe.arm = p.arm
            if probe.archBytes == p.archBytes {
                let a = p.arm
                var v: [(String, SourceValue)] = [
                    ("maintenanceIRQ", num(a.maintenanceIRQ)), ("gicVersion", num(a.gicVersion)),
                    ("gicdBase", num(a.gicdBase, hex: true)), ("giccBase", num(a.giccBase, hex: true)),
                    ("gichBase", num(a.gichBase, hex: true)), ("gicvBase", num(a.gicvBase, hex: true)),
                    ("gicrBase", num(a.gicrBase, hex: true)),
                ]
                if a.padding != 0 { v.append(("padding", num(a.padding, hex: true))) }
                e.append(("arm", .map(v)))
                return .map(e)
            }
        }
        if !p.archBytes.isAllZero { e.append(("archBytes", bytes(p.archBytes))) }
        return .map(e)
    }

    static func iommu(_ u: IOMMUUnit) -> SourceValue {
        var e: [(String, SourceValue)] = [("type", code(u.type)), ("base", num(u.base, hex: true)), ("size", num(u.size, hex: true))]
        if !u.unionBytes.isAllZero {
            if u.type == .amd && u.unionBytes[8 ..< 12].allSatisfy({ $0 == 0 }) {
                e.append(("amd", .map([("bdf", num(u.amdBDF, hex: true)), ("baseCap", num(u.amdBaseCap, hex: true)),
                                       ("msiCap", num(u.amdMSICap, hex: true)), ("features", num(u.amdFeatures, hex: true))])))
            } else if u.type == .pvu {
                e.append(("tipvu", .map([("tlbBase", num(u.pvuTLBBase, hex: true)), ("tlbSize", num(u.pvuTLBSize, hex: true))])))
            } else {
                e.append(("unionBytes", bytes(u.unionBytes)))
            }
        }
        return .map(e)
    }

    static func cellEntries(_ c: CellConfig, style: Style, isRoot: Bool) -> [(String, SourceValue)] {
        var e: [(String, SourceValue)] = []
        if isRoot && !c.signature.isAllZero || !isRoot && c.signature != ConfigFormat.cellSignature {
            e.append(("signature", bytes(c.signature)))
        }
        e.append(("revision", num(c.revision)))
        e.append(("architecture", code(c.architecture)))
        e.append(("name", .string(c.name)))
        var canonical = c
        canonical.name = c.name
        if canonical.nameBytes != c.nameBytes { e.append(("nameBytes", bytes(c.nameBytes))) }
        e.append(("id", num(c.id)))
        e.append(("flags", flags(c.flags)))
        e.append(("cpuSetSize", num(c.cpuSetSize)))
        switch style {
        case .yaml: e.append(("cpus", .string(c.cpus.rangeList)))
        case .json: e.append(("cpus", .list(c.cpus.map { num($0) })))
        }
        e.append(("vpciIRQBase", num(c.vpciIRQBase)))
        e.append(("cpuResetAddress", num(c.cpuResetAddress, hex: true)))
        e.append(("msgReplyTimeout", num(c.msgReplyTimeout)))
        e.append(("console", console(c.console)))
        e.append(("memoryRegions", .list(c.memoryRegions.map(memory))))
        e.append(("cacheRegions", .list(c.cacheRegions.map { r in
            var m: [(String, SourceValue)] = [("start", num(r.start)), ("size", num(r.size)), ("type", code(r.type)),
                                             ("flags", flags(r.flags))]
            if r.padding != 0 { m.append(("padding", num(r.padding, hex: true))) }
            return .map(m)
        })))
        e.append(("irqchips", .list(c.irqchips.map { i in
            .map([("address", num(i.address, hex: true)), ("id", num(i.id, hex: true)), ("pinBase", num(i.pinBase)),
                  ("pinBitmap", .list(i.pinBitmap.map { num($0, hex: true) }))])
        })))
        e.append(("pioRegions", .list(c.pioRegions.map { p in
            .map([("base", num(p.base, hex: true)), ("length", num(p.length, hex: true))])
        })))
        e.append(("pciDevices", .list(c.pciDevices.map(pciDevice))))
        e.append(("pciCapabilities", .list(c.pciCapabilities.map { p in
            .map([("id", num(p.id, hex: true)), ("start", num(p.start, hex: true)), ("length", num(p.length)),
                  ("flags", flags(p.flags))])
        })))
        e.append(("streamIDs", .list(c.streamIDs.map { num($0.rawValue, hex: true) })))
        return e
    }

    static func pciDevice(_ d: PCIDevice) -> SourceValue {
        var e: [(String, SourceValue)] = [
            ("type", code(d.type)), ("iommu", num(d.iommu)), ("domain", num(d.domain, hex: true)),
            ("bdf", num(d.bdf, hex: true)), ("barMask", .list(d.barMask.map { num($0, hex: true) })),
            ("capsStart", num(d.capsStart)), ("numCaps", num(d.numCaps)), ("numMSIVectors", num(d.numMSIVectors)),
            ("msi64Bits", .bool(d.msi64Bits)), ("msiMaskable", .bool(d.msiMaskable)),
        ]
        if d.msiBits & ~3 != 0 { e.append(("msiReservedBits", num(d.msiBits & ~3, hex: true))) }
        e += [("numMSIXVectors", num(d.numMSIXVectors)), ("msixRegionSize", num(d.msixRegionSize, hex: true)),
              ("msixAddress", num(d.msixAddress, hex: true)), ("shmemRegionsStart", num(d.shmemRegionsStart)),
              ("shmemDevID", num(d.shmemDevID)), ("shmemPeers", num(d.shmemPeers)),
              ("shmemProtocol", code(d.shmemProtocol))]
        return .map(e)
    }

    // MARK: Reading

    static func readSystem(_ m: inout MapReader) throws(ConfigError) -> SystemConfig {
        let arch: Architecture = try m.code("architecture", default: .x86)
        var root = try m.map("rootCell")
        var sys = SystemConfig(architecture: arch, hypervisorMemory: MemoryRegion(),
                               rootCell: try readCell(&root, isRoot: true, defaultArch: arch))
        try root.finish()
        if let name: String = try m.optionalString("name"), name != sys.rootCell.name {
            throw m.error("name", "name \"\(name)\" differs from rootCell.name \"\(sys.rootCell.name)\" (the system's name is its root cell's)")
        }
        sys.signature = try m.bytes("signature", count: 5, default: ConfigFormat.systemSignature)
        sys.revision = try m.number("revision", default: ConfigFormat.revision)
        sys.flags = try m.flags("flags", default: [])
        var hv = try m.map("hypervisorMemory")
        sys.hypervisorMemory = try readMemory(&hv)
        var dc = try m.map("debugConsole")
        sys.debugConsole = try readConsole(&dc)
        var pm = try m.map("platformInfo")
        sys.platformInfo = try readPlatform(&pm, arch: arch)
        return sys
    }

    static func readMemory(_ m: inout MapReader) throws(ConfigError) -> MemoryRegion {
        let r = MemoryRegion(physStart: try m.number("physStart", default: 0), virtStart: try m.number("virtStart", default: 0),
                             size: try m.number("size", default: 0), flags: try m.flags("flags", default: []))
        try m.finish()
        return r
    }

    static func readConsole(_ m: inout MapReader) throws(ConfigError) -> Console {
        let c = Console(address: try m.number("address", default: 0), size: try m.number("size", default: 0),
                        type: try m.code("type", default: .none), flags: try m.flags("flags", default: []),
                        divider: try m.number("divider", default: 0), gateNr: try m.number("gateNr", default: 0),
                        clockReg: try m.number("clockReg", default: 0))
        try m.finish()
        return c
    }

    static func readPlatform(_ m: inout MapReader, arch: Architecture) throws(ConfigError) -> PlatformInfo {
        var p = PlatformInfo()
        p.pciMMConfigBase = try m.number("pciMMConfigBase", default: 0)
        p.pciMMConfigEndBus = try m.number("pciMMConfigEndBus", default: 0)
        p.pciIsVirtual = try m.number("pciIsVirtual", default: 0)
        p.pciDomain = try m.number("pciDomain", default: 0)
        let units = try m.list("iommuUnits")
        guard units.count <= ConfigFormat.maxIOMMUUnits else {
            throw m.error("iommuUnits", "at most \(ConfigFormat.maxIOMMUUnits) IOMMU units, got \(units.count)")
        }
        for (i, u) in units.enumerated() {
            var um = try MapReader(u, path: m.path + "iommuUnits[\(i)]")
            var unit = IOMMUUnit(type: try um.code("type", default: .unused), base: try um.number("base", default: 0),
                                 size: try um.number("size", default: 0))
            if um.has("amd") {
                var a = try um.map("amd")
                unit.amdBDF = try a.number("bdf", default: 0); unit.amdBaseCap = try a.number("baseCap", default: 0)
                unit.amdMSICap = try a.number("msiCap", default: 0); unit.amdFeatures = try a.number("features", default: 0)
                try a.finish()
            }
            if um.has("tipvu") {
                var a = try um.map("tipvu")
                unit.pvuTLBBase = try a.number("tlbBase", default: 0); unit.pvuTLBSize = try a.number("tlbSize", default: 0)
                try a.finish()
            }
            if um.has("unionBytes") { unit.unionBytes = try um.bytes("unionBytes", count: 12, default: []) }
            try um.finish()
            p.iommuUnits[i] = unit
        }
        if m.has("x86") {
            var x = try m.map("x86")
            var v = X86PlatformInfo(pmTimerAddress: try x.number("pmTimerAddress", default: 0),
                                    apicMode: try x.code("apicMode", default: .auto),
                                    vtdInterruptLimit: try x.number("vtdInterruptLimit", default: 0),
                                    tscKHz: try x.number("tscKHz", default: 0), apicKHz: try x.number("apicKHz", default: 0))
            v.padding = try x.number("padding", default: 0)
            try x.finish()
            p.x86 = v
        }
        if m.has("arm") {
            var x = try m.map("arm")
            var v = ARMPlatformInfo()
            v.maintenanceIRQ = try x.number("maintenanceIRQ", default: 0); v.gicVersion = try x.number("gicVersion", default: 0)
            v.gicdBase = try x.number("gicdBase", default: 0); v.giccBase = try x.number("giccBase", default: 0)
            v.gichBase = try x.number("gichBase", default: 0); v.gicvBase = try x.number("gicvBase", default: 0)
            v.gicrBase = try x.number("gicrBase", default: 0); v.padding = try x.number("padding", default: 0)
            try x.finish()
            p.arm = v
        }
        if m.has("archBytes") { p.archBytes = try m.bytes("archBytes", count: PlatformInfo.archUnionSize, default: []) }
        try m.finish()
        return p
    }

    static func readCell(_ m: inout MapReader, isRoot: Bool, defaultArch: Architecture) throws(ConfigError) -> CellConfig {
        var c = CellConfig(name: try m.string("name", default: ""))
        c.signature = try m.bytes("signature", count: 5,
                                  default: isRoot ? [0, 0, 0, 0, 0] : ConfigFormat.cellSignature)
        c.revision = try m.number("revision", default: isRoot ? 0 : ConfigFormat.revision)
        c.architecture = try m.code("architecture", default: defaultArch)
        if m.has("nameBytes") { c.nameBytes = try m.bytes("nameBytes", count: CellName.fieldSize, default: []) }
        c.id = try m.number("id", default: 0)
        c.flags = try m.flags("flags", default: [])
        c.cpuSetSize = try m.number("cpuSetSize", default: 8)
        // The hypervisor takes at most 4096 bytes (the checker says so); far larger values
        // are typos, and encoding them would allocate gigabytes.
        guard c.cpuSetSize <= 1 << 16 else {
            throw m.error("cpuSetSize", "\(c.cpuSetSize) bytes is far beyond the hypervisor's limit of \(ConfigFormat.maxCPUSetSize)")
        }
        c.cpus = try m.cpus("cpus")
        if let last = c.cpus.last, UInt64(last) >= UInt64(c.cpuSetSize) * 8 {
            throw m.error("cpus", "CPU \(last) does not fit a \(c.cpuSetSize)-byte CPU bitmap (cpuSetSize)")
        }
        c.vpciIRQBase = try m.number("vpciIRQBase", default: 0)
        c.cpuResetAddress = try m.number("cpuResetAddress", default: 0)
        c.msgReplyTimeout = try m.number("msgReplyTimeout", default: 0)
        if m.has("console") { var cm = try m.map("console"); c.console = try readConsole(&cm) }
        c.memoryRegions = try m.eachMap("memoryRegions") { (r: inout MapReader) throws(ConfigError) in try readMemory(&r) }
        c.cacheRegions = try m.eachMap("cacheRegions") { (r: inout MapReader) throws(ConfigError) in
            let v = CacheRegion(start: try r.number("start", default: 0), size: try r.number("size", default: 0),
                                type: try r.code("type", default: .l3), padding: try r.number("padding", default: 0),
                                flags: try r.flags("flags", default: []))
            try r.finish(); return v
        }
        c.irqchips = try m.eachMap("irqchips") { (r: inout MapReader) throws(ConfigError) in
            var bm: [UInt32] = [0, 0, 0, 0]
            if r.has("pinBitmap") { bm = try r.numbers("pinBitmap", count: 4) }
            if r.has("pins") { bm = IRQChip.bitmap(pins: try r.numbers("pins", count: nil).map { Int($0 as UInt32) }) }
            let v = IRQChip(address: try r.number("address", default: 0), id: try r.number("id", default: 0),
                            pinBase: try r.number("pinBase", default: 0), pinBitmap: bm)
            try r.finish(); return v
        }
        c.pioRegions = try m.eachMap("pioRegions") { (r: inout MapReader) throws(ConfigError) in
            let v = PIORegion(base: try r.number("base", default: 0), length: try r.number("length", default: 0))
            try r.finish(); return v
        }
        c.pciDevices = try m.eachMap("pciDevices") { (r: inout MapReader) throws(ConfigError) in
            var d = PCIDevice(type: try r.code("type", default: .device), iommu: try r.number("iommu", default: 0),
                              domain: try r.number("domain", default: 0), bdf: try r.bdf("bdf"),
                              barMask: r.has("barMask") ? try r.numbers("barMask", count: 6) : [0, 0, 0, 0, 0, 0],
                              capsStart: try r.number("capsStart", default: 0), numCaps: try r.number("numCaps", default: 0),
                              numMSIVectors: try r.number("numMSIVectors", default: 0),
                              numMSIXVectors: try r.number("numMSIXVectors", default: 0),
                              msixRegionSize: try r.number("msixRegionSize", default: 0),
                              msixAddress: try r.number("msixAddress", default: 0),
                              shmemRegionsStart: try r.number("shmemRegionsStart", default: 0),
                              shmemDevID: try r.number("shmemDevID", default: 0), shmemPeers: try r.number("shmemPeers", default: 0),
                              shmemProtocol: try r.code("shmemProtocol", default: .undefined))
            d.msiBits = try r.number("msiReservedBits", default: 0) & ~3
            d.msi64Bits = try r.bool("msi64Bits", default: false)
            d.msiMaskable = try r.bool("msiMaskable", default: false)
            try r.finish(); return d
        }
        c.pciCapabilities = try m.eachMap("pciCapabilities") { (r: inout MapReader) throws(ConfigError) in
            let v = PCICapability(id: try r.number("id", default: 0), start: try r.number("start", default: 0),
                                  length: try r.number("length", default: 0), flags: try r.flags("flags", default: []))
            try r.finish(); return v
        }
        if m.has("streamIDs") {
            c.streamIDs = try m.numbers("streamIDs", count: nil).map { (v: UInt32) in StreamID(rawValue: v) }
        }
        return c
    }
}
