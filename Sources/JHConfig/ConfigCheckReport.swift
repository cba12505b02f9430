import JHABI

/// `jhsim config check SYSCONFIG [CELLCONFIG…]`: upstream's `jailhouse config check`
/// (tools/jailhouse-config-check with pyjailhouse/config_parser.py, e57d1eff), re-expressed.
///
/// Upstream reads the configs with its own lenient parser, not the driver's rules: it
/// looks only at the header, memory regions, irqchips and PIO regions, so a config the
/// driver would refuse (a name without its NUL, truncated PCI devices) can still pass,
/// and the stricter findings live in `jhsim config lint` (`ConfigChecker`). The report
/// is fixed text, sections in upstream's order; exit 1 on a parse error or any finding,
/// 2 for argument errors (argparse's code).
public enum ConfigCheckReport {
    /// A memory region as the checker sees it: a config's region, or one of the
    /// resources the hypervisor must intercept (`ResourceRegion` upstream: virt = phys,
    /// no flags, a name).
    struct Region {
        var region: MemoryRegion
        var name: String = ""

        /// `phys_address_in_region`, without overflowing at the top of the address space.
        static func contains(_ start: UInt64, _ size: UInt64, _ address: UInt64) -> Bool {
            address >= start && address - start < size
        }

        /// Mirrors `MemRegion.phys_overlaps` in pyjailhouse/config_parser.py: empty regions
        /// overlap nothing; otherwise either start lies inside the other.
        func physOverlaps(_ o: Region) -> Bool {
            let a = region, b = o.region
            guard a.size != 0, b.size != 0 else { return false }
            return Self.contains(b.physStart, b.size, a.physStart) || Self.contains(a.physStart, a.size, b.physStart)
        }

        /// Mirrors `MemRegion.virt_overlaps` in pyjailhouse/config_parser.py.
        func virtOverlaps(_ o: Region) -> Bool {
            let a = region, b = o.region
            guard a.size != 0, b.size != 0 else { return false }
            return Self.contains(b.virtStart, b.size, a.virtStart) || Self.contains(a.virtStart, a.size, b.virtStart)
        }

        /// The four indented lines upstream prints for a region (`MemRegion.__str__`):
        /// flags by name from the lowest bit up, unknown bits in hex.
        var text: String {
            func hex16(_ v: UInt64) -> String {
                let h = String(v, radix: 16)
                return "0x" + String(repeating: "0", count: max(0, 16 - h.count)) + h
            }
            var names: [String] = []
            for bit in 0 ..< 64 where region.flags.rawValue & (1 << UInt64(bit)) != 0 {
                let mask = UInt64(1) << UInt64(bit)
                if let n = MemoryFlags.names.first(where: { $0.0.rawValue == mask }) {
                    names.append("JAILHOUSE_MEM_" + n.1)
                } else {
                    names.append("0x" + String(mask, radix: 16))
                }
            }
            return "  phys_start: \(hex16(region.physStart))\n  virt_start: \(hex16(region.virtStart))\n"
                + "  size:       \(hex16(region.size))\n  flags:      \(names.joined(separator: " | "))"
        }
    }

    /// What upstream's parser keeps of a cell descriptor.
    struct Cell {
        var name: String
        var architecture: Architecture
        var regions: [Region]
        var irqchipAddresses: [UInt64]
    }

    /// What upstream's parser keeps of a system config.
    struct System {
        var architecture: Architecture
        var hypervisorMemory: Region
        var mmconfigBase: UInt64
        var mmconfigEndBus: UInt8
        /// (base, size) of every IOMMU unit whose type is not UNUSED.
        var iommus: [(UInt64, UInt32)]
        var arm: ARMPlatformInfo
        var root: Cell
    }

    /// A parse failure: upstream's `RuntimeError` text (printed as "TEXT: FILE").
    struct ParseFailure: Error { var message: String }

    /// Little-endian reads that fail like Python's `struct.unpack_from` on short data.
    struct Bytes {
        let b: [UInt8]
        let failure: String
        func need(_ offset: Int, _ count: Int) throws(ParseFailure) {
            guard offset >= 0, count <= b.count, offset <= b.count - count else { throw ParseFailure(message: failure) }
        }
        func u(_ offset: Int, _ width: Int) throws(ParseFailure) -> UInt64 {
            try need(offset, width)
            var v: UInt64 = 0
            for i in (0 ..< width).reversed() { v = v << 8 | UInt64(b[offset + i]) }
            return v
        }
        func region(_ o: Int) throws(ParseFailure) -> Region {
            Region(region: MemoryRegion(physStart: try u(o, 8), virtStart: try u(o + 8, 8), size: try u(o + 16, 8),
                                        flags: MemoryFlags(rawValue: try u(o + 24, 8))))
        }
    }

    static func architecture(_ raw: UInt64) throws(ParseFailure) -> Architecture {
        // Mirrors `convert_arch` in pyjailhouse/config_parser.py.
        guard raw <= 2 else { throw ParseFailure(message: "Configuration has unsupported architecture") }
        return Architecture(rawValue: UInt8(raw))
    }

    /// Mirrors `CellConfig.__init__` in pyjailhouse/config_parser.py: a root cell (inside a
    /// system config) skips the signature and revision checks.
    static func parseCell(_ data: [UInt8], root: Bool) throws(ParseFailure) -> Cell {
        let r = Bytes(b: data, failure: root ? "Not a root cell configuration" : "Not a cell configuration")
        let headerSize = ConfigFormat.cellDescriptorSize
        try r.need(0, headerSize)
        if !root {
            guard Array(data[0 ..< 5]) == ConfigFormat.cellSignature else { throw ParseFailure(message: "Not a cell configuration") }
            guard try r.u(6, 2) == UInt64(ConfigFormat.revision) else {
                throw ParseFailure(message: "Configuration file revision mismatch")
            }
        }
        // Python decodes the 32 name bytes as UTF-8 and strips NULs at both ends.
        var nameBytes = Array(data[8 ..< 40])
        while nameBytes.last == 0 { nameBytes.removeLast() }
        while nameBytes.first == 0 { nameBytes.removeFirst() }
        guard let name = String(validating: nameBytes, as: UTF8.self) else {
            throw ParseFailure(message: "Cell name is not valid UTF-8")
        }
        let arch = try architecture(try r.u(5, 1))
        let cpuSetSize = Int(try r.u(48, 4))
        let numRegions = Int(try r.u(52, 4)), numCaches = Int(try r.u(56, 4))
        let numIrqchips = Int(try r.u(60, 4)), numPIO = Int(try r.u(64, 4))
        var offset = headerSize + cpuSetSize
        var regions: [Region] = []
        for _ in 0 ..< numRegions {
            regions.append(try r.region(offset))
            offset += MemoryRegion.size
        }
        offset += numCaches * 12
        var chips: [UInt64] = []
        for _ in 0 ..< numIrqchips {
            try r.need(offset, 32)
            chips.append(try r.u(offset, 8))
            offset += 32
        }
        for _ in 0 ..< numPIO {
            try r.need(offset, 4)
            offset += 4
        }
        return Cell(name: name, architecture: arch, regions: regions, irqchipAddresses: chips)
    }

    /// Mirrors `SystemConfig.__init__` in pyjailhouse/config_parser.py (with `IOMMU.__init__`).
    static func parseSystem(_ data: [UInt8]) throws(ParseFailure) -> System {
        let r = Bytes(b: data, failure: "Not a root cell configuration")
        try r.need(0, 12)
        guard Array(data[0 ..< 5]) == ConfigFormat.systemSignature else { throw ParseFailure(message: "Not a root cell configuration") }
        guard try r.u(6, 2) == UInt64(ConfigFormat.revision) else { throw ParseFailure(message: "Configuration file revision mismatch") }
        let arch = try architecture(try r.u(5, 1))
        let hv = try r.region(12)
        let pci = 12 + MemoryRegion.size + 32
        let mmBase = try r.u(pci, 8), endBus = UInt8(try r.u(pci + 8, 1))
        try r.need(pci, 12)
        var offset = pci + 12
        var iommus: [(UInt64, UInt32)] = []
        for _ in 0 ..< ConfigFormat.maxIOMMUUnits {
            let type = try r.u(offset, 4), base = try r.u(offset + 4, 8), size = UInt32(try r.u(offset + 12, 4))
            switch type {
            case 0, 2, 3, 5: break                        // UNUSED, INTEL, SMMUV3, ARM_MMU500
            case 1: try r.need(offset + 16, 10)           // AMD: bdf, base_cap, msi_cap, features
            case 4: try r.need(offset + 16, 12)           // TIPVU: tlb_base, tlb_size
            default: throw ParseFailure(message: "Unknown IOMMU type: \(type)")
            }
            if type != 0 { iommus.append((base, size)) }
            offset += IOMMUUnit.size
        }
        try r.need(offset, PlatformInfo.archUnionSize)
        var platform = PlatformInfo()
        platform.archBytes = Array(data[offset ..< offset + PlatformInfo.archUnionSize])
        offset += PlatformInfo.archUnionSize
        let root = try parseCell(Array(data[offset...]), root: true)
        return System(architecture: arch, hypervisorMemory: hv, mmconfigBase: mmBase, mmconfigEndBus: endBus,
                      iommus: iommus, arm: platform.arm, root: root)
    }

    /// A config file read for the check: what the user typed and the bytes.
    public typealias Input = (name: String, bytes: [UInt8])

    static let usage = "usage: jhsim config check [-h] SYSCONFIG [CELLCONFIG ...]\n"

    /// The whole command: reads the files (a missing one is an argument error, exit 2,
    /// before anything is printed, as argparse opens them all first), then `report`.
    public static func run(arguments: [String]) -> CommandOutput {
        guard !arguments.isEmpty else {
            return CommandOutput(stderr: usage + "jhsim config check: error: the following arguments are required: SYSCONFIG\n",
                                 exitCode: 2)
        }
        var inputs: [Input] = []
        for (i, p) in arguments.enumerated() {
            do {
                inputs.append((p, try ConfigCLI.readConfig(p)))
            } catch {
                let why = error.message.hasSuffix("is a directory") ? "[Errno 21] Is a directory"
                    : error.message.contains("does not exist") ? "[Errno 2] No such file or directory" : "[Errno 13] Permission denied"
                let arg = i == 0 ? "SYSCONFIG" : "CELLCONFIG"
                return CommandOutput(stderr: usage + "jhsim config check: error: argument \(arg): can't open '\(p)': \(why): '\(p)'\n",
                                     exitCode: 2)
            }
        }
        return report(system: inputs[0], cells: Array(inputs.dropFirst()))
    }

    /// Mirrors the body of tools/jailhouse-config-check: "Reading configuration set:",
    /// then the sections in upstream's order. One quirk kept on purpose: the MMCONFIG
    /// section does not reset upstream's `found`, so after a hypervisor overlap it ends
    /// with a blank line instead of " None".
    public static func report(system: Input, cells cellInputs: [Input]) -> CommandOutput {
        var out = CommandOutput()
        out.stdout = "Reading configuration set:\n"
        let sys: System
        do { sys = try parseSystem(system.bytes) } catch {
            out.stderr = "\(error.message): \(system.name)\n"; out.exitCode = 1; return out
        }
        out.stdout += "  Architecture:  \(sys.architecture)\n"
        out.stdout += "  Root cell:     \(sys.root.name) (\(system.name))\n"
        var cells = [sys.root]
        for input in cellInputs {
            let c: Cell
            do { c = try parseCell(input.bytes, root: false) } catch {
                out.stderr = "\(error.message): \(input.name)\n"; out.exitCode = 1; return out
            }
            guard c.architecture == sys.architecture else {
                out.stderr = "Cell architecture mismatch: \(c.architecture): \(input.name)\n"; out.exitCode = 1; return out
            }
            cells.append(c)
            out.stdout += "  Non-root cell: \(c.name) (\(input.name))\n"
        }

        var failed = false
        var found = false
        func hit(_ cell: Cell, _ index: Int, _ what: String, _ other: Region) {
            out.stdout += "\n\nIn cell '\(cell.name)', region \(index)\n\(cell.regions[index].text)\n\(what)\n\(other.text)"
            found = true; failed = true
        }
        func close() { out.stdout += found ? "\n\n" : " None\n" }
        /// Every region of every cell against every resource, in upstream's loop order.
        func against(_ resources: [Region]) {
            for c in cells {
                for i in c.regions.indices {
                    for res in resources where c.regions[i].physOverlaps(res) { hit(c, i, "overlaps with \(res.name)", res) }
                }
            }
        }

        out.stdout += "Overlapping memory regions inside cell:"
        for c in cells {
            for i in c.regions.indices {
                for j in (i + 1) ..< max(i + 1, c.regions.count) {
                    let a = c.regions[i], b = c.regions[j]
                    let kinds = (a.physOverlaps(b) ? ["physically"] : []) + (a.virtOverlaps(b) ? ["virtually"] : [])
                    if !kinds.isEmpty { hit(c, i, kinds.joined(separator: " and ") + " overlaps with region \(j)", b) }
                }
            }
        }
        close()

        out.stdout += "Overlapping memory regions with hypervisor:"
        found = false
        for c in cells {
            for i in c.regions.indices where c.regions[i].physOverlaps(sys.hypervisorMemory) {
                hit(c, i, "overlaps with hypervisor memory region", sys.hypervisorMemory)
            }
        }
        close()

        if sys.mmconfigBase > 0 {
            out.stdout += "Missing PCI MMCONFIG interceptions:"
            let size = (UInt64(sys.mmconfigEndBus) + 1) * 256 * 4096
            against([resource(sys.mmconfigBase, size, "MMCONFIG")])
            close()
        }

        if !sys.iommus.isEmpty {
            out.stdout += "Missing IOMMU interceptions:"
            found = false
            against(sys.iommus.map { resource($0.0, UInt64($0.1), "IOMMU") })
            close()
        }

        out.stdout += "Missing resource interceptions for architecture \(sys.architecture):"
        found = false
        var resources: [Region] = []
        if sys.architecture == .x86 {
            resources = [resource(0xfee0_0000, 0x1000, "xAPIC")] + sys.root.irqchipAddresses.map { resource($0, 0x1000, "IOAPIC") }
        } else {
            let gic = sys.arm
            switch gic.gicVersion {
            case 2:
                resources = [resource(gic.gicdBase, 0x1000, "GICD"), resource(gic.giccBase, 0x2000, "GICC"),
                             resource(gic.gichBase, 0x2000, "GICH"), resource(gic.gicvBase, 0x2000, "GICV")]
            case 3:
                resources = [resource(gic.gicdBase, 0x10000, "GICD"), resource(gic.gicrBase, 0x20000, "GICR")]
            default:
                // Upstream raises outside its try block: a traceback, exit status 1.
                out.stdout += "\n"
                out.stderr = "Unknown GIC version: \(gic.gicVersion): \(system.name)\n"; out.exitCode = 1; return out
            }
        }
        against(resources)
        close()

        out.exitCode = failed ? 1 : 0
        return out
    }

    static func resource(_ base: UInt64, _ size: UInt64, _ name: String) -> Region {
        Region(region: MemoryRegion(physStart: base, virtStart: base, size: size, flags: []), name: name)
    }
}
