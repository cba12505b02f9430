import JHABI
import JHHypervisor
import JHLinux
import JHMachine

extension SimulatedBox {
    /// Checks the invariants of jailhouse-behaviour.md §8 that span layers, after a
    /// completed operation (none may be in flight). Known upstream quirks that break an
    /// invariant on purpose are exempted only in the profile that has them.
    /// - Returns: one line per violation; empty when the box is consistent.
    public func invariantViolations() -> [String] {
        var v = hypervisor.invariantViolations()
        let profile = machine.profile
        let d = driver

        // 11, 12: the enabled flag and the module reference.
        if d.enabled != (d.rootCell?.registered == true && hypervisor.isActive) {
            v.append("enabled=\(d.enabled) but root registered=\(d.rootCell?.registered == true) hypervisor active=\(hypervisor.isActive)")
        }
        if d.moduleReferences != (d.enabled ? 1 : 0) {
            v.append("module references \(d.moduleReferences) while enabled=\(d.enabled)")
        }
        // 9: the lock is free between operations.
        if !d.lockIsFree { v.append("jailhouse_lock is held with no operation in flight") }

        guard d.enabled, let root = d.rootCell else {
            if !d.offlinedCPUs.isEmpty && !profile.has(.createRollbackOnlinesAllCPUs) {
                v.append("offlined_cpus \(d.offlinedCPUs.rangeList) while disabled")
            }
            return v
        }

        // 2, 6: driver view equals hypervisor view.
        let hvCells = hypervisor.cells
        let driverPairs = d.cells.map { "\($0.id):\($0.name)" }
        let hvPairs = hvCells.map { "\($0.id):\($0.name)" }
        if driverPairs != hvPairs && !profile.has(.rootIDFromSystemConfig) {
            v.append("driver cells \(driverPairs) != hypervisor cells \(hvPairs)")
        }
        for cell in d.cells {
            guard let hv = hvCells.first(where: { $0.id == cell.id.rawValue }) else { continue }
            if hv.cpus != cell.cpusAssigned {
                v.append("cell \(cell.id): driver CPUs \(cell.cpusAssigned.rangeList) != hypervisor CPUs \(hv.cpus.rangeList)")
            }
        }

        // 3: offlined_cpus means "taken down by the driver for a living non-root cell".
        let nonRoot = d.nonRootCPUs
        let staleAllowed = profile.has(.createRollbackOnlinesAllCPUs) || !profile.has(.destroyAddCPUFailureOnlyLogged)
        if !d.offlinedCPUs.isSubset(of: nonRoot) && !staleAllowed {
            v.append("offlined_cpus \(d.offlinedCPUs.rangeList) not within non-root CPUs \(nonRoot.rangeList)")
        }
        // A stale bit (a CPU no non-root cell holds: quirk 3's failed rollback add_cpu, or
        // the fixed profile's CPU owed back at disable) does not stop the admin from
        // onlining that CPU by hand; only CPUs of living cells must stay offline.
        let mustBeOffline = staleAllowed ? d.offlinedCPUs.intersection(nonRoot) : d.offlinedCPUs
        if !mustBeOffline.isDisjoint(with: kernel.online) {
            v.append("CPUs \(mustBeOffline.intersection(kernel.online).rangeList) are in offlined_cpus but online")
        }
        if !nonRoot.isDisjoint(with: kernel.online) {
            v.append("non-root CPUs \(nonRoot.intersection(kernel.online).rangeList) are online in Linux")
        }
        // 4: every online CPU belongs to the root.
        if !kernel.online.isSubset(of: root.cpusAssigned) {
            v.append("online CPUs \(kernel.online.subtracting(root.cpusAssigned).rangeList) are not in the root cell")
        }
        // 5: x86 keeps CPU 0 in the root.
        if !root.cpusAssigned.contains(0) { v.append("CPU 0 left the root cell") }

        // 6: sysfs mirrors the registered cells; each CPU's statistics sit under its owner.
        let dirs = ((try? kernel.sysfs.list(JailhouseDriver.cellsDir)) ?? []).sorted()
        let expected = d.cells.map { "\($0.id)" }.sorted()
        if dirs != expected { v.append("sysfs cells \(dirs) != registered \(expected)") }
        for cell in d.cells {
            let stats = Set(((try? kernel.sysfs.list(d.cellDir(cell) + "/statistics")) ?? []).filter { $0.hasPrefix("cpu") })
            let want = Set(cell.cpusAssigned.map { "cpu\($0)" })
            if stats != want {
                v.append("cell \(cell.id) statistics has \(stats.sorted()), expected \(want.sorted())")
            }
        }
        return v
    }
}
