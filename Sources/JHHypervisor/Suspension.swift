import JHABI
import JHMachine

extension Hypervisor {
    /// Mirrors `cell_suspend` (hypervisor/control.c) with x86 `suspend_cpu`
    /// (hypervisor/arch/x86/control.c): every CPU of `cell` except the caller gets an
    /// NMI, acknowledges on its own thread, sets its `cpu_suspended` and counts a
    /// management exit. It then waits inside the hypervisor — as state, not a blocked thread.
    func cellSuspend(_ cell: HVCell, caller: CPUID) {
        var targets = cell.cpus.intersection(activeCPUs)
        targets.subtract(suspendedCPUs)
        targets.remove(caller)
        record(HypervisorTrace.cellSuspend, cpu: caller, a: Int(cell.id), set: targets)
        guard !targets.isEmpty else { return }
        let phase = machine.beginPhase(.suspension)
        defer { machine.endPhase(phase) }
        let per = perCPU
        // Only the acknowledgement is per CPU (its NMI exit, counted on its own thread).
        if let dispatch = machine.executor as? DispatchExecutor {
            machine.broadcastAck(targets, cost: machine.cost.ipi, record: HypervisorTrace.suspended) { cpu in
                let p = per[cpu]
                p.count(.management)
                p.ackThread = dispatch.currentCPU
                p.ackCount += 1
            }
        } else {
            machine.broadcastAck(targets, cost: machine.cost.ipi, record: HypervisorTrace.suspended) { cpu in
                let p = per[cpu]
                p.count(.management)
                p.ackCount += 1
            }
        }
        suspendedCPUs.formUnion(targets)
    }

    /// Mirrors `cell_resume`: clears `suspend_cpu` of every CPU of `cell` except the caller;
    /// each leaves its wait (parked CPUs stay parked).
    func cellResume(_ cell: HVCell, caller: CPUID) {
        var resumed = cell.cpus.intersection(suspendedCPUs)
        resumed.remove(caller)
        suspendedCPUs.subtract(resumed)
        record(HypervisorTrace.cellResume, cpu: caller, a: Int(cell.id), set: resumed)
    }

    /// Mirrors `arch_park_cpu` (x86): INIT then resume; the CPU enters wait-for-SIPI on its
    /// own thread.
    func parkCPU(_ cpu: CPUID) {
        let p = perCPU[cpu]
        suspendedCPUs.remove(cpu)
        let phase = machine.beginPhase(.park)
        defer { machine.endPhase(phase) }
        machine.run(on: cpu) {
            p.waitForSIPI = true
            machine.advance(machine.cost.ipi)
            record(HypervisorTrace.park, cpu: cpu, result: .ok, a: cpu)
        }
    }

    /// Mirrors `arch_reset_cpu` (x86): pseudo-SIPI, the vCPU restarts at the cell's
    /// `cpu_reset_address` in real mode (CS base = address & ~0xffff, IP = address & 0xffff).
    func resetCPU(_ cpu: CPUID, address: UInt64) {
        let p = perCPU[cpu]
        suspendedCPUs.remove(cpu)
        machine.run(on: cpu) {
            p.waitForSIPI = false
            machine.advance(machine.cost.ipi)
            record(HypervisorTrace.reset, cpu: cpu, result: .ok, a: cpu, b: (address & ~0xffff).traceBits, c: (address & 0xffff).traceBits)
        }
    }

    /// Mirrors `cell_reconfig_ok`: false if any non-root cell other than `excluded` is
    /// RUNNING_LOCKED.
    func reconfigOK(excluding excluded: HVCell?) -> Bool {
        !cellList.contains { !$0.isRoot && $0 !== excluded && cellState($0) == .runningLocked }
    }

    /// Mirrors `cell_reconfig_completed`: RECONFIG_COMPLETED to every non-root cell; the
    /// answers are ignored.
    func reconfigCompleted(caller: CPUID) throws(SimulationHang) {
        for c in cellList where !c.isRoot {
            _ = try exchangeMessage(c, .reconfigCompleted, request: false, caller: caller)
        }
    }

    /// Virtual time of `n` steps of `d`, saturating.
    func times(_ d: VirtualDuration, _ n: UInt64) -> VirtualDuration {
        let r = d.nanoseconds.multipliedReportingOverflow(by: n)
        return .ns(r.overflow ? .max / 2 : r.partialValue)
    }

    /// Charges mapping or unmapping `size` bytes: one entry per 2 MiB page where the range
    /// allows huge pages, otherwise per 4 KiB page.
    func chargeMapping(_ r: HVMemoryRegion, size: UInt64) {
        let huge: UInt64 = 2 << 20
        let entries: UInt64
        if !r.flags.contains(.noHugepages), r.physStart % huge == 0, r.virtStart % huge == 0 {
            entries = size / huge + (size % huge + 4095) / 4096
        } else {
            entries = (size + 4095) / 4096
        }
        machine.advance(times(machine.cost.pageMap, entries))
    }
}
