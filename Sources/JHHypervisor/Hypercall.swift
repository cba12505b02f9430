import JHABI
import JHMachine

extension Hypervisor {
    /// Mirrors `hypercall` in hypervisor/control.c: a `vmcall` from `cpu`, handled on that
    /// CPU's thread. Every call counts a hypercall VM exit (and the total) on its CPU.
    /// - Returns: the value in RAX: 0, a value, or -errno (-ENOSYS for unknown codes).
    /// - Throws: `SimulationHang` when the call can never return (a message wait without
    ///   timeout, or the DISABLE barrier with too few CPUs).
    public func hypercall(cpu: CPUID, _ code: HypercallCode, _ arg1: UInt64 = 0, _ arg2: UInt64 = 0) throws(SimulationHang) -> Int64 {
        guard isActive, cpu >= 0, cpu < perCPU.count, perCPU[cpu].active else {
            // Without the hypervisor, vmcall is an invalid opcode for the guest.
            record(HypervisorTrace.hypercallNoHypervisor, cpu: cpu, result: .error(.noSys), a: Int(code.rawValue))
            return Errno.noSys.negated
        }
        if code == .disable { return try disable(from: [cpu])[0] }
        let state = cpuState(cpu)
        guard state == .runningRoot || state == .runningCell else {
            record(HypervisorTrace.hypercallBadCPU, cpu: cpu, result: .error(.ioError), a: Int(code.rawValue), b: state.traceValue)
            return Errno.ioError.negated
        }
        let phase = machine.beginPhase(.hypercall)
        defer { machine.endPhase(phase) }
        return try machine.run(on: cpu) { () throws(SimulationHang) -> Int64 in
            let p = perCPU[cpu]
            p.count(.hypercall)
            machine.advance(machine.cost.hypercallEntry)
            let quiet = code == .debugConsolePutc
            if !quiet {
                record(HypervisorTrace.hypercall, cpu: cpu, a: Int(code.rawValue), b: arg1.traceBits, c: arg2.traceBits)
            }
            let r = try dispatch(cpu: cpu, code, arg1, arg2)
            machine.advance(machine.cost.hypercallExit)
            if !quiet || r != 0 {
                let res: TraceResult = Errno.fromReturn(r).map { .error($0) } ?? .value(r)
                record(HypervisorTrace.hypercallEnd, cpu: cpu, result: res, a: Int(code.rawValue))
            }
            return r
        }
    }

    private func dispatch(cpu: CPUID, _ code: HypercallCode, _ arg1: UInt64, _ arg2: UInt64) throws(SimulationHang) -> Int64 {
        // Ids travel as unsigned long; only the low 32 bits can name a cell.
        let id = UInt32(truncatingIfNeeded: arg1)
        let idFits = arg1 <= UInt64(UInt32.max)
        switch code {
        case .cellCreate: return try cellCreate(caller: cpu, configAddress: arg1)
        case .cellStart: return idFits ? try cellStart(caller: cpu, id: id) : lookupFailure(cpu)
        case .cellSetLoadable: return idFits ? try cellSetLoadable(caller: cpu, id: id) : lookupFailure(cpu)
        case .cellDestroy: return idFits ? try cellDestroy(caller: cpu, id: id) : lookupFailure(cpu)
        case .hypervisorGetInfo: return hypervisorGetInfo(arg1)
        case .cellGetState: return idFits ? cellGetState(caller: cpu, id: id) : lookupFailure(cpu)
        case .cpuGetInfo: return cpuGetInfo(caller: cpu, target: arg1, type: arg2)
        case .debugConsolePutc:
            guard let cell = cellOf(cpu: cpu), cell.config.flags.contains(.virtualConsolePermitted) else {
                return Errno.notPermitted.negated
            }
            putc(UInt8(truncatingIfNeeded: arg1))
            return 0
        default: return Errno.noSys.negated
        }
    }

    /// An id no cell can have: root-only checks first, then "not found".
    private func lookupFailure(_ cpu: CPUID) -> Int64 {
        perCPU[cpu].cellID == rootCell?.id ? Errno.noEntry.negated : Errno.notPermitted.negated
    }

    /// Mirrors `hypervisor_get_info` in hypervisor/control.c.
    func hypervisorGetInfo(_ type: UInt64) -> Int64 {
        switch HypervisorInfo(rawValue: type) {
        case .memPoolSize: Int64(pool.size)
        case .memPoolUsed: Int64(pool.usedCount)
        case .remapPoolSize: Int64(Self.remapPoolPages)
        case .remapPoolUsed: Int64(remapUsed)
        case .numCells: Int64(cellList.count)
        case nil: Errno.invalidArgument.negated
        }
    }

    /// Mirrors `cpu_get_info` in hypervisor/control.c: the CPU must be in the system
    /// config's root set (-EINVAL) before non-root callers are limited to their own CPUs
    /// (-EPERM). State 2 = FAILED, 0 = RUNNING; statistics masked to 31 bits.
    func cpuGetInfo(caller cpu: CPUID, target: UInt64, type: UInt64) -> Int64 {
        guard target < UInt64(perCPU.count), systemCPUs.contains(Int(target)) else { return Errno.invalidArgument.negated }
        let t = Int(target)
        if let mine = cellOf(cpu: cpu), !mine.isRoot, !mine.cpus.contains(t) { return Errno.notPermitted.negated }
        if type == CPUInfo.state { return perCPU[t].failed ? CPUInfo.stateFailed : CPUInfo.stateRunning }
        if type >= CPUInfo.statBase, type - CPUInfo.statBase < UInt64(CPUStatistic.allCases.count) {
            return Int64(perCPU[t].stats[Int(type - CPUInfo.statBase)] & 0x7fff_ffff)
        }
        return Errno.invalidArgument.negated
    }

    /// Mirrors `hypervisor_disable` / `shutdown` in hypervisor/control.c (§4.8): DISABLE
    /// issued on each CPU of `cpus` (in ascending order of arrival).
    ///
    /// The first root CPU to arrive decides for all root CPUs: STARTED when only root is
    /// left, otherwise -EBUSY (each CPU that sees the error takes it and resets its own
    /// state). STARTED CPUs wait until as many CPUs as were online at enable have arrived.
    /// - Returns: each CPU's result, in CPU order.
    /// - Throws: `SimulationHang` when fewer CPUs than `online_cpus` reach the barrier.
    public func disable(from cpus: CPUSet) throws(SimulationHang) -> [Int64] {
        var results: [Int64] = []
        var started = CPUSet()
        var waiting = 0
        for cpu in cpus {
            guard isActive, cpu >= 0, cpu < perCPU.count, perCPU[cpu].active else {
                results.append(Errno.noSys.negated)
                continue
            }
            let r: Int64 = machine.run(on: cpu) {
                let p = perCPU[cpu]
                p.count(.hypercall)
                machine.advance(machine.cost.hypercallEntry)
                record(HypervisorTrace.hypercallDisable, cpu: cpu, a: Int(HypercallCode.disable.rawValue))
                guard let root = rootCell, p.cellID == root.id else {
                    record(HypervisorTrace.hypercallEnd, cpu: cpu, result: .error(.notPermitted), a: Int(HypercallCode.disable.rawValue))
                    return Errno.notPermitted.negated
                }
                if p.shutdownState == 0 {
                    let state: Int64 = cellList.count == 1 ? 1 : Errno.busy.negated
                    for c in root.cpus { perCPU[c].shutdownState = state }
                    record(HypervisorTrace.shutdownState, cpu: cpu, a: Int(state), b: cellList.count)
                }
                if p.shutdownState == 1 { return 1 }
                let e = p.shutdownState
                p.shutdownState = 0
                machine.advance(machine.cost.hypercallExit)
                record(HypervisorTrace.hypercallEnd, cpu: cpu, result: .error(Errno.fromReturn(e) ?? .busy), a: Int(HypercallCode.disable.rawValue))
                return e
            }
            if r == 1 {
                started.insert(cpu)
                waiting += 1
                results.append(0)
            } else {
                results.append(r)
            }
        }
        guard !started.isEmpty else { return results }
        guard waiting >= onlineCPUs else {
            throw SimulationHang(waiter: "hypervisor on cpus \(started.rangeList) in the DISABLE barrier",
                                 reason: "\(waiting) of \(onlineCPUs) CPUs online at enable called DISABLE; the others never will",
                                 machine: machine)
        }
        printk("Shutting down hypervisor\n")
        for u in units.reversed() { u.shutdown(hv: self) }
        let per = perCPU
        let exit = machine.cost.hypercallExit
        machine.broadcast(started) { cpu, ctx in
            let p = per[cpu]
            p.active = false
            p.shutdownState = 0
            p.waitForSIPI = false
            ctx.advance(exit)
            ctx.record(HypervisorTrace.release, result: .ok, a: cpu)
        }
        suspendedCPUs = CPUSet()
        activeCPUs = CPUSet()
        for cpu in started { printk(" Releasing CPU \(cpu)\n") }
        for p in perCPU {
            p.active = false
            p.cellID = nil
            p.shutdownState = 0
        }
        cellList = []
        physIOAPICs = []
        remapUsed = 0
        memoryMap = HVMemoryMap()
        rootPIO = PIOPermissions()
        pool = PagePool(base: 0, pages: 0)
        system = nil
        systemCPUs = CPUSet()
        isActive = false
        record(HypervisorTrace.disable, cpu: started.first, result: .ok, set: started)
        return results
    }
}
