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
    /// Unit data: IOAPIC pins taken from root (chip index, 4 words), PCI devices (bdf), CAT.
    var ioapicPins: [(chip: Int, pins: [UInt32])] = []
    var pciDevices: [UInt16] = []
    var catCOS: Int?
    var catWays: UInt32 = 0
    /// How many shutdown requests the inmate has seen (the locking inmate denies the first).
    var shutdownRequests = 0

    init(id: UInt32, config: HVCellDescriptor, isRoot: Bool) {
        self.id = id
        self.config = config
        self.isRoot = isRoot
        cpus = config.cpus
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
    /// Pages of the remap pool (`REMAP_POOL_SIZE`), for HYPERVISOR_GET_INFO.
    static let remapPoolPages = 1024
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
    var pendingInmates: [UInt32: InmateKind] = [:]
    private var consoleBytes: [UInt8] = []

    public init(machine: Machine) {
        self.machine = machine
        perCPU = (0..<machine.cpuCount).map(PerCPU.init)
        units = [IOMMUUnit(), IOAPICUnit(), PCIUnit(), CATUnit()]
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
            out[s] = cpu >= 0 && cpu < perCPU.count ? perCPU[cpu].stats[s.rawValue] : 0
        }
        return out
    }

    /// Hypervisor console: its own printk lines and DEBUG_CONSOLE_PUTC output, last 64 KiB.
    public var console: String { String(decoding: consoleBytes, as: UTF8.self) }

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

    func printk(_ text: String) {
        consoleBytes.append(contentsOf: text.utf8)
        if consoleBytes.count > Self.consoleCapacity { consoleBytes.removeFirst(consoleBytes.count - Self.consoleCapacity) }
    }
    func putc(_ c: UInt8) {
        consoleBytes.append(c)
        if consoleBytes.count > Self.consoleCapacity { consoleBytes.removeFirst() }
    }

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
            try machine.check(FaultSite(HypervisorFaultSites.pageAlloc, cpu: cpu, detail: what))
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
        try machine.check(FaultSite(HypervisorFaultSites.initEarly, cpu: master))
        let poolBase = (configAddress + total + 4095) & ~4095
        // A simulation limit: the pool bitmap is capped at 1 GiB worth of pages.
        let hvEnd = min(hv.physEnd, poolBase &+ Self.maxPoolPages * 4096)
        guard poolBase < hvEnd else { throw .noMemory }
        let poolPages = Int((hvEnd - poolBase) / 4096)
        printk("Page pool usage after early setup: mem 0/\(poolPages), remap 0/\(Self.remapPoolPages)\n")
        printk("Initializing processors:\n")
        let rootSet = sys.root.cpus
        // cpu_init on every CPU: only root CPUs may enter; after a failure the others
        // see `error` set and skip their own init.
        for cpu in list {
            printk(" CPU \(cpu)... ")
            do throws(Errno) {
                try machine.check(FaultSite(HypervisorFaultSites.cpuInit, cpu: cpu))
                guard rootSet.contains(cpu) else { throw .invalidArgument }
            } catch {
                printk("FAILED\n")
                throw error
            }
            printk("OK\n")
        }
        // init_late: every root CPU must have entered.
        guard list.count == rootSet.count else { throw .invalidArgument }

        let rootID = machine.profile.has(.rootIDFromSystemConfig) ? sys.root.id : 0
        let root = HVCell(id: rootID, config: sys.root, isRoot: true)
        var newPool = PagePool(base: poolBase, pages: Int((hvEnd - poolBase) / 4096))
        var map = HVMemoryMap()
        for r in sys.root.memoryRegions where r.size > 0 && !r.isSubpage && !r.flags.contains(.commRegion) {
            map.map(rootID, r.physStart, r.size)
        }
        var pio = PIOPermissions()
        for p in sys.root.pioRegions { pio.set(p.base, p.length, true) }
        // Units come up in order; a failure unwinds the ones already up.
        var up: [HVUnit] = []
        for u in units {
            printk("Initializing unit: \(u.consoleName)\n")
            do throws(Errno) {
                try machine.check(FaultSite(HypervisorFaultSites.unitInit, cpu: master, detail: u.name))
                try u.initRoot(sys.root, pool: &newPool)
                up.append(u)
            } catch {
                for d in up.reversed() { d.shutdown() }
                throw error
            }
        }
        // Commit: every CPU enters on its own thread.
        system = sys
        systemCPUs = rootSet
        onlineCPUs = list.count
        pool = newPool
        memoryMap = map
        rootPIO = pio
        cellList = [root]
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
