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
        let dir = cellDir(cell)
        let upstream9 = machine.profile.has(.sysfsErrorPathBadRelease)
        // kobject_init_and_add(&cell->kobj): its release is the right one.
        do throws(Errno) {
            try fs.mkdir(dir)
            try populateCellAttributes(cell, dir)
        } catch {
            try? fs.remove(dir)
            throw error
        }
        do throws(Errno) {
            try populateStatistics(cell, dir)
        } catch {
            if upstream9 {
                kernel.die(KernelOops(function: "jailhouse_cell_kobj_release",
                                      bug: "kernel BUG at mm/slub.c: kfree() of a pointer inside struct cell (the statistics kobject released as a cell)",
                                      quirk: .sysfsErrorPathBadRelease), cpu: kernel.online.first ?? 0)
            } else {
                try? fs.remove(dir)
            }
            throw error
        }
        for cpu in cell.cpusAssigned {
            if let root = rootCell {
                guard root.cpusAssigned.contains(cpu) else { continue }
                do throws(Errno) {
                    try fs.move(cellDir(root) + "/statistics/cpu\(cpu)", to: dir + "/statistics/cpu\(cpu)")
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
                    try createCPUStatistics(cpu, dir)
                } catch {
                    if upstream9 {
                        kernel.die(KernelOops(function: "jailhouse_cell_kobj_release",
                                              bug: "kernel BUG at mm/slub.c: double free of struct cell_cpu (cpu\(cpu) kobject released as a cell, then kfree'd)",
                                              quirk: .sysfsErrorPathBadRelease), cpu: kernel.online.first ?? 0)
                    } else {
                        try? fs.remove(dir)
                    }
                    throw error
                }
            }
        }
    }

    /// The default attributes of the cell's kobject.
    private func populateCellAttributes(_ cell: DriverCell, _ dir: String) throws(Errno) {
        let fs = kernel.sysfs
        try fs.createFile(dir + "/name", show: { cell.name + "\n" })
        try fs.createFile(dir + "/state", show: { [weak self] in self?.stateShow(cell) ?? "invalid\n" })
        try fs.createFile(dir + "/cpus_assigned", show: { [weak self] in
            cell.cpusAssigned.hexMask(nrCPUIDs: self?.kernel.nrCPUIDs ?? 1) + "\n"
        })
        try fs.createFile(dir + "/cpus_assigned_list", show: { cell.cpusAssigned.rangeList + "\n" })
        try fs.createFile(dir + "/cpus_failed", show: { [weak self] in
            guard let self else { return "0\n" }
            return self.failedCPUs(cell).hexMask(nrCPUIDs: self.kernel.nrCPUIDs) + "\n"
        })
        try fs.createFile(dir + "/cpus_failed_list", show: { [weak self] in
            (self?.failedCPUs(cell).rangeList ?? "") + "\n"
        })
    }

    /// The `statistics` kobject and its attributes (sums over the cell's CPUs).
    private func populateStatistics(_ cell: DriverCell, _ dir: String) throws(Errno) {
        let fs = kernel.sysfs
        try fs.mkdir(dir + "/statistics")
        for stat in CPUStatistic.allCases {
            try fs.createFile(dir + "/statistics/vmexits_" + stat.sysfsName, show: { [weak self] in
                guard let self else { return "0\n" }
                var sum: UInt64 = 0
                for cpu in cell.cpusAssigned {
                    let v = self.cpuInfo(cpu, CPUInfo.statBase + UInt64(stat.rawValue))
                    if v > 0 { sum += UInt64(v) }
                }
                return "\(sum)\n"
            })
        }
    }

    /// One root `statistics/cpuN` kobject.
    private func createCPUStatistics(_ cpu: CPUID, _ dir: String) throws(Errno) {
        let fs = kernel.sysfs
        let cpuDir = dir + "/statistics/cpu\(cpu)"
        try fs.mkdir(cpuDir)
        for stat in CPUStatistic.allCases {
            try fs.createFile(cpuDir + "/vmexits_" + stat.sysfsName, show: { [weak self] in
                "\(max(0, self?.cpuInfo(cpu, CPUInfo.statBase + UInt64(stat.rawValue)) ?? 0))\n"
            })
        }
    }

    /// Mirrors `jailhouse_sysfs_cell_delete`: statistics objects go back to the root (or
    /// are freed with the root), then the cell's directory disappears.
    func sysfsCellDelete(_ cell: DriverCell) {
        let fs = kernel.sysfs
        let dir = cellDir(cell)
        if let root = rootCell, root !== cell {
            let stats = (try? fs.list(dir + "/statistics")) ?? []
            for cpu in stats where cpu.hasPrefix("cpu") {
                try? fs.move(dir + "/statistics/" + cpu, to: cellDir(root) + "/statistics/" + cpu)
            }
        }
        try? fs.remove(dir)
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
