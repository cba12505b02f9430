import JHABI
import JHHypervisor
import JHLinux
import JHMachine

extension JailhouseDriver {
    static let sysfsRoot = "/sys/devices/jailhouse"
    static let cellsDir = "/sys/devices/jailhouse/cells"

    /// Mirrors `jailhouse_sysfs_init` in driver/sysfs.c: the root device's attributes and
    /// the `cells` directory.
    func sysfsInit() {
        let fs = kernel.sysfs
        // Module init happens at boot in a fresh sysfs: these cannot collide, and no fault
        // plan is active before the box exists.
        try? fs.mkdir(Self.sysfsRoot)
        try? fs.createFile(Self.sysfsRoot + "/enabled", show: { [weak self] in self?.enabled == true ? "1\n" : "0\n" })
        for (name, info) in [("mem_pool_size", HypervisorInfo.memPoolSize), ("mem_pool_used", .memPoolUsed),
                             ("remap_pool_size", .remapPoolSize), ("remap_pool_used", .remapPoolUsed)] {
            try? fs.createFile(Self.sysfsRoot + "/" + name, show: { [weak self] in self?.infoShow(info) ?? "0\n" })
        }
        // console_show → jailhouse_console_dump_delta (driver/main.c): "not enabled" is
        // checked first and reads as empty (-EAGAIN becomes 0); only an enabled hypervisor
        // without VIRTUAL_DEBUG_CONSOLE gives -EPERM.
        try? fs.createFile(Self.sysfsRoot + "/console", show: { [weak self] () throws(Errno) -> String in
            guard let self, self.enabled else { return "" }
            guard self.consoleAvailable else { throw .notPermitted }
            return self.hypervisor.console
        })
        try? fs.mkdir(Self.cellsDir)
        cellsDirNode = fs.node(at: Self.cellsDir)
    }

    /// `vmexits_<stat>` for every statistic, built once.
    static let statisticFileNames = CPUStatistic.allCases.map { "vmexits_" + $0.sysfsName }
    /// A cell's directory name: its id, from a table built once for the usual ids.
    static let cellDirNames = (0..<256).map { String($0) }
    static func cellDirName(_ id: CellID) -> String {
        id.rawValue < UInt32(cellDirNames.count) ? cellDirNames[Int(id.rawValue)] : String(id.rawValue)
    }

    /// Mirrors `info_show` in driver/sysfs.c: a HYPERVISOR_GET_INFO value, 0 when disabled.
    func infoShow(_ info: HypervisorInfo) -> String {
        guard enabled else { return "0\n" }
        let v = (try? hypervisor.hypercall(cpu: kernel.online.first ?? 0, .hypervisorGetInfo, info.rawValue)) ?? 0
        return "\(v)\n"
    }

    func cellDir(_ cell: DriverCell) -> String { Self.cellsDir + "/\(cell.id)" }

    /// Mirrors `jailhouse_sysfs_cell_create` in driver/sysfs.c: `cells/<id>` with its
    /// attributes and `statistics/`; per-CPU statistics objects are created for the root
    /// and *moved* from the root for any other cell (CPUs the root lacks are skipped, a
    /// failed move only warns).
    ///
    /// Upstream's error paths release the wrong objects (quirk 9): a failing `statistics`
    /// kobject is released as if it were the cell, a failing root `cpuN` object is freed
    /// twice and then moved to the NULL `root_cell` — kernel oopses. A `root_cell` left as
    /// ERR_PTR by an earlier failed enable is dereferenced here (quirk 15). The fixed
    /// profile unwinds cleanly.
    func sysfsCellCreate(_ cell: DriverCell) throws(Errno) {
        let fs = kernel.sysfs
        guard let cells = cellsDirNode else { throw .noEntry }
        let dirName = Self.cellDirName(cell.id)
        let upstream9 = machine.profile.has(.sysfsErrorPathBadRelease)
        // The objects come from reused storage; each creation is still charged (fault seam
        // and cost) in the kernel's order, so the run is the one that builds them anew.
        let storage = cellSysfsPool.popLast() ?? makeCellSysfsStorage()
        storage.cell = cell
        let dir = storage.dir, stats = storage.statistics
        // kobject_init_and_add(&cell->kobj): its release is the right one.
        do throws(Errno) {
            try fs.attach(dir, as: dirName, in: cells)
            for name in Self.cellAttributeNames { try fs.chargeCreate(name, in: dir) }
        } catch {
            try? fs.remove(dirName, from: cells)
            storage.cell = nil
            if dir.parent == nil { cellSysfsPool.append(storage) }
            throw error
        }
        cell.sysfsDir = dir
        cell.sysfsStorage = storage
        var statisticsCreated = false, filesCreated = 0
        do throws(Errno) {
            try fs.chargeCreate("statistics", in: dir)
            statisticsCreated = true
            for fileName in Self.statisticFileNames {
                try fs.chargeCreate(fileName, in: stats)
                filesCreated += 1
            }
        } catch {
            if upstream9 {
                // The storage stays with the oopsed box, trimmed to what was created.
                if statisticsCreated {
                    for fileName in Self.statisticFileNames.dropFirst(filesCreated) { fs.discard(fileName, in: stats) }
                } else {
                    fs.discard("statistics", in: dir)
                }
                kernel.die(KernelOops(function: "jailhouse_cell_kobj_release",
                                      bug: "kernel BUG at mm/slub.c: kfree() of a pointer inside struct cell (the statistics kobject released as a cell)",
                                      quirk: .sysfsErrorPathBadRelease), cpu: kernel.online.first ?? 0)
            } else {
                try? fs.remove(dirName, from: cells)
                cell.sysfsDir = nil
                cell.sysfsStorage = nil
                storage.cell = nil
                cellSysfsPool.append(storage)
            }
            throw error
        }
        cell.statisticsDir = stats
        for cpu in cell.cpusAssigned {
            if let root = rootCell {
                guard root.cpusAssigned.contains(cpu) else { continue }
                do throws(Errno) {
                    guard let rootStats = root.statisticsDir else { throw Errno.noEntry }
                    try fs.move(kernel.cpuDirName(cpu), from: rootStats, to: stats)
                } catch {
                    log(.warning, "WARNING: CPU: \(kernel.online.first ?? 0) at driver/sysfs.c jailhouse_sysfs_cell_create: kobject_move failed (\(error.negated))")
                }
            } else if let bad = rootCellErrPtr {
                // root_cell == ERR_PTR(-errno) is not NULL: find_cell_cpu walks its list.
                kernel.die(KernelOops(function: "jailhouse_sysfs_cell_create",
                                      bug: "BUG: unable to handle page fault for an address near ERR_PTR(\(bad.negated)) (root_cell left by the failed enable)",
                                      quirk: .prepareRootLeavesErrPtr), cpu: kernel.online.first ?? 0)
                throw .badAddress
            } else {
                do throws(Errno) {
                    try createCPUStatistics(cpu, stats)
                } catch {
                    if upstream9 {
                        kernel.die(KernelOops(function: "jailhouse_cell_kobj_release",
                                              bug: "kernel BUG at mm/slub.c: double free of struct cell_cpu (cpu\(cpu) kobject released as a cell, then kfree'd)",
                                              quirk: .sysfsErrorPathBadRelease), cpu: kernel.online.first ?? 0)
                    } else {
                        try? fs.remove(dirName, from: cells)
                        cell.sysfsDir = nil
                        cell.statisticsDir = nil
                        cell.sysfsStorage = nil
                    }
                    throw error
                }
            }
        }
    }

    /// The default attributes of the cell's kobject, in the order the kernel creates them.
    static let cellAttributeNames = ["name", "state", "cpus_assigned", "cpus_assigned_list",
                                     "cpus_failed", "cpus_failed_list"]

    /// Builds one detached `cells/<id>` subtree: the default attributes and `statistics`
    /// with its files, names and methods made once. The methods read the cell through the
    /// storage, which the next create rebinds.
    ///
    /// The nodes hold their storage (and it its cell) weakly: after upstream's bad release
    /// (quirk 9) a node can outlive its cell, and reading it must stay an outcome of the
    /// model (empty text, as the oopsed box reports), never a Swift trap.
    func makeCellSysfsStorage() -> CellSysfsStorage {
        let fs = kernel.sysfs
        let dir = fs.makeDetachedDirectory("")
        let storage = CellSysfsStorage(dir: dir, statistics: fs.addDetachedDirectory("statistics", in: dir))
        fs.addDetachedFile("name", in: dir, show: { [weak storage] in storage?.cell.map { $0.name + "\n" } ?? "" })
        fs.addDetachedFile("state", in: dir, show: { [weak self, weak storage] in
            guard let cell = storage?.cell else { return "" }
            return self?.stateShow(cell) ?? "invalid\n"
        })
        fs.addDetachedFile("cpus_assigned", in: dir, show: { [weak self, weak storage] in
            guard let cell = storage?.cell else { return "" }
            return cell.cpusAssigned.hexMask(nrCPUIDs: self?.kernel.nrCPUIDs ?? 1) + "\n"
        })
        fs.addDetachedFile("cpus_assigned_list", in: dir, show: { [weak storage] in
            storage?.cell.map { $0.cpusAssigned.rangeList + "\n" } ?? ""
        })
        fs.addDetachedFile("cpus_failed", in: dir, show: { [weak self, weak storage] in
            guard let self, let cell = storage?.cell else { return "0\n" }
            return self.failedCPUs(cell).hexMask(nrCPUIDs: self.kernel.nrCPUIDs) + "\n"
        })
        fs.addDetachedFile("cpus_failed_list", in: dir, show: { [weak self, weak storage] in
            guard let cell = storage?.cell else { return "" }
            return (self?.failedCPUs(cell).rangeList ?? "") + "\n"
        })
        // The statistics attributes: sums over the cell's CPUs.
        for (stat, fileName) in zip(CPUStatistic.allCases, Self.statisticFileNames) {
            fs.addDetachedFile(fileName, in: storage.statistics, show: { [weak self, weak storage] in
                guard let self, let cell = storage?.cell else { return "0\n" }
                var sum: UInt64 = 0
                for cpu in cell.cpusAssigned {
                    let v = self.cpuInfo(cpu, CPUInfo.statBase + UInt64(stat.rawValue))
                    if v > 0 { sum += UInt64(v) }
                }
                return "\(sum)\n"
            })
        }
        return storage
    }

    /// One root `statistics/cpuN` kobject.
    private func createCPUStatistics(_ cpu: CPUID, _ stats: SysfsNode) throws(Errno) {
        let fs = kernel.sysfs
        let cpuDir = try fs.mkdir(kernel.cpuDirName(cpu), in: stats)
        for (stat, fileName) in zip(CPUStatistic.allCases, Self.statisticFileNames) {
            try fs.createFile(fileName, in: cpuDir, show: { [weak self] in
                "\(max(0, self?.cpuInfo(cpu, CPUInfo.statBase + UInt64(stat.rawValue)) ?? 0))\n"
            })
        }
    }

    /// Mirrors `jailhouse_sysfs_cell_delete`: statistics objects go back to the root (or
    /// are freed with the root), then the cell's directory disappears.
    func sysfsCellDelete(_ cell: DriverCell) {
        let fs = kernel.sysfs
        guard let dir = cell.sysfsDir else { return }
        if let root = rootCell, root !== cell, let stats = cell.statisticsDir, let rootStats = root.statisticsDir {
            // Only CPUs the cell took from the root have an entry here.
            for cpu in cell.cpusAssigned {
                let name = kernel.cpuDirName(cpu)
                if fs.child(name, of: stats) != nil { try? fs.move(name, from: stats, to: rootStats) }
            }
        }
        if let cells = cellsDirNode, fs.child(dir.name, of: cells) === dir { try? fs.remove(dir.name, from: cells) }
        // Storage that is detached and holds exactly its own entries again (every cpuN
        // went back) is reused by the next create.
        if let storage = cell.sysfsStorage, storage.dir === dir, dir.parent == nil,
           storage.isPristine(attributes: Self.cellAttributeNames.count, statistics: Self.statisticFileNames.count) {
            storage.cell = nil
            cellSysfsPool.append(storage)
        }
        cell.sysfsDir = nil
        cell.statisticsDir = nil
        cell.sysfsStorage = nil
    }

    /// Mirrors `state_show` in driver/sysfs.c: CELL_GET_STATE, "invalid" for anything unknown.
    func stateShow(_ cell: DriverCell) -> String {
        let v = (try? hypervisor.hypercall(cpu: kernel.online.first ?? 0, .cellGetState, UInt64(cell.id.rawValue))) ?? -1
        guard v >= 0, v <= Int64(UInt32.max) else { return "invalid\n" }
        return CellState(rawValue: UInt32(v)).sysfsText + "\n"
    }

    func cpuInfo(_ cpu: CPUID, _ type: UInt64) -> Int64 {
        (try? hypervisor.hypercall(cpu: kernel.online.first ?? 0, .cpuGetInfo, UInt64(cpu), type)) ?? -1
    }

    /// The cell's CPUs whose CPU_GET_INFO state is FAILED.
    func failedCPUs(_ cell: DriverCell) -> CPUSet {
        CPUSet(cell.cpusAssigned.filter { cpuInfo($0, CPUInfo.state) == CPUInfo.stateFailed })
    }
}

/// A cell's sysfs objects kept for reuse: `cells/<id>` with its attributes and
/// `statistics`, built once and attached again for each new cell (the kernel allocates
/// them per cell; the simulator charges each creation but does not rebuild them).
final class CellSysfsStorage {
    let dir: SysfsNode
    let statistics: SysfsNode
    /// The cell whose values the attributes show.
    weak var cell: DriverCell?

    init(dir: SysfsNode, statistics: SysfsNode) { self.dir = dir; self.statistics = statistics }

    /// Whether the subtree holds exactly the entries it was built with.
    func isPristine(attributes: Int, statistics files: Int) -> Bool {
        dir.childCount == attributes + 1 && statistics.childCount == files
    }
}
