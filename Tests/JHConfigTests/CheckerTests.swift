import JHABI
import Testing
@testable import JHConfig

@Suite("Config checker")
struct CheckerTests {
    static func cell(_ n: String) throws -> CellConfig { try CellConfig.decode(BuiltinConfigs.cell(named: n) ?? []) }
    static func findings(_ files: [(String, [UInt8])]) -> [Finding] {
        ConfigChecker.check(files: files.map { (name: $0.0, bytes: $0.1) })
    }

    @Test("every demo fixture is valid on its own")
    func fixturesAreValid() {
        #expect(ConfigChecker.check(file: "qemu-x86.cell", bytes: BuiltinConfigs.qemuX86).findings.isEmpty)
        for n in BuiltinConfigs.cellNames where n != "cpu0-demo" {
            #expect(ConfigChecker.check(file: n, bytes: BuiltinConfigs.cell(named: n) ?? []).findings.isEmpty, "\(n)")
        }
    }

    @Test("a cell asking for CPU 0 gets a warning, not an error (the x86 driver refuses it)")
    func cpu0Warning() {
        let f = ConfigChecker.check(file: "cpu0-demo.cell", bytes: BuiltinConfigs.cpu0Demo).findings
        #expect(f.count == 1)
        #expect(f.first?.severity == .warning)
        #expect(f.first?.message.contains("CPU 0") == true)
        #expect(f.first?.offset == 132)
    }

    @Test("decoding a system config as a cell config names the mix-up, and vice versa")
    func kindMixUps() {
        #expect(throws: ConfigError(structName: "cell descriptor", field: "signature", offset: 0,
                                    message: "signature \"JHSYS\" at offset 0 marks a system config, expected \"JHCLL\" for a cell config")) {
            try CellConfig.decode(BuiltinConfigs.qemuX86)
        }
        #expect(throws: ConfigError(structName: "system header", field: "signature", offset: 0,
                                    message: "signature \"JHCLL\" at offset 0 marks a cell config, expected \"JHSYS\" for a system config")) {
            try SystemConfig.decode(BuiltinConfigs.tinyDemo)
        }
    }

    @Test("the error description reads like the issue's example")
    func errorDescription() {
        var b = BuiltinConfigs.tinyDemo
        b.poke(UInt16(13), at: 6)
        do {
            _ = try CellConfig.decode(b)
            Issue.record("decoded a revision-13 file")
        } catch {
            #expect("tiny.cell: \(error)" == "tiny.cell: cell descriptor: revision 13 at offset 6, expected 14 "
                + "(revision 14 moved to 5-byte signatures and added the architecture byte)")
        }
    }

    @Test("unknown flag bits, overlapping regions, hypervisor overlap and trailing bytes are warnings")
    func warnings() throws {
        var sys = try SystemConfig.decode(BuiltinConfigs.qemuX86)
        sys.flags.insert(SystemFlags(rawValue: 0x100))
        sys.rootCell.flags.insert(CellFlags(rawValue: 0x10))
        sys.rootCell.memoryRegions[1].flags.insert(MemoryFlags(rawValue: 0x4000))
        sys.rootCell.memoryRegions.append(MemoryRegion(physStart: 0x3a10_0000, virtStart: 0x3a10_0000, size: 0x1000, flags: .read))
        let bytes = sys.encode() + [0, 0, 0]
        let f = ConfigChecker.check(file: "s", bytes: bytes).findings
        #expect(f.allSatisfy { $0.severity == .warning })
        let messages = f.map(\.message)
        #expect(messages.contains("flags at offset 8 have unknown bits 0x100"))
        #expect(messages.contains("flags at offset 400 have unknown bits 0x10"))
        #expect(messages.contains("flags have unknown bits 0x4000"))
        #expect(messages.contains { $0.contains("overlaps the hypervisor memory 0x3a000000-0x3a5fffff") })
        #expect(messages.contains("3 trailing bytes after the computed size \(sys.encodedSize) (the driver ignores them)"))
        // The new region also sits inside root region 0? No: 0x3a100000 is above RAM low; it
        // only hits the hypervisor window.
        var c = try Self.cell("tiny-demo")
        c.memoryRegions.append(MemoryRegion(physStart: 0x3ee8_0000, virtStart: 0x20_0000, size: 0x10_0000, flags: .read))
        let g = ConfigChecker.check(file: "t", bytes: c.encode()).findings
        #expect(g.map(\.message) == ["memory regions 0 0x3ee00000-0x3eefffff and 2 0x3ee80000-0x3ef7ffff overlap"])
    }

    @Test("zero-size placeholders and comm regions never count as overlaps")
    func placeholders() throws {
        var c = try Self.cell("linux-x86-demo")
        c.memoryRegions.append(MemoryRegion())
        #expect(ConfigChecker.check(file: "l", bytes: c.encode()).findings.isEmpty)
    }

    @Test("system plus cells: tiny-demo and apic-demo coexist cleanly")
    func tinyAndApic() {
        let f = Self.findings([("qemu-x86.cell", BuiltinConfigs.qemuX86), ("tiny-demo.cell", BuiltinConfigs.tinyDemo),
                               ("apic-demo.cell", BuiltinConfigs.apicDemo)])
        #expect(f.isEmpty)
    }

    @Test("system plus cells: shared CPUs and shared RAM (quirk 8) are said plainly")
    func sharing() {
        let f = Self.findings([("qemu-x86.cell", BuiltinConfigs.qemuX86), ("tiny-demo.cell", BuiltinConfigs.tinyDemo),
                               ("ivshmem-demo.cell", BuiltinConfigs.ivshmemDemo), ("pci-demo.cell", BuiltinConfigs.pciDemo)])
        #expect(f.allSatisfy { $0.severity == .warning })
        #expect(f.contains { $0.file == "pci-demo.cell" && $0.message.hasPrefix("cells tiny-demo (tiny-demo.cell) and pci-demo share CPUs 2") })
        let ram = f.filter { $0.message.contains("quirk 8") }
        #expect(ram.count == 3)   // tiny/ivshmem, tiny/pci, pci/ivshmem
        #expect(ram.first?.message.contains("the hypervisor accepts this") == true)
        #expect(ram.first?.message.contains("not isolated") == true)
        // ROOTSHARED ivshmem windows are shared on purpose: no warning for them.
        #expect(!f.contains { $0.message.contains("0x3f0f0000") })
    }

    @Test("system plus cells: CPUs outside the root set, and a root left without CPUs, are errors")
    func cpuOwnership() throws {
        var big = try Self.cell("tiny-demo")
        big.cpus = [2, 5]
        var f = Self.findings([("qemu-x86.cell", BuiltinConfigs.qemuX86), ("big.cell", big.encode())])
        #expect(f.map(\.message) == ["CPUs 5 are not in the root cell's CPU set 0-3 of qemu-x86.cell"])
        #expect(f.first?.severity == .error)
        var all = try Self.cell("smp-demo")
        all.cpus = [0, 1, 2, 3]
        f = Self.findings([("qemu-x86.cell", BuiltinConfigs.qemuX86), ("all.cell", all.encode())])
        #expect(f.contains { $0.severity == .error && $0.message.contains("the root cell would be left with no CPU") })
        f = Self.findings([("qemu-x86.cell", BuiltinConfigs.qemuX86), ("smp.cell", BuiltinConfigs.smpDemo),
                           ("cpu0.cell", BuiltinConfigs.cpu0Demo)])
        #expect(f.contains { $0.severity == .error && $0.file == "qemu-x86.cell"
                && $0.message == "the cells together take every root CPU (0-3): the root cell would be left with no CPU" })
    }

    @Test("a cell region over the hypervisor window is flagged against the system config")
    func cellOverHypervisor() throws {
        var c = try Self.cell("tiny-demo")
        c.memoryRegions[0].physStart = 0x3a00_0000
        let f = Self.findings([("qemu-x86.cell", BuiltinConfigs.qemuX86), ("c.cell", c.encode())])
        #expect(f.contains { $0.file == "c.cell" && $0.message.contains("overlaps the hypervisor memory") })
    }
}
