import JHABI
import JHMachine

extension Hypervisor {
    /// Mirrors `cell_create` in hypervisor/control.c (jailhouse-behaviour.md §4.4).
    ///
    /// Runs on the calling root CPU with the rest of root suspended. Every failure unwinds
    /// through the same labels as the C code, so the pool, the CPU owners and the memory
    /// map are exactly as before.
    /// - Returns: 0, or -EPERM (caller not root, a cell is RUNNING_LOCKED), -EEXIST (name or
    ///   id taken), -E2BIG (config larger than the 16-page window), -ENOMEM (mapping, pool),
    ///   -EINVAL (cpu_set_size > 4096), -EBUSY (caller's CPU, or a CPU not owned by root),
    ///   or a unit's errno (-ERANGE, -EINVAL, -EBUSY, -ENOMEM).
    func cellCreate(caller cpu: CPUID, configAddress: UInt64) throws(SimulationHang) -> Int64 {
        guard let root = rootCell, perCPU[cpu].cellID == root.id else { return Errno.notPermitted.negated }
        cellSuspend(root, caller: cpu)
        switch createSteps(caller: cpu, configAddress: configAddress, root: root) {
        case .failure(let e):
            // err_resume
            cellResume(root, caller: cpu)
            record(HypervisorTrace.cellCreateFailed, cpu: cpu, result: .error(e))
            return e.negated
        case .success(let cell):
            // As in C: tell the other cells first, then print, then resume root.
            try reconfigCompleted(caller: cpu)
            printk(LogLine(ConsoleText.createdCell, string: cell.name))
            printk(LogLine(ConsoleText.poolAfterCreate, pool.usedCount, pool.size, remapUsed, Self.remapPoolPages))
            cellResume(root, caller: cpu)
            record(HypervisorTrace.cellCreate, cpu: cpu, result: .ok, a: Int(cell.id), text: cell.name)
            return 0
        }
    }

    private func createSteps(caller cpu: CPUID, configAddress address: UInt64, root: HVCell) -> Result<HVCell, Errno> {
        // 3. No running cell may have locked reconfiguration.
        guard reconfigOK(excluding: nil) else {
            record(HypervisorTrace.reconfigLocked, cpu: cpu, result: .error(.notPermitted))
            return .failure(.notPermitted)
        }
        // 4. Map the header.
        do throws(Errno) {
            try machine.check(.hvMapConfig, cpu: cpu, detail: "header")
        } catch { return .failure(error) }
        remapUsed += 1
        defer { remapUsed -= 1 }
        let head = HVCellDescriptor(bytes: machine.memory.read(address, count: HVCellDescriptor.headerSize))!
        record(HypervisorTrace.mapConfigHeader, cpu: cpu, result: .ok, a: address.traceBits)
        // 5. Name and id must be new.
        for c in cellList where c.config.nameBytes == head.nameBytes || c.id == head.id {
            record(HypervisorTrace.cellExists, cpu: cpu, result: .error(.exists), a: Int(head.id), b: Int(c.id), text: head.name)
            return .failure(.exists)
        }
        // 6. The whole config must fit the temporary mapping window.
        let total: UInt64 = machine.profile.has(.noConfigLengthCheck) ? UInt64(head.wrappedSize) : head.computedSize
        let span = (address & 4095) + total
        guard span <= Self.temporaryPages * 4096 else {
            record(HypervisorTrace.configSize, cpu: cpu, result: .error(.tooBig), a: head.computedSize.traceBits, b: span.traceBits)
            return .failure(.tooBig)
        }
        // 7. Map all config pages.
        do throws(Errno) {
            try machine.check(.hvMapConfig, cpu: cpu, detail: "all")
        } catch { return .failure(error) }
        record(HypervisorTrace.mapConfig, cpu: cpu, result: .ok, a: address.traceBits, b: total.traceBits)
        // The copy is at least a header long even when the C size wrapped below it.
        let bytes = machine.memory.read(address, count: Int(max(total, UInt64(HVCellDescriptor.headerSize))))
        let cfg = HVCellDescriptor(bytes: bytes)!
        // 8. Cell structure + config copy from the pool.
        let cell = HVCell(id: cfg.id, config: cfg, isRoot: false)
        let cellPages = Int((Self.cellStructSize + total + 4095) / 4096)
        let base: UInt64
        do throws(Errno) {
            base = try allocPages(cellPages, for: cell, "cell", cpu: cpu)
        } catch { return .failure(error) }
        cell.commPage = base
        machine.memory.zero(base, count: 4096)
        machine.memory.write(base + Self.cellStructSize, bytes)
        // 9. cell_init; a failure here goes to err_free_cell.
        do throws(Errno) {
            try cellInit(cell, caller: cpu)
        } catch {
            freeAllPages(of: cell)
            return .failure(error)
        }
        // 10./11. The CPUs must come from root, and not be the caller's.
        var cpuError: Errno?
        if cell.cpus.contains(cpu) { cpuError = .busy }
        for c in cell.cpus where c >= perCPU.count || !perCPU[c].active || perCPU[c].cellID != root.id {
            cpuError = .busy
        }
        if let e = cpuError {
            record(HypervisorTrace.cpuCheck, cpu: cpu, result: .error(e), set: cell.cpus)
            cellExit(cell) // err_cell_exit
            freeAllPages(of: cell)
            return .failure(e)
        }
        // 12. arch_cell_create.
        do throws(Errno) {
            try archCellCreate(cell, caller: cpu)
        } catch {
            cellExit(cell)
            freeAllPages(of: cell)
            return .failure(error)
        }
        // 13. Units in order, unwound in reverse.
        var done: [HVUnit] = []
        for u in units {
            do throws(Errno) {
                try machine.check(.hvUnitCellInit, cpu: cpu, detail: u.name)
                try u.cellInit(cell, hv: self, cpu: cpu)
                done.append(u)
                record(HypervisorTrace.unitInit, cpu: cpu, result: .ok, a: Int(cell.id), text: u.name)
            } catch {
                record(HypervisorTrace.unitInit, cpu: cpu, result: .error(error), a: Int(cell.id), text: u.name)
                for d in done.reversed() {
                    d.cellExit(cell, hv: self)
                    record(HypervisorTrace.unitExit, cpu: cpu, a: Int(cell.id), text: d.name)
                }
                archCellDestroy(cell, caller: cpu) // err_arch_destroy
                cellExit(cell)                     // err_cell_exit
                freeAllPages(of: cell)             // err_free_cell
                return .failure(error)
            }
        }
        // 14. Shrink root: park each CPU, move it, zero its statistics. Cannot fail.
        for c in cell.cpus {
            parkCPU(c)
            root.cpus.remove(c)
            perCPU[c].cellID = cell.id
            perCPU[c].zeroStats()
            recordOwner(c, cell)
        }
        // 15. Memory: out of root (unless COMM_REGION/ROOTSHARED), into the cell.
        for r in cell.memoryRegions {
            do throws(Errno) {
                if !r.flags.contains(.commRegion) && !r.flags.contains(.rootShared) {
                    try unmapFromRoot(r, caller: cpu, why: "create")
                }
                try mapIntoCell(cell, r, caller: cpu)
            } catch {
                // err_destroy_cell
                cellDestroyInternal(cell, caller: cpu)
                freeAllPages(of: cell)
                return .failure(error)
            }
        }
        // 16. config_commit.
        record(HypervisorTrace.configCommit, cpu: cpu, a: Int(cell.id))
        // 17. SHUT_DOWN; the rest of the comm page stays zero until start.
        writeCellState(cell, .shutDown, cpu: cpu)
        // 18. Append.
        cellList.append(cell)
        return .success(cell)
    }

    /// Mirrors `cell_init` (hypervisor/control.c): the CPU set and the MMIO tables.
    /// - Throws: `Errno.invalidArgument` for cpu_set_size > 4096, `Errno.noMemory` for the
    ///   big-set page or the MMIO tables (the big-set page is freed again then).
    func cellInit(_ cell: HVCell, caller cpu: CPUID) throws(Errno) {
        let size = cell.config.cpuSetSize
        guard size <= UInt32(ConfigFormat.maxCPUSetSize) else {
            record(HypervisorTrace.cellInitBadSize, cpu: cpu, result: .error(.invalidArgument), a: Int(size))
            throw .invalidArgument
        }
        if size > 8 { _ = try allocPages(1, for: cell, "cpu_set", cpu: cpu) }
        do throws(Errno) {
            if !enabling { try machine.check(.hvMmioCellInit, cpu: cpu) }
            _ = try allocPages(1, for: cell, "mmio", cpu: cpu)
        } catch {
            freePages(of: cell, "cpu_set")
            record(HypervisorTrace.cellInitMMIO, cpu: cpu, result: .error(error))
            throw error
        }
        record(HypervisorTrace.cellInit, cpu: cpu, result: .ok, a: Int(cell.id), set: cell.cpus)
    }

    /// Mirrors `cell_exit`: frees the MMIO tables and the big-set page.
    func cellExit(_ cell: HVCell) {
        freePages(of: cell, "mmio")
        freePages(of: cell, "cpu_set")
    }

    /// Mirrors `arch_cell_create` / `vcpu_cell_init` (hypervisor/arch/x86): I/O bitmap and
    /// EPT root from the pool, and the root loses the new cell's PIO ranges.
    func archCellCreate(_ cell: HVCell, caller cpu: CPUID) throws(Errno) {
        do throws(Errno) {
            try machine.check(.hvArchCellCreate, cpu: cpu)
            _ = try allocPages(3, for: cell, "arch", cpu: cpu)
        } catch {
            record(HypervisorTrace.archCellCreateFailed, cpu: cpu, result: .error(error), a: Int(cell.id))
            throw error
        }
        for p in cell.pioRegions { rootPIO.set(p.base, p.length, false) }
        record(HypervisorTrace.archCellCreate, cpu: cpu, result: .ok, a: Int(cell.id), b: cell.pioRegions.count)
    }

    /// Mirrors `arch_cell_destroy`: the root gets back the cell's ports that its own config
    /// allows, and the arch pages go back to the pool.
    func archCellDestroy(_ cell: HVCell, caller cpu: CPUID) {
        guard let root = rootCell else { return }
        let rootRanges = root.pioRegions
        for p in cell.pioRegions {
            let lo = Int(p.base), hi = Int(p.base) + Int(p.length)
            for rr in rootRanges {
                let s = max(lo, Int(rr.base)), e = min(hi, Int(rr.base) + Int(rr.length))
                if s < e { rootPIO.set(UInt16(s), UInt16(e - s), true) }
            }
        }
        freePages(of: cell, "arch")
        record(HypervisorTrace.archCellDestroy, cpu: cpu, a: Int(cell.id))
    }

    func freeAllPages(of cell: HVCell) {
        for a in cell.allocations.reversed() { pool.free(a.address, a.pages) }
        cell.allocations = []
    }

    /// Unmaps a region from the 1:1 root (virt = phys). Sub-page regions only drop the
    /// root's MMIO handler; unmapping what root does not map succeeds silently.
    func unmapFromRoot(_ r: HVMemoryRegion, caller cpu: CPUID, why: String) throws(Errno) {
        guard let root = rootCell else { return }
        try machine.check(.hvPagingUnmap, cpu: cpu, detail: why)
        guard r.size > 0, !r.isSubpage else { return }
        memoryMap.unmap(root.id, r.physStart, r.size)
        chargeMapping(r, size: r.size)
        record(HypervisorTrace.unmapFromRoot, cpu: cpu, result: .ok, a: Int(root.id), b: r.physStart.traceBits, c: r.size.traceBits)
    }

    /// Maps a region into `cell`: sub-page regions become an MMIO handler, COMM_REGION maps
    /// the cell's comm page.
    func mapIntoCell(_ cell: HVCell, _ r: HVMemoryRegion, caller cpu: CPUID) throws(Errno) {
        let isComm = r.flags.contains(.commRegion)
        try machine.check(.hvPagingMap, cpu: cpu, detail: isComm ? "comm" : "cell")
        guard r.size > 0 else { return }
        if r.isSubpage {
            record(HypervisorTrace.mmioRegion, cpu: cpu, a: Int(cell.id), b: r.virtStart.traceBits, c: r.size.traceBits)
            return
        }
        let phys = isComm ? (cell.commPage ?? r.physStart) : r.physStart
        let size = isComm ? min(r.size, 4096) : r.size
        memoryMap.map(cell.id, phys, size)
        chargeMapping(r, size: size)
        record(isComm ? HypervisorTrace.mapComm : HypervisorTrace.map, cpu: cpu, result: .ok, a: Int(cell.id),
               b: phys.traceBits, c: r.virtStart.traceBits, d: size.traceBits)
    }

    /// Unmaps a region from a non-root cell (cannot fail).
    func unmapFromCell(_ cell: HVCell, _ r: HVMemoryRegion, caller cpu: CPUID) {
        guard r.size > 0, !r.isSubpage else { return }
        let isComm = r.flags.contains(.commRegion)
        let phys = isComm ? (cell.commPage ?? r.physStart) : r.physStart
        let size = isComm ? min(r.size, 4096) : r.size
        memoryMap.unmap(cell.id, phys, size)
        chargeMapping(r, size: size)
        record(HypervisorTrace.unmap, cpu: cpu, a: Int(cell.id), b: phys.traceBits, c: size.traceBits)
    }

    /// Mirrors `remap_to_root_cell`: maps into root the parts of `r` that overlap root's
    /// own config regions (with root's flags); parts no root region covers stay unmapped.
    func remapToRoot(_ r: HVMemoryRegion, caller cpu: CPUID) {
        guard let root = rootCell, r.size > 0 else { return }
        for rr in root.memoryRegions where rr.size > 0 && !rr.isSubpage && !rr.flags.contains(.commRegion) {
            let s = max(r.physStart, rr.physStart), e = min(r.physEnd, rr.physEnd)
            guard s < e else { continue }
            memoryMap.map(root.id, s, e - s)
            chargeMapping(rr, size: e - s)
            record(HypervisorTrace.remap, cpu: cpu, result: .ok, a: Int(root.id), b: s.traceBits, c: (e - s).traceBits)
        }
    }
}
