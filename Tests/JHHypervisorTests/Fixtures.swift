import Testing
import JHABI
import JHMachine
@testable import JHHypervisor

/// Little-endian byte appender for building config images.
struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { for k in 0..<2 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt16(k)))) } }
    mutating func u32(_ v: UInt32) { for k in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(k)))) } }
    mutating func u64(_ v: UInt64) { for k in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) } }
    mutating func raw(_ b: [UInt8], pad: Int) { bytes += b.prefix(pad); bytes += [UInt8](repeating: 0, count: max(0, pad - b.count)) }
}

struct TMem { var phys: UInt64; var virt: UInt64; var size: UInt64; var flags: MemoryFlags }
struct TCache { var start: UInt32; var size: UInt32; var type: UInt8 = 3; var flags: UInt16 = 0 }
struct TIrqchip { var address: UInt64; var id: UInt32 = 0xff00; var pinBase: UInt32 = 0; var pins: [UInt32] }
struct TPCI { var type: UInt8; var bdf: UInt16 }

/// A cell descriptor image, tiny-demo-like by default fields; written from our own
/// description of the fixtures (jailhouse-behaviour.md §7.1), not from upstream files.
struct TCell {
    var name: String
    var id: UInt32 = 0
    var flags: CellFlags = []
    var cpus: CPUSet = []
    var cpuSetSize: UInt32 = 8
    var memory: [TMem] = []
    var cache: [TCache] = []
    var irqchips: [TIrqchip] = []
    var pio: [(UInt16, UInt16)] = []
    var pci: [TPCI] = []
    var cpuResetAddress: UInt64 = 0
    var msgReplyTimeout: UInt64 = 0
    var console: [UInt8] = [0xf8, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0]
    /// Replaces a count field at its byte offset (52 memory … 76 stream ids) after encoding.
    var countOverride: [Int: UInt32] = [:]
    var signature = true

    func bytes() -> [UInt8] {
        var w = ByteWriter()
        w.raw(signature ? Array("JHCLL".utf8) : [], pad: 5)
        w.u8(0)
        w.u16(signature ? 14 : 0)
        w.raw(Array(name.utf8), pad: 32)
        w.u32(id)
        w.u32(flags.rawValue)
        w.u32(cpuSetSize)
        for n in [memory.count, cache.count, irqchips.count, pio.count, pci.count, 0, 0] { w.u32(UInt32(n)) }
        w.u32(0)
        w.u64(cpuResetAddress)
        w.u64(msgReplyTimeout)
        w.raw(console, pad: 32)
        var b = w.bytes
        for (off, v) in countOverride { for k in 0..<4 { b[off + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) } }
        w.bytes = b
        w.raw(cpus.bitmap(byteCount: Int(min(cpuSetSize, 8192))), pad: Int(min(cpuSetSize, 8192)))
        for m in memory { w.u64(m.phys); w.u64(m.virt); w.u64(m.size); w.u64(m.flags.rawValue) }
        for c in cache { w.u32(c.start); w.u32(c.size); w.u8(c.type); w.u8(0); w.u16(c.flags) }
        for i in irqchips { w.u64(i.address); w.u32(i.id); w.u32(i.pinBase); for k in 0..<4 { w.u32(k < i.pins.count ? i.pins[k] : 0) } }
        for p in pio { w.u16(p.0); w.u16(p.1) }
        for d in pci {
            var e = ByteWriter()
            e.u8(d.type); e.u8(0); e.u16(0); e.u16(d.bdf)
            e.raw([], pad: 50)
            w.bytes += e.bytes
        }
        return w.bytes
    }

    static let rwx: MemoryFlags = [.read, .write, .execute]
    static let comm = TMem(phys: 0, virt: 0x100000, size: 0x1000, flags: [.read, .write, .commRegion])

    /// tiny-demo: CPU 2, 1 MiB LOADABLE RAM at 0x3ee00000, passive comm region, CAT 1 way.
    static func tiny(id: UInt32 = 1) -> TCell {
        TCell(name: "tiny-demo", id: id, flags: [.passiveCommRegion, .testDevice, .virtualConsolePermitted], cpus: [2],
              memory: [TMem(phys: 0x3ee0_0000, virt: 0, size: 0x10_0000, flags: rwx.union(.loadable)), comm],
              cache: [TCache(start: 2, size: 1)], pio: [(0x2f8, 8), (0x3f8, 8), (0xe010, 8)])
    }
    /// apic-demo: CPU 3, active comm region, 1 MiB at 0x3ef00000.
    static func apic(id: UInt32 = 2, timeout: UInt64 = 0) -> TCell {
        TCell(name: "apic-demo", id: id, flags: [.virtualConsolePermitted], cpus: [3],
              memory: [TMem(phys: 0x3ef0_0000, virt: 0, size: 0x10_0000, flags: rwx.union(.loadable)), comm],
              cache: [TCache(start: 0, size: 2)], pio: [(0x2f8, 8), (0x3f8, 8), (0xe010, 8)], msgReplyTimeout: timeout)
    }
    /// linux-x86-demo: CPUs 2–3, two LOADABLE RAM regions, ROOTSHARED ivshmem window,
    /// IOAPIC pins 3–4, one ivshmem device.
    static func linux(id: UInt32 = 3) -> TCell {
        TCell(name: "linux-x86-demo", id: id, flags: [.passiveCommRegion, .virtualConsolePermitted], cpus: [2, 3],
              memory: [TMem(phys: 0x3a60_0000, virt: 0, size: 0x10_0000, flags: rwx.union([.loadable, .dma])),
                       TMem(phys: 0x3a70_0000, virt: 0x20_0000, size: 0x470_0000, flags: rwx.union([.loadable, .dma])),
                       TMem(phys: 0x3f0f_0000, virt: 0x3f0f_0000, size: 0x1000, flags: [.read, .rootShared]),
                       comm],
              cache: [TCache(start: 4, size: 2)], irqchips: [TIrqchip(address: 0xfec0_0000, pins: [0x18])],
              pio: [(0x3f8, 8)], pci: [TPCI(type: 3, bdf: 0x0060)])
    }
}

/// A system config image: qemu-x86-like, 4 CPUs, hypervisor at 0x3a000000 (6 MiB).
struct TSystem {
    var hvPhys: UInt64 = 0x3a00_0000
    var hvSize: UInt64 = 0x60_0000
    var root: TCell
    var pciMMConfigBase: UInt64 = 0xb000_0000
    var pmTimer: UInt16 = 0x608
    var tscKHz: UInt32 = 2_000_000
    var apicKHz: UInt32 = 1_000_000
    /// One Intel DMAR unit, as on the simulated box.
    var iommus: [(UInt32, UInt64, UInt32)] = [(2, 0xfed9_0000, 0x1000)]
    var apicMode: UInt8 = 0
    var vtdInterruptLimit: UInt32 = 256

    func bytes() -> [UInt8] {
        var w = ByteWriter()
        w.raw(Array("JHSYS".utf8), pad: 5); w.u8(0); w.u16(14)
        w.u32(1)
        w.u64(hvPhys); w.u64(0); w.u64(hvSize); w.u64(0)
        w.raw([], pad: 32)
        w.u64(pciMMConfigBase); w.u8(0xff); w.u8(0); w.u16(0)
        for (type, base, size) in iommus { w.u32(type); w.u64(base); w.u32(size); w.raw([], pad: 12) }
        w.raw([], pad: 28 * (8 - iommus.count))
        w.u16(pmTimer); w.u8(apicMode); w.u8(0); w.u32(vtdInterruptLimit); w.u32(tscKHz); w.u32(apicKHz)
        w.raw([], pad: 44 - 16)
        precondition(w.bytes.count == 356)
        var r = root
        r.signature = false
        return w.bytes + r.bytes()
    }

    static func qemu(cpus: Int = 4, rootID: UInt32 = 0, hvSize: UInt64 = 0x60_0000) -> TSystem {
        let root = TCell(name: "QEMU-VM", id: rootID, flags: [], cpus: CPUSet(range: 0..<cpus),
                         memory: [TMem(phys: 0, virt: 0, size: 0x3a00_0000, flags: TCell.rwx.union(.dma)),
                                  TMem(phys: 0x3a60_0000, virt: 0x3a60_0000, size: 0x4a0_0000, flags: TCell.rwx.union(.dma)),
                                  TMem(phys: 0x3f20_0000, virt: 0x3f20_0000, size: 0xddf000, flags: TCell.rwx.union(.dma)),
                                  TMem(phys: 0xfed0_0000, virt: 0xfed0_0000, size: 0x400, flags: [.read, .write, .io])],
                         irqchips: [TIrqchip(address: 0xfec0_0000, pins: [0x00ff_ffff])],
                         pio: [(0x40, 4), (0x60, 2), (0x2f8, 8), (0x3f8, 8), (0xe010, 8)],
                         pci: [TPCI(type: 1, bdf: 0x0008), TPCI(type: 1, bdf: 0x0010), TPCI(type: 1, bdf: 0x00f8),
                               TPCI(type: 3, bdf: 0x0060)])
        return TSystem(hvSize: hvSize, root: root)
    }
}

/// A booted machine with the hypervisor enabled on the system config's root CPUs.
struct Rig {
    let m: Machine
    let hv: Hypervisor
    let system: TSystem

    init(executor: ExecutorKind = .inline, profile: Profile = .upstream, seed: UInt64 = 1,
         system: TSystem = .qemu(), faults: [FaultRule] = []) throws {
        m = try Machine(cpuCount: 4, seed: seed, executor: executor, profile: profile, faults: FaultInjector(rules: faults))
        hv = Hypervisor(machine: m)
        self.system = system
        let address = Rig.configAddress(system)
        m.memory.write(address, system.bytes())
        let r = hv.enable(cpus: system.root.cpus, configAddress: address, maxCPUs: 4)
        precondition(r.allSatisfy { $0 == 0 }, "enable failed: \(r)")
    }

    static func configAddress(_ s: TSystem, maxCPUs: UInt64 = 4) -> UInt64 {
        s.hvPhys + Hypervisor.firmware.coreSize + maxCPUs * Hypervisor.firmware.perCPUSize
    }

    /// Puts a cell config into root RAM and returns its guest-physical address.
    @discardableResult
    func place(_ cell: TCell, at address: UInt64 = 0x2000_0000) -> UInt64 {
        m.memory.write(address, cell.bytes())
        return address
    }

    func create(_ cell: TCell, from cpu: CPUID = 0, at address: UInt64 = 0x2000_0000) throws(SimulationHang) -> Int64 {
        place(cell, at: address)
        return try hv.hypercall(cpu: cpu, .cellCreate, address)
    }
    func call(_ code: HypercallCode, _ arg1: UInt64 = 0, _ arg2: UInt64 = 0, from cpu: CPUID = 0) throws(SimulationHang) -> Int64 {
        try hv.hypercall(cpu: cpu, code, arg1, arg2)
    }

    /// What a failed operation must leave exactly as it was.
    struct Snapshot: Equatable, CustomStringConvertible {
        var poolUsed: Int
        var owners: [UInt32?]
        var map: HVMemoryMap
        var pio: PIOPermissions
        var cells: [String]
        var description: String { "pool=\(poolUsed) owners=\(owners) cells=\(cells) map=\(map)" }
    }
    var snapshot: Snapshot {
        Snapshot(poolUsed: hv.poolPages.used, owners: (0..<4).map { hv.owner(of: $0) }, map: hv.memoryMap,
                 pio: hv.rootPIO, cells: hv.cells.map { "\($0.id):\($0.name):\($0.cpus.rangeList)" })
    }

    func commU32(_ id: UInt32, _ offset: Int) -> UInt32 {
        m.memory.readU32(hv.commPageAddress(ofCell: id)! + UInt64(offset))
    }
    func ops(_ op: String) -> [TraceEvent] { m.trace.events.filter { $0.op == op } }
}
