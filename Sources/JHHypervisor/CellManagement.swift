import JHABI
import JHMachine

/// Which management call runs the prologue.
enum ManagementTask: String { case start, setLoadable = "set_loadable", destroy }

extension Hypervisor {
    /// Mirrors `cell_management_prologue` in hypervisor/control.c (§4.5).
    ///
    /// On success root **and** the target are suspended; on failure root is resumed.
    /// - Returns: the target, or -EPERM (caller not root, another cell locked for destroy,
    ///   consent refused), -ENOENT (no such id), -EINVAL (the root cell).
    func managementPrologue(_ task: ManagementTask, caller cpu: CPUID, id: UInt32) throws(SimulationHang) -> Result<HVCell, Errno> {
        guard let root = rootCell, perCPU[cpu].cellID == root.id else { return .failure(.notPermitted) }
        cellSuspend(root, caller: cpu)
        func fail(_ e: Errno, _ why: String) -> Result<HVCell, Errno> {
            record(HypervisorTrace.prologue, cpu: cpu, result: .error(e), a: task.traceValue, b: Int(id), text: why)
            cellResume(root, caller: cpu)
            return .failure(e)
        }
        guard let cell = cell(id) else { return fail(.noEntry, "no such cell") }
        if cell.isRoot { return fail(.invalidArgument, "root cell") }
        if task == .destroy && !reconfigOK(excluding: cell) { return fail(.notPermitted, "another cell is locked") }
        guard try exchangeMessage(cell, .shutdownRequest, request: true, caller: cpu) else {
            return fail(.notPermitted, "shutdown refused")
        }
        cellSuspend(cell, caller: cpu)
        return .success(cell)
    }

    /// Mirrors `cell_start` in hypervisor/control.c (§4.6).
    func cellStart(caller cpu: CPUID, id: UInt32) throws(SimulationHang) -> Int64 {
        let cell: HVCell
        switch try managementPrologue(.start, caller: cpu, id: id) {
        case .failure(let e): return e.negated
        case .success(let c): cell = c
        }
        let root = rootCell!
        if cell.loadable {
            var unmapped: [HVMemoryRegion] = []
            for r in cell.memoryRegions where r.flags.contains(.loadable) {
                do throws(Errno) {
                    try unmapFromRoot(r, caller: cpu, why: "start")
                    unmapped.append(r)
                } catch {
                    // Upstream resumes only root: the target's CPUs stay suspended, and the
                    // LOADABLE regions unmapped before the failure stay unmapped although the
                    // cell is still loadable (quirk 6; `goto out_resume` undoes nothing).
                    // The fixed profile undoes both, so the cell is exactly as loadable as
                    // before (§8 item 8: LOADABLE regions are in root iff `loadable`).
                    if !machine.profile.has(.startErrorLeavesTargetSuspended) {
                        for u in unmapped { remapToRoot(u, caller: cpu) }
                        cellResume(cell, caller: cpu)
                    }
                    cellResume(root, caller: cpu)
                    record(HypervisorTrace.cellStartFailed, cpu: cpu, result: .error(error), a: Int(id))
                    return error.negated
                }
            }
            record(HypervisorTrace.configCommitNone, cpu: cpu)
            cell.loadable = false
        }
        initCommRegion(cell, cpu: cpu)
        record(HypervisorTrace.pciCellReset, cpu: cpu, a: Int(cell.id))
        for c in cell.cpus {
            perCPU[c].failed = false
            resetCPU(c, address: cell.config.cpuResetAddress)
        }
        printk(LogLine(ConsoleText.startedCell, string: cell.name))
        cellResume(root, caller: cpu)
        record(HypervisorTrace.cellStart, cpu: cpu, result: .ok, a: Int(id), text: cell.name)
        let kind = pendingInmates[cell.id] ?? InmateKind.defaultKind(for: cell.config.flags)
        cell.inmate = kind
        cell.shutdownRequests = 0
        bootInmate(cell)
        return 0
    }

    /// Mirrors `cell_set_loadable` in hypervisor/control.c (§4.6).
    func cellSetLoadable(caller cpu: CPUID, id: UInt32) throws(SimulationHang) -> Int64 {
        let cell: HVCell
        switch try managementPrologue(.setLoadable, caller: cpu, id: id) {
        case .failure(let e): return e.negated
        case .success(let c): cell = c
        }
        let root = rootCell!
        // Parked unconditionally so no CPU stays suspended (8d7da7dd).
        for c in cell.cpus {
            perCPU[c].failed = false
            parkCPU(c)
        }
        if cell.loadable {
            cellResume(root, caller: cpu)
            record(HypervisorTrace.cellSetLoadableAlready, cpu: cpu, result: .ok, a: Int(id))
            return 0
        }
        writeCellState(cell, .shutDown, cpu: cpu)
        cell.loadable = true
        record(HypervisorTrace.pciCellReset, cpu: cpu, a: Int(cell.id))
        for r in cell.memoryRegions where r.flags.contains(.loadable) {
            do throws(Errno) {
                try machine.check(.hvRemapToRoot, cpu: cpu, detail: "set_loadable")
            } catch {
                cellResume(root, caller: cpu)
                record(HypervisorTrace.cellSetLoadableFailed, cpu: cpu, result: .error(error), a: Int(id))
                return error.negated
            }
            remapToRoot(r, caller: cpu)
        }
        record(HypervisorTrace.configCommitNone, cpu: cpu)
        printk(LogLine(ConsoleText.cellLoadable, string: cell.name))
        cellResume(root, caller: cpu)
        record(HypervisorTrace.cellSetLoadable, cpu: cpu, result: .ok, a: Int(id), text: cell.name)
        return 0
    }

    /// Mirrors `cell_destroy` in hypervisor/control.c (§4.6). After the prologue nothing fails.
    func cellDestroy(caller cpu: CPUID, id: UInt32) throws(SimulationHang) -> Int64 {
        let cell: HVCell
        switch try managementPrologue(.destroy, caller: cpu, id: id) {
        case .failure(let e): return e.negated
        case .success(let c): cell = c
        }
        let root = rootCell!
        printk(LogLine(ConsoleText.closingCell, string: cell.name))
        cellDestroyInternal(cell, caller: cpu)
        cellList.removeAll { $0 === cell }
        freeAllPages(of: cell)
        printk(LogLine(ConsoleText.poolAfterDestroy, pool.usedCount, pool.size, remapUsed, Self.remapPoolPages))
        try reconfigCompleted(caller: cpu)
        cellResume(root, caller: cpu)
        record(HypervisorTrace.cellDestroy, cpu: cpu, result: .ok, a: Int(id), text: cell.name)
        return 0
    }

    /// Mirrors `cell_destroy_internal` in hypervisor/control.c (§4.7): CPUs are parked back
    /// into root, memory returns to the overlapping root regions, units exit in reverse.
    func cellDestroyInternal(_ cell: HVCell, caller cpu: CPUID) {
        guard let root = rootCell else { return }
        writeCellState(cell, .shutDown, cpu: cpu)
        for c in cell.cpus where c < perCPU.count && perCPU[c].cellID == cell.id {
            parkCPU(c)
            root.cpus.insert(c)
            perCPU[c].cellID = root.id
            perCPU[c].failed = false
            perCPU[c].zeroStats()
            recordOwner(c, root)
        }
        for r in cell.memoryRegions {
            unmapFromCell(cell, r, caller: cpu)
            if !r.flags.contains(.commRegion) && !r.flags.contains(.rootShared) {
                do throws(Errno) {
                    try machine.check(.hvRemapToRoot, cpu: cpu, detail: "destroy")
                    remapToRoot(r, caller: cpu)
                } catch {
                    printk("WARNING: Failed to re-assign memory region to root cell\n")
                }
            }
        }
        for u in units.reversed() {
            u.cellExit(cell, hv: self)
            record(HypervisorTrace.unitExit, cpu: cpu, a: Int(cell.id), text: u.name)
        }
        archCellDestroy(cell, caller: cpu)
        record(HypervisorTrace.configCommitPlain, cpu: cpu, a: Int(cell.id))
        cellExit(cell)
        record(HypervisorTrace.cellDestroyInternal, cpu: cpu, a: Int(cell.id))
    }

    /// Mirrors `cell_get_state` in hypervisor/control.c.
    func cellGetState(caller cpu: CPUID, id: UInt32) -> Int64 {
        guard let root = rootCell, perCPU[cpu].cellID == root.id else { return Errno.notPermitted.negated }
        guard let cell = cell(id) else { return Errno.noEntry.negated }
        let s = cellState(cell)
        return s.isKnown ? Int64(s.rawValue) : Errno.invalidArgument.negated
    }
}
