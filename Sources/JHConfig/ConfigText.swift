import JHABI

/// The human-readable listing of `jhsim config show` (text format): named flags, hex
/// addresses, CPU lists like `2-3`. Not a stable interface; use the JSON form for tools.
public enum ConfigText {
    public static func render(_ file: ConfigFile) -> String {
        var out: [String] = []
        switch file {
        case .cell(let c):
            out.append("cell config \"\(c.name)\": revision \(c.revision), \(c.architecture), \(c.encodedSize) bytes")
            cellLines(c, indent: "  ", into: &out)
        case .system(let s):
            out.append("system config \"\(s.rootCell.name)\": revision \(s.revision), \(s.architecture), \(s.encodedSize) bytes")
            out.append("  flags: \(flagText(s.flags))")
            let hv = s.hypervisorMemory
            out.append("  hypervisor memory: \(range(hv.physRange)) (\(sizeText(hv.size)); the hypervisor's memory pool)")
            out.append("  debug console: \(consoleText(s.debugConsole))")
            let p = s.platformInfo
            out.append("  pci: mmconfig \(hex(p.pciMMConfigBase)), end bus \(p.pciMMConfigEndBus), domain \(hex(p.pciDomain)), virtual \(p.pciIsVirtual)")
            for (i, u) in p.iommuUnits.enumerated() where !u.isEmpty {
                out.append("  iommu \(i): \(u.type) base \(hex(u.base)) size \(hex(u.size))")
            }
            if s.architecture == .x86 {
                let x = p.x86
                out.append("  x86: pm_timer \(hex(x.pmTimerAddress)), apic mode \(x.apicMode), vtd interrupt limit \(x.vtdInterruptLimit), "
                           + "tsc \(x.tscKHz) kHz, apic \(x.apicKHz) kHz")
            } else if s.architecture == .arm || s.architecture == .arm64 {
                let a = p.arm
                out.append("  arm: GICv\(a.gicVersion), maintenance irq \(a.maintenanceIRQ), gicd \(hex(a.gicdBase)), "
                           + "gicc \(hex(a.giccBase)), gich \(hex(a.gichBase)), gicv \(hex(a.gicvBase)), gicr \(hex(a.gicrBase))")
            }
            out.append("  root cell \"\(s.rootCell.name)\":")
            cellLines(s.rootCell, indent: "    ", into: &out)
        }
        return out.joined(separator: "\n") + "\n"
    }

    static func cellLines(_ c: CellConfig, indent p: String, into out: inout [String]) {
        out.append("\(p)flags: \(flagText(c.flags))")
        out.append("\(p)cpus: \(c.cpus.rangeList.isEmpty ? "(none)" : c.cpus.rangeList) (cpu_set_size \(c.cpuSetSize))")
        out.append("\(p)cpu reset address: \(hex(c.cpuResetAddress)), msg reply timeout: \(c.msgReplyTimeout), vpci irq base: \(c.vpciIRQBase)")
        out.append("\(p)console: \(consoleText(c.console))")
        out.append("\(p)memory regions (\(c.memoryRegions.count)):")
        for (i, m) in c.memoryRegions.enumerated() {
            out.append("\(p)  [\(i)] phys \(range(m.physRange)) -> virt \(hex(m.virtStart)), \(sizeText(m.size)), \(flagText(m.flags))")
        }
        if !c.cacheRegions.isEmpty {
            out.append("\(p)cache regions (\(c.cacheRegions.count)):")
            for (i, r) in c.cacheRegions.enumerated() {
                out.append("\(p)  [\(i)] \(r.type) start \(r.start) size \(r.size) \(flagText(r.flags))")
            }
        }
        if !c.irqchips.isEmpty {
            out.append("\(p)irqchips (\(c.irqchips.count)):")
            for (i, q) in c.irqchips.enumerated() {
                let pins = rangeList(q.pins.map { $0 + Int(q.pinBase) })
                out.append("\(p)  [\(i)] \(hex(q.address)) id \(hex(q.id)) pins \(pins.isEmpty ? "(none)" : pins)")
            }
        }
        if !c.pioRegions.isEmpty {
            out.append("\(p)pio regions (\(c.pioRegions.count)):")
            for (i, r) in c.pioRegions.enumerated() {
                let end = UInt32(r.base) + UInt32(r.length)
                out.append("\(p)  [\(i)] \(hex(r.base))-\(r.length == 0 ? "(empty)" : hex(end - 1))")
            }
        }
        if !c.pciDevices.isEmpty {
            out.append("\(p)pci devices (\(c.pciDevices.count)):")
            for (i, d) in c.pciDevices.enumerated() {
                var line = "\(p)  [\(i)] \(d.type) \(hex(d.domain)):\(d.bdfString) caps \(d.capsStart)+\(d.numCaps)"
                if d.numMSIVectors > 0 { line += ", msi \(d.numMSIVectors)" }
                if d.numMSIXVectors > 0 { line += ", msi-x \(d.numMSIXVectors)" }
                if d.type == .ivshmem {
                    line += ", shmem regions from \(d.shmemRegionsStart), id \(d.shmemDevID) of \(d.shmemPeers) peers, protocol \(d.shmemProtocol)"
                }
                out.append(line)
            }
        }
        if !c.pciCapabilities.isEmpty {
            out.append("\(p)pci capabilities (\(c.pciCapabilities.count)):")
            for (i, cap) in c.pciCapabilities.enumerated() {
                out.append("\(p)  [\(i)] \(cap.isExtended ? "ext " : "")id \(hex(cap.id & 0x7fff)) at \(hex(cap.start)) len \(cap.length) \(flagText(cap.flags))")
            }
        }
        if !c.streamIDs.isEmpty {
            out.append("\(p)stream ids: " + c.streamIDs.map { hex($0.rawValue) }.joined(separator: ", "))
        }
    }

    /// `3-4,7` for sorted numbers (pins can be anywhere up to 2^32 + 127, so no CPUSet).
    static func rangeList(_ sorted: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        while i < sorted.count {
            var j = i
            while j + 1 < sorted.count && sorted[j + 1] == sorted[j] + 1 { j += 1 }
            parts.append(i == j ? "\(sorted[i])" : "\(sorted[i])-\(sorted[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }

    static func flagText<F: NamedFlags>(_ f: F) -> String {
        var names = f.flagNames
        if f.unknownBits != 0 { names.append(hex(f.unknownBits)) }
        return names.isEmpty ? "(none)" : names.joined(separator: "|")
    }

    static func consoleText(_ c: Console) -> String {
        if c.isEmpty { return "NONE" }
        let access = c.flags.contains(.accessMMIO) ? "MMIO" : "PIO"
        return "\(c.type) \(access) \(hex(c.address)) size \(hex(c.size)), flags \(flagText(c.flags))"
            + (c.divider != 0 ? ", divider \(c.divider)" : "")
    }

    static func sizeText(_ n: UInt64) -> String {
        if n >= 1 << 20 && n % (1 << 20) == 0 { return "\(n >> 20) MiB" }
        if n >= 1 << 10 && n % (1 << 10) == 0 { return "\(n >> 10) KiB" }
        return "\(hex(n)) bytes"
    }
}
