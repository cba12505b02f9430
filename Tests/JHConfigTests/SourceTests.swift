import JHABI
import Testing
@testable import JHConfig

@Suite("Readable source")
struct SourceTests {
    static let minimal = """
        kind: cell
        name: hello
        cpus: 1,3-4
        memoryRegions:
          - { physStart: 0x1000_0000, size: 1048576, flags: [READ, write, 0x10000000] }
        pciDevices:
          - { type: IVSHMEM, bdf: "00:0f.1", shmemProtocol: 0x8001 }
        irqchips:
          - { address: 0xfec00000, pins: [0, 33, 127] }
        """

    @Test("a minimal source fills in defaults and understands every number spelling")
    func minimalSource() throws {
        guard case .cell(let c) = try ConfigSource.parse(Self.minimal) else { Issue.record("not a cell"); return }
        #expect(c.name == "hello" && c.revision == 14 && c.signature == ConfigFormat.cellSignature && c.cpuSetSize == 8)
        #expect(c.cpus == [1, 3, 4])
        #expect(c.memoryRegions == [MemoryRegion(physStart: 0x1000_0000, size: 0x10_0000,
                                                 flags: [.read, .write, MemoryFlags(rawValue: 0x1000_0000)])])
        #expect(c.pciDevices[0].bdf == 0x0f << 3 | 1 && c.pciDevices[0].shmemProtocol.rawValue == 0x8001)
        #expect(c.irqchips[0].pinBitmap == [1, 2, 0, 0x8000_0000])
    }

    @Test("mistakes name the line and the key path", arguments: [
        ("kind: cell\nname: x\nmemoryRegions:\n  - { physStart: 1, flagz: [] }\n",
         "source line 4: memoryRegions[0].flagz: unknown key (see Docs/config-format.md for the keys)"),
        ("kind: cell\nflags: [PASSIVE]\n",
         "source line 2: flags: unknown flag \"PASSIVE\"; known: PASSIVE_COMMREG, TEST_DEVICE, AARCH32, VIRTUAL_CONSOLE_PERMITTED, VIRTUAL_CONSOLE_ACTIVE"),
        ("kind: cell\ncpuSetSize: 1\ncpus: 9\n", "source line 3: cpus: CPU 9 does not fit a 1-byte CPU bitmap (cpuSetSize)"),
        ("kind: cell\npioRegions:\n  - { base: 0x10000 }\n", "source line 3: pioRegions[0].base: 0x10000 does not fit in 16 bits"),
        ("kind: cell\ncpuSetSize: 0xffffffff\n",
         "source line 2: cpuSetSize: 4294967295 bytes is far beyond the hypervisor's limit of 4096"),
        ("kind: thing\n", "source line 1: kind: kind must be \"system\" or \"cell\", got \"thing\""),
        ("kind: cell\nname: [a\n", nil),
        ("", "source: the source is empty"),
        ("- 1\n- 2\n", "source line 1: the document must be a mapping of keys to values"),
    ] as [(String, String?)])
    func mistakes(text: String, expected: String?) {
        do {
            _ = try ConfigSource.parse(text)
            Issue.record("parsed: \(text)")
        } catch {
            if let expected { #expect(error.description == expected) } else { #expect(error.field == "syntax") }
        }
    }

    @Test("the JSON form has the stable keys, numbers and flag names")
    func jsonKeys() throws {
        let json = ConfigSource.json(.system(try SystemConfig.decode(BuiltinConfigs.qemuX86)))
        for key in ["\"kind\": \"system\"", "\"revision\": 14", "\"architecture\": \"x86\"", "\"name\": \"QEMU-VM\"",
                    "\"rootCell\": {", "\"cpus\": [0, 1, 2, 3]", "\"flags\": [\"VIRTUAL_DEBUG_CONSOLE\"]",
                    "\"physStart\": 973078528", "\"memoryRegions\": [", "\"cacheRegions\": []", "\"irqchips\": [",
                    "\"pioRegions\": [", "\"pciDevices\": [", "\"pciCapabilities\": [", "\"streamIDs\": []"] {
            #expect(json.contains(key), "\(key)")
        }
    }

    @Test("YAML prints addresses in hex and CPU lists as ranges")
    func yamlLooks() throws {
        let yaml = ConfigSource.yaml(.cell(try CellConfig.decode(BuiltinConfigs.linuxX86Demo)))
        #expect(yaml.contains("cpus: 2-3\n"))
        #expect(yaml.contains("memoryRegions:\n- physStart: 0x3a600000\n  virtStart: 0x0\n  size: 0x100000\n  flags: [READ, WRITE, EXECUTE, DMA, LOADABLE]\n"))
        #expect(yaml.hasPrefix("kind: cell\nrevision: 14\narchitecture: x86\nname: linux-x86-demo\n"))
    }
}
