import JHABI
import JHConfig

/// The driver's view of a `struct jailhouse_cell_desc` in kernel memory.
///
/// Like the C driver, it reads fields at their offsets from wherever the copy lives and
/// does not stop at the end of the bytes the user supplied (jailhouse-behaviour.md §6.2
/// quirk 7): a truncated config makes it read what follows in memory.
struct DescriptorView {
    /// Reads `count` bytes at an offset from the descriptor's start.
    let read: (_ offset: Int, _ count: Int) -> [UInt8]

    func u8(_ off: Int) -> UInt8 { read(off, 1)[0] }
    func u16(_ off: Int) -> UInt16 { read(off, 2).loadLE(UInt16.self, at: 0) }
    func u32(_ off: Int) -> UInt32 { read(off, 4).loadLE(UInt32.self, at: 0) }
    func u64(_ off: Int) -> UInt64 { read(off, 8).loadLE(UInt64.self, at: 0) }

    var signature: [UInt8] { read(0, 5) }
    var architecture: Architecture { Architecture(rawValue: u8(5)) }
    var revision: UInt16 { u16(6) }
    /// The name up to its NUL; byte 31 has been forced to NUL by the caller.
    var name: String { cString(read(8, CellName.fieldSize)) }
    var flags: CellFlags { CellFlags(rawValue: u32(44)) }
    var cpuSetSize: UInt32 { u32(48) }
    var numMemoryRegions: UInt32 { u32(52) }
    var numCacheRegions: UInt32 { u32(56) }
    var numIrqchips: UInt32 { u32(60) }
    var numPIORegions: UInt32 { u32(64) }
    var numPCIDevices: UInt32 { u32(68) }
    var numPCICaps: UInt32 { u32(72) }
    var numStreamIDs: UInt32 { u32(76) }

    /// `jailhouse_cell_config_size`, in 64-bit arithmetic so no count can overflow it.
    var configSize: UInt64 {
        UInt64(ConfigFormat.cellDescriptorSize) + UInt64(cpuSetSize)
            + 32 * UInt64(numMemoryRegions) + 12 * UInt64(numCacheRegions)
            + 32 * UInt64(numIrqchips) + 4 * UInt64(numPIORegions)
            + 56 * UInt64(numPCIDevices) + 8 * UInt64(numPCICaps) + 4 * UInt64(numStreamIDs)
    }

    private var cpuSetOffset: Int { ConfigFormat.cellDescriptorSize }
    private var memoryOffset: Int { cpuSetOffset + Int(cpuSetSize) }
    private var pciOffset: Int {
        memoryOffset + 32 * Int(numMemoryRegions) + 12 * Int(numCacheRegions)
            + 32 * Int(numIrqchips) + 4 * Int(numPIORegions)
    }

    /// The first `min(nrCPUIDs, cpu_set_size·8)` bits of the CPU bitmap (`bitmap_copy`).
    func cpus(nrCPUIDs: Int) -> CPUSet {
        let bytes = Int(min(UInt32(ConfigFormat.maxCPUSetSize), cpuSetSize))
        return CPUSet(bitmap: read(cpuSetOffset, bytes)).intersection(CPUSet(range: 0..<nrCPUIDs))
    }

    func memoryRegions(limit: Int) -> [MemoryRegion] {
        (0..<min(Int(numMemoryRegions), limit)).map { i in
            let b = read(memoryOffset + 32 * i, 32)
            return MemoryRegion(physStart: b.loadLE(UInt64.self, at: 0), virtStart: b.loadLE(UInt64.self, at: 8),
                                size: b.loadLE(UInt64.self, at: 16),
                                flags: MemoryFlags(rawValue: b.loadLE(UInt64.self, at: 24)))
        }
    }

    func pciDevices(limit: Int) -> [DriverPCIDevice] {
        (0..<min(Int(numPCIDevices), limit)).map { i in
            let b = read(pciOffset + 56 * i, 56)
            return DriverPCIDevice(type: PCIDeviceType(rawValue: b[0]), domain: b.loadLE(UInt16.self, at: 2),
                                   bdf: b.loadLE(UInt16.self, at: 4))
        }
    }
}

/// The part of a `struct jailhouse_pci_device` the driver uses.
public struct DriverPCIDevice: Hashable, Sendable {
    public var type: PCIDeviceType
    public var domain: UInt16
    /// bus << 8 | device << 3 | function
    public var bdf: UInt16
    public var description: String {
        let bus = bdf >> 8, dev = (bdf >> 3) & 0x1f, fn = bdf & 7
        return hex(domain, 4) + ":" + hex(bus, 2) + ":" + hex(dev, 2) + "." + String(fn)
    }
}

func hex<T: BinaryInteger>(_ v: T, _ width: Int) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, width - s.count)) + s
}
