import JHABI
import Testing
@testable import JHConfig

@Suite("Model helpers")
struct ModelTests {
    @Test("physRange clamps at 2^64 and overlaps ignores placeholders and comm pages")
    func memoryRegionHelpers() {
        let a = MemoryRegion(physStart: 0x1000, virtStart: 0, size: 0x2000, flags: .read)
        #expect(a.physRange == 0x1000 ..< 0x3000)
        #expect(a.overlaps(MemoryRegion(physStart: 0x2fff, size: 1)))
        #expect(!a.overlaps(MemoryRegion(physStart: 0x3000, size: 1)))
        #expect(!a.overlaps(MemoryRegion(physStart: 0x1000, size: 0)))
        #expect(!a.overlaps(MemoryRegion(physStart: 0x1000, size: 0x1000, flags: .commRegion)))
        let top = MemoryRegion(physStart: .max - 1, size: 10)
        #expect(top.physRange.upperBound == .max)
        #expect(MemoryRegion(virtStart: 0x100, size: 0x1000).isSubPage && !a.isSubPage)
    }

    @Test("ConfigFile tells the kinds apart by signature, old ones included")
    func kinds() {
        #expect(ConfigFile.kind(of: BuiltinConfigs.qemuX86) == .system)
        #expect(ConfigFile.kind(of: BuiltinConfigs.tinyDemo) == .cell)
        #expect(ConfigFile.kind(of: Array("JHCELL".utf8)) == .cell)
        #expect(ConfigFile.kind(of: Array("JAILSYST".utf8)) == .system)
        #expect(ConfigFile.kind(of: [1, 2, 3]) == nil)
        #expect((try? ConfigFile.decode(BuiltinConfigs.qemuX86))?.kind == .system)
        #expect((try? ConfigFile.decode(BuiltinConfigs.smpDemo))?.cell.name == "smp-demo")
    }

    @Test("decode ignores bytes after the computed size, as the driver does")
    func trailingBytes() throws {
        let c = try CellConfig.decode(BuiltinConfigs.tinyDemo + [1, 2, 3, 4])
        #expect(c.encode() == BuiltinConfigs.tinyDemo)
        #expect(try CellConfig.computedSize(ofHeader: BuiltinConfigs.tinyDemo + [9]) == 228)
    }

    @Test("names are cut to 31 bytes and the raw field keeps its 32")
    func names() {
        var c = CellConfig(name: String(repeating: "n", count: 40))
        #expect(c.name.utf8.count == 31 && c.nameBytes.count == 32 && c.nameIsTerminated)
        c.nameBytes = [UInt8](repeating: 0x41, count: 32)
        #expect(!c.nameIsTerminated && c.name.count == 32)
    }

    @Test("union views read and write the raw bytes")
    func unions() {
        var p = PlatformInfo()
        var x = X86PlatformInfo(pmTimerAddress: 0x608, apicMode: .x2apic, vtdInterruptLimit: 256, tscKHz: 2_000_000, apicKHz: 1_000_000)
        x.padding = 0
        p.x86 = x
        #expect(p.x86 == x)
        #expect(Array(p.archBytes[0 ..< 4]) == [0x08, 0x06, 2, 0])
        var u = IOMMUUnit(type: .amd)
        u.amdBDF = 0x10; u.amdBaseCap = 0x40; u.amdMSICap = 0x64; u.amdFeatures = 0x8000_0001
        #expect(u.unionBytes == [0x10, 0, 0x40, 0x64, 1, 0, 0, 0x80, 0, 0, 0, 0])
        var d = PCIDevice()
        d.msiMaskable = true
        #expect(d.msiBits == 2 && !d.msi64Bits)
        d.bdf = 0x00d8
        #expect(d.bdfString == "00:1b.0")
    }
}
