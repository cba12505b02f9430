import JHABI
import JHMachine

/// One cell inside the hypervisor (`struct cell`, hypervisor/include/jailhouse/cell.h).
final class HVCell {
    let id: UInt32
    let config: HVCellDescriptor
    var cpus: CPUSet
    var loadable = false
    let isRoot: Bool
    /// Physical address of the comm page (the first page of the cell's pool pages); nil for root.
    var commPage: UInt64?
    /// Pool pages this cell holds, in allocation order (freed in reverse).
    var allocations: [(address: UInt64, pages: Int, what: String)] = []
    var inmate: InmateKind?
    /// The cell's IOAPIC chips and the pins it holds (`struct cell_ioapic`).
    struct IOAPICPins: Equatable { var address: UInt64; var pins: [UInt32] }
    var ioapics: [IOAPICPins] = []
    /// Physical PCI devices assigned to the cell (`pci_device.cell == cell`).
    var pciDevices: [HVPCIDevice] = []
    /// CAT class of service and capacity bitmask (`cell->arch.cos`, `cat_mask`).
    var catCOS: UInt32 = 0
    var catMask: UInt64 = 0
    /// How many shutdown requests the inmate has seen (the locking inmate denies the first).
    var shutdownRequests = 0

    /// The config's arrays, decoded once: create, start and destroy walk them several
    /// times (and every remap walks root's), which would decode them from bytes each time.
    let memoryRegions: [HVMemoryRegion]
    let pioRegions: [HVPIORegion]
    let irqchips: [HVIrqchip]
    let cacheRegions: [HVCacheRegion]
    let configPCIDevices: [HVPCIDevice]

    init(id: UInt32, config: HVCellDescriptor, isRoot: Bool) {
        self.id = id
        self.config = config
        self.isRoot = isRoot
        cpus = config.cpus
        memoryRegions = config.memoryRegions
        pioRegions = config.pioRegions
        irqchips = config.irqchips
        cacheRegions = config.cacheRegions
        configPCIDevices = config.pciDevices
        allocations.reserveCapacity(8)
    }
    var name: String { config.name }
}

/// The simulated Jailhouse hypervisor: per-CPU data, the cell list, the memory pool and
/// ownership map, hypercalls, parking, the comm region and simulated inmates.
///
/// Threading: every entry point runs on the calling vCPU's thread (`machine.run(on:)`) and
/// waits for the CPUs it talks to, so state is touched by one activity at a time; broadcast
/// work (suspension acknowledgements) touches only its own `PerCPU` object.
public final class Hypervisor: @unchecked Sendable {
    public let machine: Machine

    /// The image the driver loads: 240 KiB core, 24 KiB per CPU.
    public static let firmware = FirmwareImage(signature: Array("JAILHOUS".utf8), coreSize: 0x3c000,
                                               perCPUSize: 0x6000, imageSize: 0x3c000)
    /// `NUM_TEMPORARY_PAGES` on x86: the window through which configs are read.
    static let temporaryPages: UInt64 = 16
    /// Bytes of `struct cell` before the config copy: the comm page plus arch data.
    static let cellStructSize: UInt64 = 4096 + 512
    /// Pages of the remap pool: BITS_PER_PAGE × NUM_REMAP_BITMAP_PAGES (4 on x86).
    static let remapPoolPages = 32768 * 4
    /// Largest pool the simulation keeps a bitmap for (1 GiB of 4 KiB pages).
    static let maxPoolPages: UInt64 = 1 << 18
    /// Bytes of hypervisor console kept (the real one is a ring of a few pages).
    static let consoleCapacity = 64 * 1024

    public internal(set) var isActive = false
    let perCPU: [PerCPU]
    var cellList: [HVCell] = []
    var system: HVSystemDescriptor?
    var systemCPUs = CPUSet()
    var onlineCPUs = 0
    var pool = PagePool(base: 0, pages: 0)
    var remapUsed = 0
    /// The ownership map of physical pages.
    public internal(set) var memoryMap = HVMemoryMap()
    /// The root cell's I/O-port allow list (shrunk by every cell's PIO ranges).
    public internal(set) var rootPIO = PIOPermissions()
    var units: [HVUnit] = []
    /// `cpu_suspended` of every CPU, as one bitmask: suspending and resuming a cell of
    /// hundreds of CPUs are set operations; only the acknowledgements are per CPU.
    var suspendedCPUs = CPUSet()
    /// CPUs the hypervisor runs on (`PerCPU.active` of each, as one bitmask).
    var activeCPUs = CPUSet()
    /// Physical IOAPICs mapped so far (`phys_ioapics`), shared by the VT-d and IOAPIC units.
    var physIOAPICs: [PhysIOAPIC] = []
    /// The VT-d interrupt-remapping table: which entries are assigned, and each device's region.
    var intRemapAssigned: [Bool] = []
    var intRemapRegions: [UInt16: (start: Int, length: Int)] = [:]
    /// Pool pages no one will ever free (upstream leaks, e.g. quirk 14), for inspection.
    public internal(set) var leakedPages = 0
    /// Pool pages the hypervisor holds for itself (reserved areas, unit tables).
    var globalPages = 0
    /// Set while enable runs: its own fault sites (hv_init_early, hv_cpu_init,
    /// hv_unit_init) stand for every failure there, so the per-allocation seams used by
    /// cell create stay quiet and a create-time fault plan cannot break enable.
    var enabling = false
    var pendingInmates: [UInt32: InmateKind] = [:]
    private var consoleLog = ConsoleLog(capacity: Hypervisor.consoleCapacity)
    /// Bytes ever written to the console (`console.tail`): readers keep their own head.
    public var consoleTail: Int { consoleLog.written }

    public init(machine: Machine) {
        self.machine = machine
        perCPU = (0..<machine.cpuCount).map(PerCPU.init)
        units = [IOMMUUnit(), IOAPICUnit(), CATUnit(), PCIUnit()]
        machine.addStatusProvider("hypervisor") { [weak self] cpu in
            guard let self else { return "gone" }
            return self.statusLine(cpu)
        }
    }

    // MARK: Inspection

    /// Root first, then in creation order.
    public var cells: [HVCellInfo] {
        cellList.map { HVCellInfo(id: $0.id, name: $0.name, cpus: $0.cpus, state: cellState($0),
                                  loadable: $0.loadable, flags: $0.config.flags, inmate: $0.inmate) }
    }

    /// The owning cell's id; nil if the hypervisor is not active or `cpu` is not a system CPU.
    public func owner(of cpu: CPUID) -> UInt32? {
        guard isActive, cpu >= 0, cpu < perCPU.count, perCPU[cpu].active else { return nil }
        return perCPU[cpu].cellID
    }

    public func cpuState(_ cpu: CPUID) -> HVCPUState {
        guard cpu >= 0, cpu < perCPU.count else { return .inactive }
        let p = perCPU[cpu]
        if !p.active { return .inactive }
        if suspendedCPUs.contains(cpu) { return .suspended }
        if p.failed { return .failed }
        if p.waitForSIPI { return .parked }
        return p.cellID == rootCell?.id ? .runningRoot : .runningCell
    }

    /// `(size, used)` of the memory pool in pages, as HYPERVISOR_GET_INFO reports them.
    public var poolPages: (size: Int, used: Int) { (pool.size, pool.usedCount) }

    /// VM-exit counters of `cpu` (all zero for an unknown CPU).
    public func statistics(cpu: CPUID) -> [CPUStatistic: UInt32] {
        var out: [CPUStatistic: UInt32] = [:]
        for s in CPUStatistic.allCases {
            out[s] = cpu >= 0 && cpu < perCPU.count ? perCPU[cpu].counters[s.rawValue] : 0
        }
        return out
    }

    /// Root's CAT capacity bitmask (`root_cell.arch.cat_mask`).
    public var rootCATMask: UInt64 { rootCell?.catMask ?? 0 }

    /// The pins root holds on the IOAPIC at `address` (4 words), nil if root has no such chip.
    public func rootIOAPICPins(_ address: UInt64) -> [UInt32]? {
        rootCell?.ioapics.first { $0.address == address }?.pins
    }

    /// The cells a physical PCI device is assigned to, root first.
    public func pciOwners(bdf: UInt16) -> [UInt32] {
        cellList.filter { $0.pciDevices.contains { $0.bdf == bdf } }.map(\.id)
    }

    /// Hypervisor console: its own printk lines and DEBUG_CONSOLE_PUTC output, last 64 KiB.
    public var console: String { consoleLog.text }

    /// The console bytes from absolute position `head` on (at most `limit`), and how many
    /// bytes between `head` and the oldest one kept were overwritten. Mirrors the ring
    /// walk of `__jailhouse_console_dump_delta` (driver/main.c) over the kept bytes.
    public func consoleDelta(from head: Int, limit: Int) -> (bytes: ArraySlice<UInt8>, missed: Int) {
        consoleLog.delta(from: head, limit: limit)
    }

    /// Chooses the inmate a cell runs from its next start on.
    public func setInmate(_ kind: InmateKind, forCell id: UInt32) { pendingInmates[id] = kind }

    /// The cell-state word of the comm region (root: always RUNNING).
    public func state(ofCell id: UInt32) -> CellState? { cell(id).map(cellState) }

    /// The physical address of a cell's comm page, for tests and views.
    public func commPageAddress(ofCell id: UInt32) -> UInt64? { cell(id)?.commPage }

    // MARK: Helpers

    var rootCell: HVCell? { cellList.first }
    func cell(_ id: UInt32) -> HVCell? { cellList.first { $0.id == id } }
    func cellOf(cpu: CPUID) -> HVCell? { perCPU[cpu].cellID.flatMap(cell) }

    func printk(_ text: String) { consoleLog.append(LogLine(text: text)) }
    /// A typed console line, rendered only when the console is read.
    func printk(_ line: LogLine) { consoleLog.append(line) }
    func putc(_ c: UInt8) { consoleLog.putc(c) }

    @discardableResult
    @inline(__always)
    func record(_ kind: TraceKind, cpu: CPUID?, result: TraceResult = .none,
                a: Int = 0, b: Int = 0, c: Int = 0, d: Int = 0, text: String = "", set: CPUSet = CPUSet()) -> UInt64 {
        machine.record(kind, cpu: cpu, result: result, a: a, b: b, c: c, d: d, text: text, set: set)
    }

    /// Records an owner change, the event the timeline pictures are drawn from.
    func recordOwner(_ cpu: CPUID, _ cell: HVCell) {
        record(HypervisorTrace.owner, cpu: cpu, a: cpu, b: Int(cell.id), text: cell.name)
    }

    func statusLine(_ cpu: CPUID) -> String {
        let st = cpuState(cpu)
        guard st != .inactive, let c = cellOf(cpu: cpu) else { return st.description }
        return "\(st.description), cell \(c.id) \"\(c.name)\"" + (perCPU[cpu].failed && st != .failed ? ", failed" : "")
    }

    /// Allocates pool pages for `cell`, through the fault seam.
    /// - Throws: `Errno.noMemory` when the pool is exhausted or a fault is planned.
    func allocPages(_ count: Int, for cell: HVCell, _ what: String, cpu: CPUID) throws(Errno) -> UInt64 {
        do {
            if !enabling { try machine.check(.hvPageAlloc, cpu: cpu, detail: what) }
        } catch {
            record(HypervisorTrace.pageAlloc, cpu: cpu, result: .error(error), a: count, text: what)
            throw error
        }
        guard let a = pool.alloc(count) else {
            record(HypervisorTrace.pageAlloc, cpu: cpu, result: .error(.noMemory), a: count, text: what)
            throw .noMemory
        }
        cell.allocations.append((a, count, what))
        record(HypervisorTrace.pageAllocDone, cpu: cpu, result: .ok, a: count, b: pool.usedCount, c: pool.size, text: what)
        return a
    }

    /// Takes `pages` virtual pages of the remap pool (`paging_map_device`).
    /// - Throws: `Errno.noMemory` when the remap pool is exhausted.
    func remapAlloc(_ pages: Int) throws(Errno) {
        guard remapUsed + pages <= Self.remapPoolPages else { throw .noMemory }
        remapUsed += pages
    }

    /// The VT-d unit, which the PCI unit calls for each device it adds or removes.
    var iommu: IOMMUUnit? { units.lazy.compactMap { $0 as? IOMMUUnit }.first }

    /// Drops the pages of `cell` allocated for `what` from its books without freeing them:
    /// the pool never gets them back (an upstream leak).
    func leak(_ cell: HVCell, _ what: String) {
        guard let i = cell.allocations.lastIndex(where: { $0.what == what }) else { return }
        leakedPages += cell.allocations.remove(at: i).pages
    }

    /// Frees the pages of `cell` allocated for `what` (the most recent such allocation).
    func freePages(of cell: HVCell, _ what: String) {
        guard let i = cell.allocations.lastIndex(where: { $0.what == what }) else { return }
        let a = cell.allocations.remove(at: i)
        pool.free(a.address, a.pages)
    }

    // MARK: Enable

    /// Mirrors `entry`/`init_early`/`cpu_init`/`init_late` (hypervisor/setup.c) for every CPU
    /// the driver IPIs.
    ///
    /// The driver has copied the system config to `configAddress` (= window + core +
    /// maxCPUs × per-CPU). Every entering CPU must be in the root set and their number must
    /// equal the root set's size (otherwise -EINVAL); on any error every CPU reports it.
    /// - Returns: each CPU's result (0 or -errno) in ascending CPU order.
    public func enable(cpus: CPUSet, configAddress: UInt64, maxCPUs: Int) -> [Int64] {
        let list = Array(cpus)
        let first = list.first
        record(HypervisorTrace.enable, cpu: first, a: configAddress.traceBits, set: cpus)
        let result: Errno?
        do throws(Errno) {
            try enableSteps(list, configAddress: configAddress, maxCPUs: maxCPUs)
            result = nil
        } catch {
            result = error
        }
        if let e = result {
            record(HypervisorTrace.enableEnd, cpu: first, result: .error(e))
            return list.map { _ in e.negated }
        }
        record(HypervisorTrace.enableEnd, cpu: first, result: .ok)
        return list.map { _ in 0 }
    }

    private func enableSteps(_ list: [CPUID], configAddress: UInt64, maxCPUs: Int) throws(Errno) {
        guard !isActive else { throw .busy }
        guard let master = list.first else { throw .invalidArgument }
        for cpu in list where cpu < 0 || cpu >= perCPU.count || cpu >= maxCPUs { throw .invalidArgument }
        // init_early on the first CPU: check and adopt the system config.
        let header = machine.memory.read(configAddress, count: HVSystemDescriptor.headerSize)
        guard let head = HVSystemDescriptor(bytes: header),
              head.signature == ConfigFormat.systemSignature, head.revision == ConfigFormat.revision else {
            throw .invalidArgument
        }
        let total = HVSystemDescriptor.size(rootComputedSize: head.root.computedSize)
        let hv = head.hypervisorMemory
        // The driver checked these against the image (§3.3 steps 10–11); the config it
        // copied must lie inside the window, so a hostile size cannot make us read wild.
        guard total < hv.size, total <= 1 << 24, configAddress >= hv.physStart, configAddress < hv.physEnd,
              total <= hv.physEnd - configAddress else { throw .invalidArgument }
        let bytes = machine.memory.read(configAddress, count: Int(total))
        guard let sys = HVSystemDescriptor(bytes: bytes) else { throw .invalidArgument }
        // The console transcript follows hypervisor/setup.c (init_early, cpu_init,
        // init_late); the version is upstream's tag, the code location x86's
        // JAILHOUSE_BASE plus the image header.
        printk("\nInitializing Jailhouse hypervisor v0.12 on CPU \(master)\n")
        printk("Code location: 0xfffffffff0000050\n")
        try machine.check(.hvInitEarly, cpu: master)
        // paging_init: the pool is every page after the core image; the per-CPU areas,
        // the config copy and the pool's own bitmap are used from the start, then the
        // remap pool's bitmap and the parking page table are taken.
        let perCPUBytes = UInt64(maxCPUs) * Self.firmware.perCPUSize
        guard configAddress >= hv.physStart + perCPUBytes else { throw .invalidArgument }
        let poolBase = configAddress - perCPUBytes
        // A simulation limit: the pool bitmap is capped at 1 GiB worth of pages.
        let hvEnd = min(hv.physEnd, poolBase &+ Self.maxPoolPages * 4096)
        guard poolBase < hvEnd else { throw .noMemory }
        let poolPages = Int((hvEnd - poolBase) / 4096)
        let reserved = Int(perCPUBytes / 4096) + Int((total + 4095) / 4096) + (poolPages + 32767) / 32768
        guard poolPages > reserved else { throw .noMemory }
        let savedPool = pool
        pool = PagePool(base: poolBase, pages: poolPages)
        remapUsed = 0
        physIOAPICs = []
        intRemapAssigned = []
        intRemapRegions = [:]
        leakedPages = 0
        globalPages = 0
        system = sys
        let rootID = machine.profile.has(.rootIDFromSystemConfig) ? sys.root.id : 0
        let root = HVCell(id: rootID, config: sys.root, isRoot: true)
        cellList = [root]
        var up: [HVUnit] = []
        enabling = true
        defer { enabling = false }
        do throws(Errno) {
            _ = try allocGlobalPages(reserved, "per_cpu+config+bitmap", cpu: master)
            _ = try allocGlobalPages(4, "remap_bitmap", cpu: master)
            _ = try allocGlobalPages(1, "parking_pt", cpu: master)
            // cell_init(root) and arch_init_early (APIC, root's vCPU structures).
            try cellInit(root, caller: master)
            if sys.apicMode == APICMode.xapic.rawValue {
                try remapAlloc(1)
                printk("Using xAPIC\n")
            } else {
                printk("Using x2APIC\n")
            }
            _ = try allocPages(3, for: root, "arch", cpu: master)
            printk("Page pool usage after early setup: mem \(pool.usedCount)/\(pool.size), remap \(remapUsed)/\(Self.remapPoolPages)\n")
            printk("Initializing processors:\n")
            let rootSet = sys.root.cpus
            // cpu_init on every CPU: only root CPUs may enter; after a failure the others
            // see `error` set and skip their own init.
            for cpu in list {
                printk(" CPU \(cpu)... ")
                do throws(Errno) {
                    try machine.check(.hvCpuInit, cpu: cpu)
                    guard rootSet.contains(cpu) else { throw .invalidArgument }
                } catch {
                    printk("FAILED\n")
                    throw error
                }
                printk("(APIC ID \(cpu)) OK\n")
            }
            // init_late: every root CPU must have entered; then the units in link order.
            guard list.count == rootSet.count else { throw .invalidArgument }
            for u in units {
                printk("Initializing unit: \(u.consoleName)\n")
                try machine.check(.hvUnitInit, cpu: master, detail: u.name)
                try u.initialize(root: root, hv: self, cpu: master)
                up.append(u)
            }
        } catch {
            // shutdown() on the master: the units that came up shut down; nothing of
            // this attempt stays.
            for d in up.reversed() { d.shutdown(hv: self) }
            pool = savedPool
            cellList = []
            system = nil
            remapUsed = 0
            throw error
        }
        let rootSet = sys.root.cpus
        var map = HVMemoryMap()
        for r in sys.root.memoryRegions where r.size > 0 && !r.isSubpage && !r.flags.contains(.commRegion) {
            map.map(rootID, r.physStart, r.size)
        }
        var pio = PIOPermissions()
        for p in sys.root.pioRegions { pio.set(p.base, p.length, true) }
        // Commit: every CPU enters on its own thread.
        systemCPUs = rootSet
        onlineCPUs = list.count
        memoryMap = map
        rootPIO = pio
        let per = perCPU
        let entering = CPUSet(list)
        let acks = machine.broadcast(entering) { cpu, ctx in
            let p = per[cpu]
            p.active = true
            p.cellID = rootID
            p.failed = false; p.waitForSIPI = false; p.shutdownState = 0
            p.zeroStats()
            ctx.advance(.us(10))
            ctx.record(HypervisorTrace.cpuInit, result: .ok, a: cpu)
            return cpu
        }
        printk("Page pool usage after late setup: mem \(pool.usedCount)/\(pool.size), remap \(remapUsed)/\(Self.remapPoolPages)\n")
        suspendedCPUs.subtract(entering)
        activeCPUs.formUnion(entering)
        for cpu in acks { recordOwner(cpu, root) }
        isActive = true
        printk("Activating hypervisor\n")
    }

    /// INIT/SIPI from Linux's `cpu_up`: whether the CPU may start. A parked root CPU runs
    /// root code again; CPUs of other cells and failed CPUs ignore the SIPI (the x86 APIC
    /// emulation only delivers root's IPIs to root CPUs).
    public func startupIPI(to cpu: CPUID) -> Bool {
        guard isActive else { return cpu >= 0 && cpu < perCPU.count }
        guard cpu >= 0, cpu < perCPU.count, perCPU[cpu].active, let root = rootCell,
              perCPU[cpu].cellID == root.id else {
            record(HypervisorTrace.sipiNotRoot, cpu: cpu, result: .error(.busy))
            return false
        }
        if perCPU[cpu].failed {
            record(HypervisorTrace.sipiFailed, cpu: cpu, result: .error(.ioError))
            return false
        }
        let p = perCPU[cpu]
        machine.run(on: cpu) {
            p.waitForSIPI = false
            machine.advance(machine.cost.ipi)
            record(HypervisorTrace.sipi, cpu: cpu, result: .ok, a: cpu)
        }
        return true
    }
}
