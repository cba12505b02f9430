import JHABI
import JHHypervisor
import JHLinux
import JHMachine

extension SimulatedBox {
    /// Checks the invariants of jailhouse-behaviour.md §8 that span layers, after a
    /// completed operation (none may be in flight). Known upstream quirks that break an
    /// invariant on purpose are left out, only in the profile that has them
    /// (`invariantFindings()` names them instead).
    /// - Returns: one line per violation; empty when the box is consistent.
    public func invariantViolations() -> [String] {
        invariantFindings().filter { $0.quirk == nil }.map(\.message)
    }

    /// Every broken §8 invariant, each with the profile quirk that explains it (nil for a
    /// real violation). A quirk is named only in a profile that has it.
    public func invariantFindings() -> [InvariantFinding] {
        var v = hypervisor.invariantViolations().map { InvariantFinding($0) }
        let profile = machine.profile
        let d = driver
        func quirk(_ q: Quirk) -> Quirk? { profile.has(q) ? q : nil }
        func add(_ message: String, _ q: Quirk? = nil) { v.append(InvariantFinding(message, quirk: q)) }

        // 11, 12: the enabled flag and the module reference.
        if d.enabled != (d.rootCell?.registered == true && hypervisor.isActive) {
            add("enabled=\(d.enabled) but root registered=\(d.rootCell?.registered == true) hypervisor active=\(hypervisor.isActive)")
        }
        if d.moduleReferences != (d.enabled ? 1 : 0) {
            add("module references \(d.moduleReferences) while enabled=\(d.enabled)")
        }
        // 9: the lock is free between operations.
        if !d.lockIsFree { add("jailhouse_lock is held with no operation in flight") }

        guard d.enabled, let root = d.rootCell else {
            if !d.offlinedCPUs.isEmpty {
                add("offlined_cpus \(d.offlinedCPUs.rangeList) while disabled", quirk(.createRollbackOnlinesAllCPUs))
            }
            return v
        }

        // 2, 6: driver view equals hypervisor view.
        let hvCells = hypervisor.cells
        let driverPairs = d.cells.map { "\($0.id):\($0.name)" }
        let hvPairs = hvCells.map { "\($0.id):\($0.name)" }
        if driverPairs != hvPairs {
            add("driver cells \(driverPairs) != hypervisor cells \(hvPairs)", quirk(.rootIDFromSystemConfig))
        }
        for cell in d.cells {
            guard let hv = hvCells.first(where: { $0.id == cell.id.rawValue }) else { continue }
            if hv.cpus != cell.cpusAssigned {
                add("cell \(cell.id): driver CPUs \(cell.cpusAssigned.rangeList) != hypervisor CPUs \(hv.cpus.rangeList)")
            }
        }

        // 3: offlined_cpus holds the CPUs the driver took offline and has not brought
        // back: those of living non-root cells and, in the fixed profile, a CPU whose
        // `add_cpu` failed at destroy (owed to Linux until disable, or until it comes
        // online by another path, which pays the debt). A CPU in it is never online.
        // Upstream's failed rollback `add_cpu` leaves a stale bit (quirk 3), which the
        // admin may then online by hand.
        let nonRoot = d.nonRootCPUs
        let upstreamStale = quirk(.createRollbackOnlinesAllCPUs)
        if !d.offlinedCPUs.isSubset(of: nonRoot) && profile.has(.destroyAddCPUFailureOnlyLogged) {
            add("offlined_cpus \(d.offlinedCPUs.rangeList) not within non-root CPUs \(nonRoot.rangeList)", upstreamStale)
        }
        let onlineOwed = d.offlinedCPUs.intersection(kernel.online)
        if !onlineOwed.isEmpty {
            // A living cell's CPU online is a real violation in every profile.
            add("CPUs \(onlineOwed.rangeList) are in offlined_cpus but online",
                onlineOwed.isDisjoint(with: nonRoot) ? upstreamStale : nil)
        }
        if !nonRoot.isDisjoint(with: kernel.online) {
            add("non-root CPUs \(nonRoot.intersection(kernel.online).rangeList) are online in Linux")
        }
        // 4: every online CPU belongs to the root.
        if !kernel.online.isSubset(of: root.cpusAssigned) {
            add("online CPUs \(kernel.online.subtracting(root.cpusAssigned).rangeList) are not in the root cell")
        }
        // 5: x86 keeps CPU 0 in the root.
        if !root.cpusAssigned.contains(0) { add("CPU 0 left the root cell") }

        // 6: sysfs mirrors the registered cells; each CPU's statistics sit under its owner.
        let dirs = ((try? kernel.sysfs.list(JailhouseDriver.cellsDir)) ?? []).sorted()
        let expected = d.cells.map { "\($0.id)" }.sorted()
        if dirs != expected { add("sysfs cells \(dirs) != registered \(expected)") }
        for cell in d.cells {
            let stats = Set(((try? kernel.sysfs.list(d.cellDir(cell) + "/statistics")) ?? []).filter { $0.hasPrefix("cpu") })
            let want = Set(cell.cpusAssigned.map { "cpu\($0)" })
            if stats != want {
                add("cell \(cell.id) statistics has \(stats.sorted()), expected \(want.sorted())")
            }
        }
        return v
    }
}

/// One broken invariant, with the profile quirk that explains it (nil: a real violation).
public struct InvariantFinding: Sendable, Hashable {
    public var message: String
    public var quirk: Quirk?
    public init(_ message: String, quirk: Quirk? = nil) { self.message = message; self.quirk = quirk }
}
