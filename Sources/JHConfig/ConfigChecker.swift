import JHABI

/// One problem found in a configuration.
public struct Finding: Hashable, Sendable, CustomStringConvertible {
    public enum Severity: String, Sendable, Comparable {
        case error, warning
        public static func < (a: Severity, b: Severity) -> Bool { a == .error && b == .warning }
    }
    /// The file name as the caller gave it.
    public var file: String
    public var severity: Severity
    /// The struct or array, e.g. "cell descriptor", "memory region 2".
    public var structName: String
    /// The C field name.
    public var field: String
    /// Absolute byte offset in `file`, when the finding is about one place.
    public var offset: Int?
    public var message: String

    public init(file: String, severity: Severity, structName: String, field: String, offset: Int?, message: String) {
        self.file = file; self.severity = severity; self.structName = structName
        self.field = field; self.offset = offset; self.message = message
    }

    /// `tiny.cell: error: cell descriptor: revision 13 at offset 6, expected 14 (…)`.
    public var description: String { "\(file): \(severity.rawValue): \(structName): \(message)" }
}

/// The offline validator, in the spirit of `tools/jailhouse-config-check`: it finds what
/// the driver and hypervisor would reject, and also what they silently accept but
/// probably should not (overlapping RAM between cells, quirk 8).
///
/// Errors make a config unusable; warnings describe configs upstream accepts.
public enum ConfigChecker {
    /// Checks one file on its own.
    /// - Returns: the decoded config (nil when it could not be decoded) and the findings.
    public static func check(file: String, bytes: [UInt8]) -> (config: ConfigFile?, findings: [Finding]) {
        var out: [Finding] = []
        func add(_ sev: Finding.Severity, _ s: String, _ f: String, _ o: Int?, _ m: String) {
            out.append(Finding(file: file, severity: sev, structName: s, field: f, offset: o, message: m))
        }
        let config: ConfigFile
        do {
            config = try ConfigFile.decode(bytes)
        } catch {
            add(.error, error.structName, error.field, error.offset, error.message)
            return (nil, out)
        }

        let base: Int
        let descName: String
        let isRoot: Bool
        switch config {
        case .system(let sys):
            base = SystemConfig.rootCellOffset; descName = "root cell descriptor"; isRoot = true
            if !sys.architecture.isKnown {
                add(.error, "system header", "architecture", 5,
                    "architecture \(sys.architecture.rawValue) at offset 5 is unknown (x86 0, arm 1, arm64 2)")
            }
            if sys.flags.unknownBits != 0 {
                add(.warning, "system header", "flags", 8, "flags at offset 8 have unknown bits \(hex(sys.flags.unknownBits))")
            }
            if sys.hypervisorMemory.size == 0 {
                add(.error, "hypervisor memory", "size", 28, "the hypervisor memory window at offset 12 has size 0")
            }
            checkConsole(sys.debugConsole, "debug console", 44, add)
            for (i, m) in sys.rootCell.memoryRegions.enumerated() where m.overlaps(sys.hypervisorMemory) {
                add(.warning, "memory region \(i)", "phys_start", regionOffset(sys.rootCell, base: base, i),
                    "root region \(range(m.physRange)) overlaps the hypervisor memory \(range(sys.hypervisorMemory.physRange)): "
                        + "the root cell would keep access to the hypervisor")
            }
        case .cell(let c):
            base = 0; descName = "cell descriptor"; isRoot = false
            if !c.architecture.isKnown {
                add(.error, descName, "architecture", 5,
                    "architecture \(c.architecture.rawValue) at offset 5 is unknown (x86 0, arm 1, arm64 2)")
            }
        }
        let cell = config.cell
        let computed = (try? config.encodedSizeChecked()) ?? bytes.count
        if bytes.count > computed {
            add(.warning, "file", "size", computed,
                "\(bytes.count - computed) trailing bytes after the computed size \(computed) (the driver ignores them)")
        }
        if !cell.nameIsTerminated {
            add(.error, descName, "name", base + 8,
                "name at offset \(base + 8) fills all 32 bytes with no room for its NUL (at most 31 characters)")
        }
        if cell.cpuSetSize == 0 {
            add(.error, descName, "cpu_set_size", base + 48, "cpu_set_size 0 at offset \(base + 48): the cell has no CPU bitmap")
        } else if cell.cpuSetSize > UInt32(ConfigFormat.maxCPUSetSize) {
            add(.error, descName, "cpu_set_size", base + 48,
                "cpu_set_size \(cell.cpuSetSize) at offset \(base + 48) exceeds \(ConfigFormat.maxCPUSetSize) bytes, the hypervisor's limit")
        }
        if cell.cpus.isEmpty && cell.cpuSetSize > 0 {
            add(.error, "CPU set", "cpu bitmap", base + ConfigFormat.cellDescriptorSize,
                "the CPU bitmap at offset \(base + ConfigFormat.cellDescriptorSize) is empty: the cell has no CPU")
        }
        if cell.flags.unknownBits != 0 {
            add(.warning, descName, "flags", base + 44, "flags at offset \(base + 44) have unknown bits \(hex(cell.flags.unknownBits))")
        }
        if !isRoot && cell.architecture == .x86 && cell.cpus.contains(0) {
            add(.warning, "CPU set", "cpu bitmap", base + ConfigFormat.cellDescriptorSize,
                "the cell asks for CPU 0, which the x86 driver refuses (-EINVAL): CPU 0 must stay in the root cell")
        }
        checkConsole(cell.console, isRoot ? "root cell console" : "console", base + 100, add)
        for (i, m) in cell.memoryRegions.enumerated() where m.flags.unknownBits != 0 {
            add(.warning, "memory region \(i)", "flags", regionOffset(cell, base: base, i) + 24,
                "flags have unknown bits \(hex(m.flags.unknownBits))")
        }
        for (i, m) in cell.memoryRegions.enumerated() where m.size > 0 && m.physRange.upperBound == UInt64.max
            && m.physStart &+ m.size != UInt64.max {
            add(.error, "memory region \(i)", "size", regionOffset(cell, base: base, i) + 16,
                "phys_start \(hex(m.physStart)) + size \(hex(m.size)) wraps past 2^64")
        }
        let cacheBase = regionOffset(cell, base: base, cell.memoryRegions.count)
        for (i, c) in cell.cacheRegions.enumerated() where c.flags.unknownBits != 0 {
            add(.warning, "cache region \(i)", "flags", cacheBase + 12 * i + 10, "flags have unknown bits \(hex(c.flags.unknownBits))")
        }
        let capBase = cacheBase + 12 * cell.cacheRegions.count + 32 * cell.irqchips.count + 4 * cell.pioRegions.count
            + 56 * cell.pciDevices.count
        for (i, c) in cell.pciCapabilities.enumerated() where c.flags.unknownBits != 0 {
            add(.warning, "PCI capability \(i)", "flags", capBase + 8 * i + 6, "flags have unknown bits \(hex(c.flags.unknownBits))")
        }
        for (i, j) in overlappingPairs(cell.memoryRegions) {
            let a = cell.memoryRegions[i], b = cell.memoryRegions[j]
            add(.warning, "memory region \(j)", "phys_start", regionOffset(cell, base: base, j),
                "memory regions \(i) \(range(a.physRange)) and \(j) \(range(b.physRange)) overlap")
        }
        return (config, out)
    }

    /// Checks several files, then what only shows when a system config and its cells are
    /// seen together.
    public static func check(files: [(name: String, bytes: [UInt8])]) -> [Finding] {
        var out: [Finding] = []
        var decoded: [(String, ConfigFile)] = []
        for f in files {
            let (c, fs) = check(file: f.name, bytes: f.bytes)
            out += fs
            if let c { decoded.append((f.name, c)) }
        }
        let systems = decoded.compactMap { n, c -> (String, SystemConfig)? in
            if case .system(let s) = c { return (n, s) } else { return nil }
        }
        let cells = decoded.compactMap { n, c -> (String, CellConfig)? in
            if case .cell(let s) = c { return (n, s) } else { return nil }
        }
        out += crossCheck(system: systems.first, cells: cells)
        return out
    }

    /// The cross-config checks: CPU ownership against the root set and between cells,
    /// the root keeping a CPU, hypervisor memory, RAM shared between non-root cells.
    static func crossCheck(system: (String, SystemConfig)?, cells: [(String, CellConfig)]) -> [Finding] {
        var out: [Finding] = []
        let cpuOffset = ConfigFormat.cellDescriptorSize
        if let (sysName, sys) = system {
            let rootCPUs = sys.rootCell.cpus
            var taken = CPUSet()
            for (name, c) in cells {
                let outside = c.cpus.subtracting(rootCPUs)
                if !outside.isEmpty {
                    out.append(Finding(file: name, severity: .error, structName: "CPU set", field: "cpu bitmap", offset: cpuOffset,
                                       message: "CPUs \(outside.rangeList) are not in the root cell's CPU set \(rootCPUs.rangeList) of \(sysName)"))
                }
                taken.formUnion(c.cpus)
                for (i, m) in c.memoryRegions.enumerated() where m.overlaps(sys.hypervisorMemory) {
                    out.append(Finding(file: name, severity: .warning, structName: "memory region \(i)", field: "phys_start",
                                       offset: regionOffset(c, base: 0, i),
                                       message: "region \(range(m.physRange)) overlaps the hypervisor memory \(range(sys.hypervisorMemory.physRange)) of \(sysName)"))
                }
            }
            // The root must keep a CPU: judged for each cell alone, and for all cells
            // together when they can coexist (pairwise CPU-disjoint).
            let disjoint = taken.count == cells.reduce(0) { $0 + $1.1.cpus.count }
            if let (name, c) = cells.first(where: { !rootCPUs.isEmpty && rootCPUs.isSubset(of: $0.1.cpus) }) {
                out.append(Finding(file: name, severity: .error, structName: "CPU set", field: "cpu bitmap", offset: cpuOffset,
                                   message: "cell \(c.name) takes every root CPU (\(rootCPUs.rangeList)) of \(sysName): the root cell would be left with no CPU"))
            } else if cells.count > 1 && disjoint && !rootCPUs.isEmpty && rootCPUs.isSubset(of: taken) {
                out.append(Finding(file: sysName, severity: .error, structName: "CPU set", field: "cpu bitmap",
                                   offset: SystemConfig.rootCellOffset + cpuOffset,
                                   message: "the cells together take every root CPU (\(rootCPUs.rangeList)): the root cell would be left with no CPU"))
            }
        }
        for a in 0 ..< cells.count {
            for b in (a + 1) ..< max(a + 1, cells.count) {
                let (na, ca) = cells[a], (nb, cb) = cells[b]
                let shared = ca.cpus.intersection(cb.cpus)
                if !shared.isEmpty {
                    out.append(Finding(file: nb, severity: .warning, structName: "CPU set", field: "cpu bitmap", offset: cpuOffset,
                                       message: "cells \(ca.name) (\(na)) and \(cb.name) share CPUs \(shared.rangeList): they cannot run at the same time"))
                }
                for (i, ma) in ca.memoryRegions.enumerated() where isPrivateRAM(ma) {
                    for (j, mb) in cb.memoryRegions.enumerated() where isPrivateRAM(mb) && ma.overlaps(mb) {
                        out.append(Finding(
                            file: nb, severity: .warning, structName: "memory region \(j)", field: "phys_start",
                            offset: regionOffset(cb, base: 0, j),
                            message: "cells \(ca.name) (region \(i) \(range(ma.physRange))) and \(cb.name) (region \(j) \(range(mb.physRange))) "
                                + "share physical RAM; the hypervisor accepts this (it has no overlap check between non-root cells, quirk 8), "
                                + "so the two cells are not isolated from each other"))
                    }
                }
            }
        }
        return out
    }

    /// RAM a cell owns alone: not shared with root on purpose, not the comm page.
    static func isPrivateRAM(_ m: MemoryRegion) -> Bool {
        m.size > 0 && !m.flags.contains(.rootShared) && !m.flags.contains(.commRegion)
    }

    static func checkConsole(_ c: Console, _ s: String, _ o: Int,
                             _ add: (Finding.Severity, String, String, Int?, String) -> Void) {
        if c.flags.unknownBits != 0 {
            add(.warning, s, "flags", o + 14, "flags at offset \(o + 14) have unknown bits \(hex(c.flags.unknownBits))")
        }
    }

    /// Offset of memory region `i` of a descriptor at `base`.
    static func regionOffset(_ c: CellConfig, base: Int, _ i: Int) -> Int {
        base + ConfigFormat.cellDescriptorSize + Int(c.cpuSetSize) + MemoryRegion.size * i
    }

    /// Overlapping region pairs (i < j), found by a sort and sweep so that configs with
    /// many regions stay fast; at most 50 pairs are reported.
    static func overlappingPairs(_ regions: [MemoryRegion]) -> [(Int, Int)] {
        let order = regions.indices.filter { regions[$0].size > 0 && !regions[$0].flags.contains(.commRegion) }
            .sorted { regions[$0].physStart < regions[$1].physStart }
        var pairs: [(Int, Int)] = []
        for (k, i) in order.enumerated() {
            var n = k + 1
            while n < order.count, regions[order[n]].physStart < regions[i].physRange.upperBound {
                let j = order[n]
                pairs.append((min(i, j), max(i, j)))
                if pairs.count >= 50 { return pairs }
                n += 1
            }
        }
        return pairs.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
    }
}

func hex<T: BinaryInteger>(_ v: T) -> String { "0x" + String(v, radix: 16) }

/// `0x3a000000-0x3a5fffff`: the inclusive physical range, as the kernel prints iomem.
func range(_ r: Range<UInt64>) -> String {
    r.isEmpty ? "\(hex(r.lowerBound))-(empty)" : "\(hex(r.lowerBound))-\(hex(r.upperBound - 1))"
}

extension ConfigFile {
    /// The size formula for this config, or an error if it overflows.
    func encodedSizeChecked() throws(ConfigError) -> Int {
        switch self {
        case .system(let s): return s.encodedSize
        case .cell(let c): return c.encodedSize
        }
    }
}
