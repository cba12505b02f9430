import JHABI
import JHConfig
import JHMachine

/// An exact edit of the config bytes one scenario command passes to the driver
/// (`enable` or `cell create`): first cut or zero-extend to `length`, then write each run
/// of bytes at its offset. A campaign run with `--mutate-configs` carries one patch per
/// mutated command, so its reproducer holds the mutated bytes themselves (relative to the
/// scenario's own config), not a recipe that a later version of the mutator might redo
/// differently.
///
/// Text form (one word, as in a plan): `config@CMD[:len=N][:OFFSET=HEX]…`, e.g.
/// `config@3:len=300:0x34=ff000000` — command 3 of the scenario, 300 bytes long, four
/// bytes written at offset 0x34.
public struct ConfigPatch: Hashable, Sendable, Codable, CustomStringConvertible {
    /// One run of bytes written at an offset.
    public struct Write: Hashable, Sendable, Codable {
        public var offset: Int
        public var bytes: [UInt8]
        public init(offset: Int, bytes: [UInt8]) { self.offset = offset; self.bytes = bytes }
    }

    /// The scenario command (1-based, counting commands only) whose config this edits.
    public var command: Int
    /// The edited config's length, when it differs from the original's.
    public var length: Int?
    public var writes: [Write]

    /// The largest config a patch may describe (the driver refuses far less).
    public static let maxLength = 1 << 20

    public init(command: Int, length: Int? = nil, writes: [Write] = []) {
        self.command = command; self.length = length; self.writes = writes
    }

    /// The patch that turns `original` into `mutated`.
    public init(command: Int, from original: [UInt8], to mutated: [UInt8]) {
        self.command = command
        length = mutated.count == original.count ? nil : mutated.count
        writes = []
        var i = 0
        while i < mutated.count {
            let was: UInt8? = i < original.count ? original[i] : 0
            guard mutated[i] != was else { i += 1; continue }
            var j = i
            while j < mutated.count, mutated[j] != (j < original.count ? original[j] : 0) { j += 1 }
            writes.append(Write(offset: i, bytes: Array(mutated[i..<j])))
            i = j
        }
    }

    /// `original` with this patch applied.
    public func apply(_ original: [UInt8]) -> [UInt8] {
        var out = original
        if let length {
            if length < out.count { out.removeLast(out.count - length) } else { out += [UInt8](repeating: 0, count: length - out.count) }
        }
        for w in writes {
            if out.count < w.offset + w.bytes.count { out += [UInt8](repeating: 0, count: w.offset + w.bytes.count - out.count) }
            out.replaceSubrange(w.offset..<(w.offset + w.bytes.count), with: w.bytes)
        }
        return out
    }

    public var description: String {
        var s = "config@\(command)"
        if let length { s += ":len=\(length)" }
        for w in writes { s += ":0x" + String(w.offset, radix: 16) + "=" + w.bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }
        return s
    }

    /// Whether a plan word is a patch (rules never start with `config@`).
    public static func isPatch(_ word: String) -> Bool { word.hasPrefix("config@") }

    /// Parses the text form.
    /// - Throws: a message naming the part that does not parse.
    public init(parsing text: String) throws(FaultRuleError) {
        func bad(_ why: String) -> FaultRuleError { FaultRuleError(message: "config patch '\(text)': \(why)") }
        guard Self.isPatch(text) else { throw bad("expected config@COMMAND[:len=N][:OFFSET=HEX]…") }
        let parts = text.dropFirst("config@".count).split(separator: ":", omittingEmptySubsequences: false)
        guard let cmd = Int(parts[0]), cmd >= 1 else { throw bad("'\(parts[0])' is not a command number ≥ 1") }
        self.init(command: cmd)
        for part in parts.dropFirst() {
            guard let eq = part.firstIndex(of: "=") else { throw bad("'\(part)' is not KEY=VALUE") }
            let key = part[..<eq], value = part[part.index(after: eq)...]
            if key == "len" {
                guard length == nil, writes.isEmpty else { throw bad("len= must come first, once") }
                guard let n = Int(value), n >= 0, n <= Self.maxLength else { throw bad("len takes 0…\(Self.maxLength), not '\(value)'") }
                length = n
                continue
            }
            guard key.hasPrefix("0x"), let off = Int(key.dropFirst(2), radix: 16), off >= 0, off < Self.maxLength else {
                throw bad("offset '\(key)' is not a hexadecimal number 0x0…0x\(String(Self.maxLength - 1, radix: 16))")
            }
            guard !value.isEmpty, value.count % 2 == 0, value.count / 2 <= Self.maxLength - off else {
                throw bad("bytes '\(value)' are not an even number of hex digits that fit below \(Self.maxLength)")
            }
            var bytes: [UInt8] = []
            var i = value.startIndex
            while i < value.endIndex {
                let j = value.index(i, offsetBy: 2)
                guard let b = UInt8(value[i..<j], radix: 16) else { throw bad("'\(value[i..<j])' is not a hex byte") }
                bytes.append(b)
                i = j
            }
            writes.append(Write(offset: off, bytes: bytes))
        }
    }
}

/// A config a scenario command passes to the driver, as the fault-free run saw it.
public struct ConfigInput: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable { case system, cell }
    /// The scenario command (1-based) that passes it.
    public var command: Int
    public var kind: Kind
    public var bytes: [UInt8]
    public init(command: Int, kind: Kind, bytes: [UInt8]) { self.command = command; self.kind = kind; self.bytes = bytes }
}

/// Deterministic config mutation for `faults campaign --mutate-configs`: from a run's seed,
/// which of the scenario's configs to mutate and how. Half of the mutations are
/// field-aware (decode, change one field the way a mistaken or hostile config would,
/// encode again): CPU sets, memory regions (addresses, sizes, flags, overlaps, duplicates,
/// removals), PCI devices, irqchips, names, flags, the hypervisor's memory; the rest work on
/// the bytes: bit flips, interesting values, the signature and revision, array counts that
/// disagree with the payload, truncation and trailing bytes.
public enum ConfigMutation {
    /// The patches of one run: each config of the scenario is mutated with probability ½
    /// (at least one is), with 1…3 mutations each.
    public static func draw(seed: UInt64, inputs: [ConfigInput]) -> [ConfigPatch] {
        guard !inputs.isEmpty else { return [] }
        // A stream of its own, so a campaign draws the same fault plans with or without mutation.
        var rng = SplitMix64(seed: seed ^ 0x6d75_7461_7465_2d63)
        var chosen = inputs.indices.filter { _ in rng.next() & 1 == 1 }
        if chosen.isEmpty { chosen = [Int(rng.next() % UInt64(inputs.count))] }
        var out: [ConfigPatch] = []
        for i in chosen {
            var bytes = inputs[i].bytes
            for _ in 0...Int(rng.next() % 3) { bytes = mutate(bytes, kind: inputs[i].kind, rng: &rng) }
            let p = ConfigPatch(command: inputs[i].command, from: inputs[i].bytes, to: bytes)
            if p.length != nil || !p.writes.isEmpty { out.append(p) }
        }
        if out.isEmpty {
            // Every mutation happened to give the bytes back: flip one bit so the run tests something.
            let input = inputs[chosen[0]]
            var bytes = input.bytes.isEmpty ? [0] : input.bytes
            bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(1) << UInt8(rng.next() % 8)
            out.append(ConfigPatch(command: input.command, from: input.bytes, to: bytes))
        }
        return out
    }

    /// One mutation of a config image.
    public static func mutate(_ bytes: [UInt8], kind: ConfigInput.Kind, rng: inout SplitMix64) -> [UInt8] {
        func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(max(n, 1))) }
        var b = bytes
        // The cell descriptor: at 0 in a cell config, at 356 in a system config (the root cell).
        let base = kind == .system ? SystemConfig.rootCellOffset : 0
        switch pick(10) {
        case 0...4:
            if let m = fieldAware(bytes, kind: kind, rng: &rng) { return m }
            fallthrough
        case 5:
            // Bit flips.
            guard !b.isEmpty else { return [0] }
            for _ in 0...pick(4) { let i = pick(b.count); b[i] ^= UInt8(1) << UInt8(pick(8)) }
        case 6:
            // An interesting value over 1, 2, 4 or 8 bytes.
            guard !b.isEmpty else { return [0xff] }
            let width = [1, 2, 4, 8][pick(4)]
            let at = pick(b.count)
            let value: UInt8 = [0x00, 0xff, 0x80, 0x7f, 0x01][pick(5)]
            for k in 0..<width where at + k < b.count { b[at + k] = value }
        case 7:
            // Signature or revision.
            guard b.count >= 8 else { return b + [0] }
            if pick(2) == 0 { b[pick(6)] ^= UInt8(1 + pick(255)) } else {
                let rev: UInt16 = [13, 15, 0, 0xffff, UInt16(truncatingIfNeeded: rng.next())][pick(5)]
                b[6] = UInt8(rev & 0xff); b[7] = UInt8(rev >> 8)
            }
        case 8:
            // An array count (cpu_set_size, num_memory_regions, …) that disagrees with the payload.
            let field = base + 48 + 4 * pick(8)
            guard field + 4 <= b.count else { return Array(b.prefix(pick(b.count + 1))) }
            let old = UInt32(b[field]) | UInt32(b[field + 1]) << 8 | UInt32(b[field + 2]) << 16 | UInt32(b[field + 3]) << 24
            let new: UInt32 = [old &+ 1, old &- 1, 0, 0xffff_ffff, old &* 2 &+ 1, UInt32(truncatingIfNeeded: rng.next() % 4096)][pick(6)]
            for k in 0..<4 { b[field + k] = UInt8(truncatingIfNeeded: new >> (8 * UInt32(k))) }
        default:
            // Truncated, or trailing bytes.
            if pick(2) == 0, !b.isEmpty { b.removeLast(1 + pick(min(b.count, 256))) } else {
                for _ in 0...pick(64) { b.append(UInt8(truncatingIfNeeded: rng.next())) }
            }
        }
        return b
    }

    /// A field-aware change of a config that decodes; nil when it does not.
    static func fieldAware(_ bytes: [UInt8], kind: ConfigInput.Kind, rng: inout SplitMix64) -> [UInt8]? {
        switch kind {
        case .cell:
            guard var c = try? CellConfig.decode(bytes) else { return nil }
            mutateCell(&c, rng: &rng)
            return c.encode()
        case .system:
            guard var s = try? SystemConfig.decode(bytes) else { return nil }
            if rng.next() % 4 == 0 {
                var r = s.hypervisorMemory
                mutateRegion(&r, others: s.rootCell.memoryRegions, rng: &rng)
                s.hypervisorMemory = r
            } else {
                mutateCell(&s.rootCell, rng: &rng)
            }
            return s.encode()
        }
    }

    static let interestingAddresses: [UInt64] = [0, 0x1000, 0xfff, 0x3a00_0000, 0xfee0_0000, 0xffff_ffff_ffff_f000, 0x8000_0000_0000_0000]
    static let interestingSizes: [UInt64] = [0, 1, 0x1000, 0x1001, 0x10_0000, 0xffff_f000, 0xffff_ffff_ffff_f000]

    static func mutateRegion(_ r: inout MemoryRegion, others: [MemoryRegion], rng: inout SplitMix64) {
        func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(max(n, 1))) }
        switch pick(7) {
        case 0: r.physStart = interestingAddresses[pick(interestingAddresses.count)]
        case 1: r.virtStart = interestingAddresses[pick(interestingAddresses.count)]
        case 2: r.size = interestingSizes[pick(interestingSizes.count)]
        case 3: r.flags = MemoryFlags(rawValue: r.flags.rawValue ^ (UInt64(1) << UInt64(pick(16))))
        case 4:
            // Overlap another region (or start inside it).
            if let o = others.isEmpty ? nil : others[pick(others.count)] {
                r.physStart = o.physStart &+ (o.size > 0x1000 ? 0x1000 : 0)
                if pick(2) == 0 { r.virtStart = o.virtStart }
            }
        case 5:
            // Off the page grid.
            r.physStart &+= UInt64(1 + pick(0xfff))
        default:
            // Shift by whole pages.
            let pages = UInt64(1 + pick(16)) * 0x1000
            if pick(2) == 0 { r.physStart &+= pages; r.virtStart &+= pages } else { r.size &+= pages }
        }
    }

    static func mutateCell(_ c: inout CellConfig, rng: inout SplitMix64) {
        func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(max(n, 1))) }
        switch pick(9) {
        case 0:
            // CPU set: another subset of 0–7 (empty, with CPU 0, beyond the machine), or another bitmap size.
            if pick(3) == 0 {
                c.cpuSetSize = [0, 1, 2, 4, 16, 64][pick(6)]
            } else {
                var cpus = CPUSet()
                for cpu in 0..<8 where rng.next() % 3 == 0 { cpus.insert(cpu) }
                c.cpus = cpus
            }
        case 1, 2:
            if c.memoryRegions.isEmpty { c.memoryRegions.append(MemoryRegion(physStart: 0x1000, virtStart: 0, size: 0x1000, flags: [.read])); break }
            let i = pick(c.memoryRegions.count)
            switch pick(4) {
            case 0: c.memoryRegions.append(c.memoryRegions[i])               // a duplicate: overlaps itself
            case 1: c.memoryRegions.remove(at: i)
            default: mutateRegion(&c.memoryRegions[i], others: c.memoryRegions, rng: &rng)
            }
        case 3:
            if c.pciDevices.isEmpty { break }
            let i = pick(c.pciDevices.count)
            switch pick(6) {
            case 0: c.pciDevices[i].bdf = pick(2) == 0 ? UInt16(truncatingIfNeeded: rng.next()) : c.pciDevices[pick(c.pciDevices.count)].bdf &+ UInt16(pick(2))
            case 1: c.pciDevices[i].numCaps = UInt16(truncatingIfNeeded: rng.next() % 64)
            case 2: c.pciDevices[i].capsStart = UInt16(truncatingIfNeeded: rng.next() % 64)
            case 3: c.pciDevices.append(c.pciDevices[i])
            case 4: c.pciDevices.remove(at: i)
            default: c.pciDevices[i].domain = UInt16(truncatingIfNeeded: rng.next())
            }
        case 4:
            if c.irqchips.isEmpty { c.irqchips.append(IRQChip(address: 0xfec0_0000, id: 0xff00, pinBase: 0, pinBitmap: [1, 0, 0, 0])); break }
            let i = pick(c.irqchips.count)
            switch pick(5) {
            case 0: c.irqchips[i].address = interestingAddresses[pick(interestingAddresses.count)]
            case 1: c.irqchips[i].pinBase = UInt32(truncatingIfNeeded: rng.next() % 512)
            case 2: c.irqchips[i].pinBitmap[pick(4)] ^= UInt32(1) << UInt32(pick(32))
            case 3: c.irqchips.append(c.irqchips[i])
            default: c.irqchips[i].id = UInt32(truncatingIfNeeded: rng.next())
            }
        case 5:
            // Names: empty, unterminated, another cell's.
            switch pick(3) {
            case 0: c.nameBytes = []
            case 1: c.nameBytes = [UInt8](repeating: 0x41, count: CellName.fieldSize)
            default: c.nameBytes = Array(["RootCell", "tiny-demo", "apic-demo", "pci-demo"][pick(4)].utf8)
            }
        case 6:
            c.flags = CellFlags(rawValue: c.flags.rawValue ^ (UInt32(1) << UInt32(pick(32))))
        case 7:
            if !c.pioRegions.isEmpty {
                let i = pick(c.pioRegions.count)
                c.pioRegions[i].length = UInt16(truncatingIfNeeded: rng.next())
            } else {
                c.cpuResetAddress = interestingAddresses[pick(interestingAddresses.count)]
            }
        default:
            if !c.pciCapabilities.isEmpty {
                let i = pick(c.pciCapabilities.count)
                c.pciCapabilities[i].length = UInt16(truncatingIfNeeded: rng.next() % 0x1000)
            } else {
                c.id = UInt32(truncatingIfNeeded: rng.next() % 8)
            }
        }
    }
}
