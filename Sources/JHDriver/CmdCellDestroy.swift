import JHABI
import JHHypervisor
import JHLinux
import JHMachine

extension JailhouseDriver {
    /// Mirrors `jailhouse_cmd_cell_destroy` in driver/cell.c.
    ///
    /// - Throws: -EFAULT, -EINTR, -EINVAL (not enabled, root cell), -ENOENT and the
    ///   CELL_DESTROY hypercall's error (-EPERM when the cell refuses).
    func cmdCellDestroy(_ file: DeviceFile, _ arg: UInt64) throws(DriverFailure) {
        let bytes: [UInt8]
        do { bytes = try copyFromUser(file, arg, IoctlLayout.cellIDSize) } catch { throw .errno(.badAddress) }
        let cell: DriverCell
        do { cell = try cellManagementPrologue(CellIDArg(bytes), file) } catch { throw .errno(error) }
        defer { unlock(file) }
        try cellDestroy(cell, file)
    }

    /// Mirrors `cell_destroy` in driver/cell.c (also used by disable): the hypercall,
    /// then CPUs back to Linux and the root, PCI release, delete.
    ///
    /// Upstream (quirk 5) only logs a failed `add_cpu` and forgets the CPU; the fixed
    /// profile keeps it in `offlined_cpus` so that disable brings it back.
    func cellDestroy(_ cell: DriverCell, _ file: DeviceFile) throws(DriverFailure) {
        let result = try hypercall(file, .cellDestroy, UInt64(cell.id.rawValue))
        if result != 0 { throw .errno(Errno(rawValue: Int32(truncatingIfNeeded: -result))) }

        let upstream = machine.profile.has(.destroyAddCPUFailureOnlyLogged)
        for cpu in cell.cpusAssigned {
            if offlinedCPUs.contains(cpu) {
                var ok = true
                do {
                    try bringUp(cpu)
                } catch {
                    ok = false
                    log(.err, "Jailhouse: failed to bring CPU \(cpu) back online")
                }
                machine.record(kernel.version.driverUsesCPUDownUp ? DriverTrace.cpuUp : DriverTrace.addCPU,
                               result: ok ? .ok : .error(.ioError), a: cpu)
                // Fixed: owed unless a failed rollback left it in cpu_online_mask anyway.
                if ok || upstream || kernel.online.contains(cpu) {
                    offlinedCPUs.remove(cpu)
                    machine.record(DriverTrace.offlinedCPUsClear, a: cpu, set: offlinedCPUs)
                }
            } else {
                // Not taken by the driver (the admin had offlined it): it stays offline.
                machine.record(DriverTrace.notOfflinedByDriver, a: cpu)
            }
            if let root = rootCell {
                root.cpusAssigned.insert(cpu)
                machine.record(DriverTrace.rootCPUSet, a: cpu, set: root.cpusAssigned)
            }
        }
        _ = pciDoAllDevices(cell, type: .device, action: .release)
        log(.info, LogLine(Self.destroyedCellMessage, string: cell.name))
        cellDelete(cell)
    }
}

extension JailhouseDriver {
    /// Gives a CPU back to Linux as the kernel's driver path does it: `add_cpu` (through
    /// the CPU device, Linux ≥ 5.7) or the seed's exported `cpu_up` (device bypassed) —
    /// the call `cell_destroy` and `error_cpu_online` make in driver/cell.c.
    /// - Throws: the hotplug error. `add_cpu`'s "already online" (C: 1) is not treated as
    ///   a failure (the callers bring up only CPUs Linux has offline).
    func bringUp(_ cpu: CPUID) throws(Errno) {
        if kernel.version.driverUsesCPUDownUp {
            try kernel.cpuUpExported(cpu)
        } else {
            try kernel.addCPU(cpu)
        }
    }

    /// The fixed profile's online notifier: a CPU the driver still owes Linux (kept in
    /// `offlined_cpus` after a failed `add_cpu`, see `cellDestroy`) that comes online by
    /// another path — the admin's `echo 1 > online` — is paid back, so its bit goes.
    /// That keeps §8 item 3's "a CPU in offlined_cpus is never online" exact. Upstream
    /// registers no such callback (and forgets the CPU at once, quirk 5).
    func cpuCameOnline(_ cpu: CPUID) {
        guard !machine.profile.has(.destroyAddCPUFailureOnlyLogged), offlinedCPUs.contains(cpu),
              !cells.contains(where: { $0 !== rootCell && $0.cpusAssigned.contains(cpu) }) else { return }
        offlinedCPUs.remove(cpu)
        machine.record(DriverTrace.offlinedCPUsPaid, a: cpu, set: offlinedCPUs)
    }
}
