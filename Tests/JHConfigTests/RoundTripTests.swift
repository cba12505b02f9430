import Foundation
import JHABI
import Testing
@testable import JHConfig

@Suite("Round trip")
struct RoundTripTests {
    @Test("every committed fixture decodes and re-encodes to identical bytes",
          arguments: FixturePaths.allConfigBinaries)
    func binaryRoundTrip(path: String) throws {
        let bytes = try FixturePaths.config(path)
        let file = try ConfigFile.decode(bytes)
        #expect(file.encode() == bytes)
        switch file {
        case .system(let s): #expect(s.encodedSize == bytes.count)
        case .cell(let c): #expect(c.encodedSize == bytes.count)
        }
    }

    @Test("show --format yaml builds back to identical bytes", arguments: FixturePaths.allConfigBinaries)
    func yamlRoundTrip(path: String) throws {
        let bytes = try FixturePaths.config(path)
        let yaml = ConfigSource.yaml(try ConfigFile.decode(bytes))
        #expect(try ConfigSource.parse(yaml).encode() == bytes)
    }

    @Test("the JSON form builds back to identical bytes", arguments: FixturePaths.allConfigBinaries)
    func jsonRoundTrip(path: String) throws {
        let bytes = try FixturePaths.config(path)
        let json = ConfigSource.json(try ConfigFile.decode(bytes))
        #expect(try ConfigSource.parse(json).encode() == bytes)
    }

    @Test("committed YAML sources build to the committed binaries")
    func sourcesMatchBinaries() throws {
        for name in ["qemu-x86"] + FixturePaths.demoCells {
            let text = try String(contentsOf: FixturePaths.configs.appendingPathComponent("\(name).yaml"), encoding: .utf8)
            #expect(try ConfigSource.parse(text).encode() == FixturePaths.config("\(name).cell"), "\(name)")
        }
    }

    @Test("bytes a readable field cannot express survive YAML: name tail, unions, reserved bits, padding")
    func oddBytesSurviveYAML() throws {
        var sys = try SystemConfig.decode(BuiltinConfigs.qemuX86)
        sys.rootCell.nameBytes[20] = 0x41                         // garbage after the NUL
        sys.rootCell.signature = [1, 2, 3, 4, 5]                   // embedded root signature
        sys.platformInfo.archBytes[40] = 0x99                      // beyond the x86 member
        sys.platformInfo.iommuUnits[3] = IOMMUUnit(type: IOMMUType(rawValue: 77), base: 1, size: 2,
                                                   unionBytes: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        sys.platformInfo.iommuUnits[4] = IOMMUUnit(type: .amd, base: 0xfeb80000, size: 0x4000,
                                                   unionBytes: [0x10, 0, 0x40, 0x64, 1, 0, 0, 0, 0, 0, 0, 0])
        sys.platformInfo.iommuUnits[5] = IOMMUUnit(type: .pvu, unionBytes: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        sys.rootCell.pciDevices[0].msiBits = 0xfe
        sys.rootCell.memoryRegions[0].flags.insert(MemoryFlags(rawValue: 1 << 40))
        sys.rootCell.streamIDs = [StreamID(rawValue: 0xdead_beef)]
        sys.rootCell.cacheRegions = [CacheRegion(start: 1, size: 2, type: CacheType(rawValue: 9), padding: 7,
                                                 flags: CacheFlags(rawValue: 0x8001))]
        sys.debugConsole.flags = ConsoleFlags(rawValue: 0x4003)
        let bytes = sys.encode()
        for text in [ConfigSource.yaml(.system(sys)), ConfigSource.json(.system(sys))] {
            #expect(try ConfigSource.parse(text).encode() == bytes)
        }
        var arm = sys
        arm.architecture = .arm64
        var info = ARMPlatformInfo()
        info.gicVersion = 3; info.gicdBase = 0xf9010000; info.gicrBase = 0xf9020000; info.maintenanceIRQ = 25
        arm.platformInfo.archBytes = [UInt8](repeating: 0, count: 44)
        arm.platformInfo.arm = info
        #expect(try ConfigSource.parse(ConfigSource.yaml(.system(arm))).encode() == arm.encode())
    }

    @Test("the embedded root descriptor keeps zero signature and revision")
    func rootDescriptorIsZeroTagged() throws {
        let sys = try SystemConfig.decode(BuiltinConfigs.qemuX86)
        #expect(sys.rootCell.signature == [0, 0, 0, 0, 0])
        #expect(sys.rootCell.revision == 0)
        #expect(Array(BuiltinConfigs.qemuX86[356 ..< 364]) == [0, 0, 0, 0, 0, 0, 0, 0])
    }
}

@Suite("Built-in configs")
struct BuiltinConfigTests {
    @Test("BuiltinConfigs equal the fixture files")
    func builtinsEqualFixtures() throws {
        #expect(BuiltinConfigs.qemuX86 == (try FixturePaths.config("qemu-x86.cell")))
        #expect(BuiltinConfigs.cellNames == FixturePaths.demoCells)
        for name in BuiltinConfigs.cellNames {
            #expect(BuiltinConfigs.cell(named: name) == (try FixturePaths.config("\(name).cell")), "\(name)")
            let c = try CellConfig.decode(BuiltinConfigs.cell(named: name) ?? [])
            #expect(c.name == name)
            #expect(c.cpuSetSize == 8)
        }
        #expect(BuiltinConfigs.cell(named: "nope") == nil)
    }

    @Test("the demo cells have the CPUs and flags of §7.1")
    func demoFacts() throws {
        func cell(_ n: String) throws -> CellConfig { try CellConfig.decode(BuiltinConfigs.cell(named: n) ?? []) }
        let sys = try SystemConfig.decode(BuiltinConfigs.qemuX86)
        #expect(sys.rootCell.name == "QEMU-VM")
        #expect(sys.rootCell.cpus == CPUSet([0, 1, 2, 3]))
        #expect(sys.flags == .virtualDebugConsole)
        #expect(sys.hypervisorMemory.physStart == 0x3a00_0000 && sys.hypervisorMemory.size == 0x60_0000)
        #expect(sys.rootCell.irqchips.first?.address == 0xfec0_0000 && sys.rootCell.irqchips.first?.pins.count == 24)
        #expect(sys.rootCell.pciDevices.contains { $0.type == .device } && sys.rootCell.pciDevices.contains { $0.type == .ivshmem })
        #expect(try cell("tiny-demo").cpus == [2])
        #expect(try cell("tiny-demo").flags == [.passiveCommRegion, .testDevice, .virtualConsolePermitted])
        #expect(try cell("tiny-demo").memoryRegions[0] == MemoryRegion(physStart: 0x3ee0_0000, virtStart: 0, size: 0x10_0000,
                                                                        flags: [.read, .write, .execute, .loadable]))
        #expect(try cell("tiny-demo").memoryRegions[1].virtStart == 0x10_0000)
        #expect(try cell("apic-demo").cpus == [3])
        #expect(try cell("apic-demo").flags.rawValue == 0x4000_0000)
        #expect(try cell("linux-x86-demo").cpus == [2, 3])
        #expect(try cell("smp-demo").cpus == [1, 2, 3])
        #expect(try cell("ivshmem-demo").cpus == [1])
        #expect(try cell("cpu0-demo").cpus == [0])
        let pci = try cell("pci-demo")
        #expect(pci.pciDevices.count == 1 && pci.pciDevices[0].type == .device)
        #expect(sys.rootCell.pciDevices.contains { $0.bdf == pci.pciDevices[0].bdf })
    }
}
