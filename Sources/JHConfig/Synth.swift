import JHABI

/// Generates a consistent system config and non-root cells for a machine of any size up
/// to 4096 CPUs (benchmarks use 64, 256 and 1024). Same layout ideas as the qemu-x86
/// fixture, scaled: the root keeps CPU 0 and RAM below the hypervisor; each cell gets k
/// CPUs and 1 MiB of LOADABLE RAM above 4 GiB, which the root also maps ("RAM inmates")
/// so that `cell load` works.
public enum Synth {
    public static let maxCPUs = 4096
    /// Where cell RAM starts (above the 32-bit hole).
    public static let cellRAMBase: UInt64 = 0x1_0000_0000
    public static let cellRAMSize: UInt64 = 0x10_0000

    /// Bytes of CPU bitmap for `cpus` CPUs, in whole u64 words like upstream configs.
    public static func cpuSetSize(cpus: Int) -> UInt32 { UInt32(max(1, (cpus + 63) / 64) * 8) }

    /// Hypervisor window: 6 MiB plus 64 KiB of per-CPU data for every CPU, rounded up to
    /// 2 MiB, so `core_size + max_cpus * percpu_size` fits as the driver requires.
    public static func hypervisorSize(cpus: Int) -> UInt64 {
        let raw = UInt64(0x60_0000) + UInt64(cpus) * 0x1_0000
        return (raw + 0x1f_ffff) & ~UInt64(0x1f_ffff)
    }

    /// How many k-CPU cells fit beside the root's CPU 0.
    public static func cellCount(cpus: Int, perCell k: Int) -> Int { k > 0 ? (cpus - 1) / k : 0 }

    public static func system(cpus: Int, perCell k: Int) -> SystemConfig {
        let n = cellCount(cpus: cpus, perCell: k)
        let hvSize = hypervisorSize(cpus: cpus)
        var root = CellConfig(name: "synth-\(cpus)", cpuSetSize: cpuSetSize(cpus: cpus), cpus: CPUSet(range: 0 ..< cpus),
                              signature: [0, 0, 0, 0, 0], revision: 0)
        let rwxd: MemoryFlags = [.read, .write, .execute, .dma]
        root.memoryRegions = [
            MemoryRegion(physStart: 0, virtStart: 0, size: 0x3a00_0000, flags: rwxd),
            MemoryRegion(physStart: 0xfec0_0000, virtStart: 0xfec0_0000, size: 0x1000, flags: [.read, .write]),
        ]
        if n > 0 {
            root.memoryRegions.append(MemoryRegion(physStart: cellRAMBase, virtStart: cellRAMBase,
                                                   size: UInt64(n) * cellRAMSize, flags: rwxd))
        }
        root.irqchips = [IRQChip(address: 0xfec0_0000, id: 0xff00, pinBase: 0, pinBitmap: [0xff_ffff, 0, 0, 0])]
        root.pioRegions = [PIORegion(base: 0x0, length: 0x1000)]
        var sys = SystemConfig(flags: [.virtualDebugConsole],
                               hypervisorMemory: MemoryRegion(physStart: 0x3a00_0000, size: hvSize),
                               debugConsole: Console(address: 0x3f8, type: .uart8250),
                               rootCell: root)
        sys.platformInfo.pciMMConfigBase = 0xb000_0000
        sys.platformInfo.pciMMConfigEndBus = 0xff
        // The Intel hypervisor refuses a system without an Intel IOMMU (vtd_init).
        sys.platformInfo.iommuUnits[0] = IOMMUUnit(type: .intel, base: 0xfed9_0000, size: 0x1000)
        sys.platformInfo.x86 = X86PlatformInfo(pmTimerAddress: 0x608, apicMode: .auto, vtdInterruptLimit: 256)
        return sys
    }

    /// The k-CPU cells: cell i (from 0) takes CPUs 1 + i·k ..< 1 + (i+1)·k.
    public static func cells(cpus: Int, perCell k: Int, limit: Int? = nil) -> [CellConfig] {
        let n = min(cellCount(cpus: cpus, perCell: k), limit ?? Int.max)
        return (0 ..< max(0, n)).map { i in
            let first = 1 + i * k
            let ram = cellRAMBase + UInt64(i) * cellRAMSize
            return CellConfig(
                name: "synth-cell-\(i + 1)", flags: [.passiveCommRegion, .virtualConsolePermitted],
                cpuSetSize: cpuSetSize(cpus: cpus), cpus: CPUSet(range: first ..< first + k),
                memoryRegions: [
                    MemoryRegion(physStart: ram, virtStart: 0, size: cellRAMSize, flags: [.read, .write, .execute, .loadable]),
                    MemoryRegion(physStart: 0, virtStart: 0x10_0000, size: 0x1000, flags: [.read, .write, .commRegion]),
                ],
                pioRegions: [PIORegion(base: 0x3f8, length: 8)],
                console: Console(address: 0x3f8, type: .uart8250))
        }
    }
}
