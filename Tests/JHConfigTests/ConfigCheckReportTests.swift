import JHABI
import Testing
@testable import JHConfig

/// `jhsim config check` against upstream's `jailhouse config check`: the expected texts
/// are what tools/jailhouse-config-check (e57d1eff) prints for the same binaries.
@Suite("config check (upstream's report)")
struct ConfigCheckReportTests {
    static func check(_ names: [String]) -> CommandOutput {
        ConfigCheckReport.run(arguments: names.map { FixturePaths.configs.appendingPathComponent($0).path })
    }
    static func input(_ name: String, _ bytes: [UInt8]) -> ConfigCheckReport.Input { (name: name, bytes: bytes) }

    static let hvRegion = """
          phys_start: 0x000000003a000000
          virt_start: 0x0000000000000000
          size:       0x0000000000600000
          flags:      \("")
        """

    @Test("the qemu-x86 system config with every demo cell passes with None everywhere")
    func cleanSet() throws {
        let cells = FixturePaths.demoCells.map { "\($0).cell" }
        let out = ConfigCheckReport.report(system: Self.input("qemu-x86.cell", try FixturePaths.config("qemu-x86.cell")),
                                           cells: try cells.map { Self.input($0, try FixturePaths.config($0)) })
        #expect(out.exitCode == 0 && out.stderr.isEmpty)
        let listed = FixturePaths.demoCells.map { "  Non-root cell: \($0) (\($0).cell)\n" }.joined()
        #expect(out.stdout == """
            Reading configuration set:
              Architecture:  x86
              Root cell:     QEMU-VM (qemu-x86.cell)
            \(listed)Overlapping memory regions inside cell: None
            Overlapping memory regions with hypervisor: None
            Missing PCI MMCONFIG interceptions: None
            Missing IOMMU interceptions: None
            Missing resource interceptions for architecture x86: None

            """)
    }

    @Test("imb-a180 overlaps the hypervisor memory: exit 1, and the MMCONFIG section inherits upstream's stale found flag")
    func imbA180() throws {
        let out = ConfigCheckReport.report(system: Self.input("imb-a180.cell", try FixturePaths.config("imb-a180.cell")), cells: [])
        #expect(out.exitCode == 1 && out.stderr.isEmpty)
        #expect(out.stdout == """
            Reading configuration set:
              Architecture:  x86
              Root cell:     IMB-A180 (imb-a180.cell)
            Overlapping memory regions inside cell: None
            Overlapping memory regions with hypervisor:

            In cell 'IMB-A180', region 4
              phys_start: 0x0000000000100000
              virt_start: 0x0000000000100000
              size:       0x000000003af00000
              flags:      JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE | JAILHOUSE_MEM_EXECUTE | JAILHOUSE_MEM_DMA
            overlaps with hypervisor memory region
            \(Self.hvRegion)

            Missing PCI MMCONFIG interceptions:

            Missing resource interceptions for architecture x86: None

            """)
    }

    @Test("f2a88xm-hd3 overlaps the hypervisor memory and maps its AMD IOMMU into the root cell")
    func f2a88xm() throws {
        let out = ConfigCheckReport.report(system: Self.input("f2a88xm-hd3.cell", try FixturePaths.config("f2a88xm-hd3.cell")),
                                           cells: [Self.input("apic-demo.cell", try FixturePaths.config("apic-demo.cell"))])
        #expect(out.exitCode == 1)
        #expect(out.stdout.hasPrefix("Reading configuration set:\n  Architecture:  x86\n  Root cell:     F2A88XM-HD3 (f2a88xm-hd3.cell)\n"
            + "  Non-root cell: apic-demo (apic-demo.cell)\nOverlapping memory regions inside cell: None\n"
            + "Overlapping memory regions with hypervisor:\n\nIn cell 'F2A88XM-HD3', region 6\n"))
        #expect(out.stdout.hasSuffix("""
            Missing IOMMU interceptions:

            In cell 'F2A88XM-HD3', region 31
              phys_start: 0x00000000feb80000
              virt_start: 0x00000000feb80000
              size:       0x0000000000080000
              flags:      JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE
            overlaps with IOMMU
              phys_start: 0x00000000feb80000
              virt_start: 0x00000000feb80000
              size:       0x0000000000080000
              flags:      \("")

            Missing resource interceptions for architecture x86: None

            """))
    }

    /// A qemu-x86 variant whose root cell maps what the hypervisor must intercept.
    static func rootMapping(_ regions: [MemoryRegion]) throws -> [UInt8] {
        guard case .system(var sys) = try ConfigFile.decode(try FixturePaths.config("qemu-x86.cell")) else {
            Issue.record("qemu-x86 is not a system config"); return []
        }
        sys.rootCell.memoryRegions += regions
        return ConfigFile.system(sys).encode()
    }

    @Test("regions over MMCONFIG, the xAPIC and the IOAPIC, and overlaps inside a cell, are each reported")
    func interceptions() throws {
        let rw: MemoryFlags = [.read, .write]
        let bytes = try Self.rootMapping([
            MemoryRegion(physStart: 0xb000_0000, virtStart: 0xb000_0000, size: 0x1000, flags: rw),   // MMCONFIG
            MemoryRegion(physStart: 0xfee0_0000, virtStart: 0xfee0_0000, size: 0x1000, flags: rw),   // xAPIC
            MemoryRegion(physStart: 0xfec0_0000, virtStart: 0xfec0_0000, size: 0x1000, flags: [.read, .io]), // IOAPIC
        ])
        let n = 17 // qemu-x86 has 17 regions; the new ones are 17, 18, 19
        let out = ConfigCheckReport.report(system: Self.input("s", bytes), cells: [])
        #expect(out.exitCode == 1)
        #expect(out.stdout.contains("Missing PCI MMCONFIG interceptions:\n\nIn cell 'QEMU-VM', region \(n)\n"))
        #expect(out.stdout.contains("overlaps with MMCONFIG\n  phys_start: 0x00000000b0000000\n  virt_start: 0x00000000b0000000\n"
            + "  size:       0x0000000010000000\n"))
        #expect(out.stdout.contains("In cell 'QEMU-VM', region \(n + 1)\n"))
        #expect(out.stdout.contains("overlaps with xAPIC\n  phys_start: 0x00000000fee00000"))
        #expect(out.stdout.contains("In cell 'QEMU-VM', region \(n + 2)\n  phys_start: 0x00000000fec00000\n  virt_start: 0x00000000fec00000\n"
            + "  size:       0x0000000000001000\n  flags:      JAILHOUSE_MEM_READ | JAILHOUSE_MEM_IO\noverlaps with IOAPIC\n"))
        #expect(out.stdout.contains("Overlapping memory regions inside cell: None\n"))

        let twice = try Self.rootMapping([MemoryRegion(physStart: 0x1000, virtStart: 0x7000_0000, size: 0x1000, flags: rw)])
        let inside = ConfigCheckReport.report(system: Self.input("s", twice), cells: []).stdout
        #expect(inside.contains("Overlapping memory regions inside cell:\n\nIn cell 'QEMU-VM', region 0\n"))
        #expect(inside.contains("physically overlaps with region \(n)\n  phys_start: 0x0000000000001000\n"))
    }

    @Test("a parse failure names the file on stderr after the lines already read, exit 1")
    func parseFailures() throws {
        let sys = try FixturePaths.config("qemu-x86.cell")
        var out = ConfigCheckReport.report(system: Self.input("tiny.cell", try FixturePaths.config("tiny-demo.cell")), cells: [])
        #expect(out == CommandOutput(stdout: "Reading configuration set:\n", stderr: "Not a root cell configuration: tiny.cell\n", exitCode: 1))
        var rev = try FixturePaths.bytes(FixturePaths.bad.appendingPathComponent("wrong-revision.cell"))
        out = ConfigCheckReport.report(system: Self.input("q", sys), cells: [Self.input("w", rev)])
        #expect(out.stderr == "Configuration file revision mismatch: w\n" && out.exitCode == 1)
        #expect(out.stdout.hasSuffix("Root cell:     QEMU-VM (q)\n"))
        rev = try FixturePaths.config("tiny-demo.cell"); rev[5] = 2
        out = ConfigCheckReport.report(system: Self.input("q", sys), cells: [Self.input("a", rev)])
        #expect(out.stderr == "Cell architecture mismatch: arm64: a\n" && out.exitCode == 1)
        rev[5] = 9
        out = ConfigCheckReport.report(system: Self.input("q", sys), cells: [Self.input("a", rev)])
        #expect(out.stderr == "Configuration has unsupported architecture: a\n")
        out = ConfigCheckReport.report(system: Self.input("q", sys), cells: [Self.input("t", Array(try FixturePaths.config("tiny-demo.cell").prefix(140)))])
        #expect(out.stderr == "Not a cell configuration: t\n")
        var iommu = sys; iommu[88] = 9
        out = ConfigCheckReport.report(system: Self.input("q", iommu), cells: [])
        #expect(out.stderr == "Unknown IOMMU type: 9: q\n")
    }

    @Test("upstream's lenient parser accepts what the driver refuses: an unterminated name, a truncated PCI array")
    func lenient() throws {
        let sys = try FixturePaths.config("qemu-x86.cell")
        for bad in ["unterminated-name.cell", "truncated-pci-devices.cell", "cpu-set-size-zero.cell"] {
            let b = try FixturePaths.bytes(FixturePaths.bad.appendingPathComponent(bad))
            #expect(ConfigCheckReport.report(system: Self.input("q", sys), cells: [Self.input(bad, b)]).exitCode == 0, "\(bad)")
        }
    }

    @Test("argument errors exit 2 with argparse's usage line, before anything is printed")
    func arguments() {
        var out = ConfigCheckReport.run(arguments: [])
        #expect(out.exitCode == 2 && out.stdout.isEmpty)
        #expect(out.stderr == "usage: jhsim config check [-h] SYSCONFIG [CELLCONFIG ...]\n"
            + "jhsim config check: error: the following arguments are required: SYSCONFIG\n")
        out = ConfigCheckReport.run(arguments: ["qemu-x86", "/nonexistent/x.cell"])
        #expect(out.exitCode == 2 && out.stdout.isEmpty)
        #expect(out.stderr.hasSuffix("error: argument CELLCONFIG: can't open '/nonexistent/x.cell': "
            + "[Errno 2] No such file or directory: '/nonexistent/x.cell'\n"))
        out = ConfigCheckReport.run(arguments: ["/tmp"])
        #expect(out.exitCode == 2 && out.stderr.contains("argument SYSCONFIG: can't open '/tmp': [Errno 21] Is a directory"))
        // Built-in names work as files do.
        #expect(ConfigCheckReport.run(arguments: ["qemu-x86", "tiny-demo"]).exitCode == 0)
    }
}
