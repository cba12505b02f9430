import JHABI
import Testing
@testable import JHConfig

/// Golden bytes, one C struct per line, worked out from the layout tables of
/// jailhouse-behaviour.md §2 (with Python's `struct.pack`, independently of this code).
@Suite("Golden bytes")
struct GoldenHexTests {
    static let tinyDemo: [(hex: String, what: String)] = [
        ("4a48434c4c000e00", "jailhouse_cell_desc: signature JHCLL, architecture x86, revision 14"),
        ("74696e792d64656d6f0000000000000000000000000000000000000000000000", "name \"tiny-demo\", NUL padded to 32"),
        ("00000000030000400800000002000000010000000000000003000000000000000000000000000000",
         "id 0, flags 0x40000003, cpu_set_size 8, memory 2, cache 1, irqchips 0, pio 3, pci 0, caps 0, stream ids 0"),
        ("0000000000000000000000000000000000000000", "vpci_irq_base 0, cpu_reset_address 0, msg_reply_timeout 0"),
        ("f803000000000000000000000200000000000000000000000000000000000000", "jailhouse_console: PIO 0x3f8, type 8250"),
        ("0400000000000000", "cpu bitmap: CPU 2"),
        ("0000e03e00000000000000000000000000001000000000004700000000000000",
         "jailhouse_memory: phys 0x3ee00000, virt 0, size 0x100000, READ|WRITE|EXECUTE|LOADABLE"),
        ("0000000000000000000010000000000000100000000000002300000000000000",
         "jailhouse_memory: virt 0x100000, size 0x1000, READ|WRITE|COMM_REGION"),
        ("020000000100000003000000", "jailhouse_cache: start 2, size 1, L3, padding 0, flags 0"),
        ("40000400", "jailhouse_pio: 0x40, 4"),
        ("f8020800", "jailhouse_pio: 0x2f8, 8"),
        ("f8030800", "jailhouse_pio: 0x3f8, 8"),
    ]

    static let smallSystem: [(hex: String, what: String)] = [
        ("4a48535953000e0001000000", "jailhouse_system: signature JHSYS, architecture x86, revision 14, flags VIRTUAL_DEBUG_CONSOLE"),
        ("0000003a00000000000000000000000000006000000000000000000000000000", "hypervisor_memory: phys 0x3a000000, size 0x600000"),
        ("f803000000000000000000000200000000000000000000000000000000000000", "debug_console: PIO 0x3f8, type 8250"),
        ("000000b000000000ff000000", "platform_info: mmconfig 0xb0000000, end bus 0xff, pci_is_virtual 0, pci_domain 0"),
        ("020000000000d9fe0000000000100000000000000000000000000000", "iommu_units[0]: INTEL, base 0xfed90000, size 0x1000"),
        (String(repeating: "00", count: 7 * 28), "iommu_units[1...7]: unused"),
        ("0806000000010000000000000000000000000000000000000000000000000000000000000000000000000000",
         "x86: pm_timer 0x608, apic_mode AUTO, vtd_interrupt_limit 256, tsc/apic kHz 0, rest of the 44-byte union"),
        ("00000000000000005200000000000000000000000000000000000000000000000000000000000000",
         "root jailhouse_cell_desc: signature and revision 0, name \"R\""),
        ("00000000000000000800000001000000000000000000000001000000000000000000000000000000",
         "id 0, flags 0, cpu_set_size 8, memory 1, pio 1, other counts 0"),
        ("0000000000000000000000000000000000000000", "vpci_irq_base, cpu_reset_address, msg_reply_timeout"),
        (String(repeating: "00", count: 32), "root console: none"),
        ("0300000000000000", "cpu bitmap: CPUs 0-1"),
        ("000000000000000000000000000000000000003a000000000f00000000000000", "jailhouse_memory: 0 size 0x3a000000, READ|WRITE|EXECUTE|DMA"),
        ("f8030800", "jailhouse_pio: 0x3f8, 8"),
    ]

    static var system: SystemConfig {
        var root = CellConfig(name: "R", cpuSetSize: 8, cpus: [0, 1],
                              memoryRegions: [MemoryRegion(physStart: 0, virtStart: 0, size: 0x3a00_0000,
                                                           flags: [.read, .write, .execute, .dma])],
                              pioRegions: [PIORegion(base: 0x3f8, length: 8)], signature: [0, 0, 0, 0, 0], revision: 0)
        root.id = 0
        var s = SystemConfig(flags: .virtualDebugConsole, hypervisorMemory: MemoryRegion(physStart: 0x3a00_0000, size: 0x60_0000),
                             debugConsole: Console(address: 0x3f8, type: .uart8250), rootCell: root)
        s.platformInfo.pciMMConfigBase = 0xb000_0000
        s.platformInfo.pciMMConfigEndBus = 0xff
        s.platformInfo.iommuUnits[0] = IOMMUUnit(type: .intel, base: 0xfed9_0000, size: 0x1000)
        s.platformInfo.x86 = X86PlatformInfo(pmTimerAddress: 0x608, apicMode: .auto, vtdInterruptLimit: 256)
        return s
    }

    @Test("tiny-demo encodes to the golden bytes, struct by struct")
    func tinyDemoGolden() throws {
        let bytes = try FixturePaths.config("tiny-demo.cell")
        #expect(bytes.hexString == Self.tinyDemo.map(\.hex).joined())
        #expect(try CellConfig.decode(bytes).encode().hexString == Self.tinyDemo.map(\.hex).joined())
        #expect(bytes.count == 228)   // the size of upstream's tiny-demo.cell too (§7.2)
    }

    @Test("a small system config encodes to the golden bytes, struct by struct")
    func systemGolden() throws {
        let golden = Self.smallSystem.map(\.hex).joined()
        let bytes = Self.system.encode()
        var offset = 0
        for line in Self.smallSystem {   // compare line by line so a failure names the struct
            let n = line.hex.count / 2
            #expect(Array(bytes[offset ..< min(bytes.count, offset + n)]).hexString == line.hex, "\(line.what) at offset \(offset)")
            offset += n
        }
        #expect(bytes.hexString == golden)
        #expect(bytes.count == 532 && Self.system.encodedSize == 532)
        #expect(try SystemConfig.decode(bytes) == Self.system)
    }

    @Test("computedSize(ofHeader:) follows the §2.4 formula for cells and systems")
    func computedSizes() throws {
        #expect(try CellConfig.computedSize(ofHeader: Array(BuiltinConfigs.tinyDemo.prefix(132))) == 228)
        #expect(try SystemConfig.computedSize(ofHeader: Array(BuiltinConfigs.qemuX86.prefix(488))) == BuiltinConfigs.qemuX86.count)
        var h = Array(BuiltinConfigs.tinyDemo.prefix(132))
        h.poke(UInt32(3), at: 60)      // irqchips
        h.poke(UInt32(2), at: 68)      // pci devices
        h.poke(UInt32(5), at: 72)      // caps
        h.poke(UInt32(7), at: 76)      // stream ids
        #expect(try CellConfig.computedSize(ofHeader: h) == 132 + 8 + 2 * 32 + 12 + 3 * 32 + 3 * 4 + 2 * 56 + 5 * 8 + 7 * 4)
        #expect(throws: ConfigError.self) { try CellConfig.computedSize(ofHeader: Array(h.prefix(100))) }
        h.poke(UInt32.max, at: 68)
        #expect(throws: ConfigError.self) { try CellConfig.computedSize(ofHeader: h) }
    }
}
