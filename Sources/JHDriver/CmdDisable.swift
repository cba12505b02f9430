import JHABI
import JHHypervisor
import JHLinux
import JHMachine

extension JailhouseDriver {
    /// Mirrors `jailhouse_cmd_disable` in driver/main.c.
    ///
    /// - Throws: -EINTR, -EINVAL (not enabled), the first failing cell destroy's error,
    ///   -EBUSY (a root CPU is offline), and the DISABLE hypercall's error.
    func cmdDisable(_ file: DeviceFile) throws(DriverFailure) {
        do { try lock(file) } catch { throw .errno(error) }
        defer { unlock(file) }
        guard enabled, let root = rootCell else {
            machine.record(DriverTrace.notEnabled, result: .error(.invalidArgument))
            throw .errno(.invalidArgument)
        }

        // Paying back the CPUs the driver still owes Linux is the other half of quirk
        // 5's correction (destroy keeps a CPU whose add_cpu failed in offlined_cpus):
        // with quirk 5 corrected alone, disable must revive it too, or the correction
        // only moves the EBUSY and no single quirk explains the difference.
        if !machine.profile.has(.destroyAddCPUFailureOnlyLogged) {
            for cpu in offlinedCPUs where !cells.contains(where: { $0 !== root && $0.cpusAssigned.contains(cpu) }) {
                if (try? kernel.addCPU(cpu)) != nil { offlinedCPUs.remove(cpu) }
            }
        }
        if !machine.profile.has(.disableNotSideEffectFree) {
            // Refuse before changing anything if a root CPU would be stranded (quirk 4).
            let stranded = root.cpusAssigned.union(nonRootCPUs).subtracting(kernel.online)
                .subtracting(nonRootCPUs.intersection(offlinedCPUs))
            if !stranded.isEmpty {
                log(.err, "jailhouse: CPUs \(stranded.rangeList) are offline; bring them online before disabling")
                throw .errno(.busy)
            }
        }

        try cellDestroyNonRoot(file)
        pciVirtualRootDevicesRemove()

        // With preemption off: every root CPU must be online, or the hypervisor's
        // shutdown barrier would wait for it forever.
        if kernel.online.count != root.cpusAssigned.count {
            machine.record(DriverTrace.disableBusy, result: .error(.busy), text: root.cpusAssigned.rangeList, set: kernel.online)
            throw .errno(.busy)
        }

        let results: [Int64]
        do {
            results = try hypervisor.disable(from: kernel.online)
        } catch {
            throw .hang(error)
        }
        if let error = collectErrorCode(results, step: DriverTrace.leaveHypervisor, cpus: kernel.online) {
            throw .errno(error)
        }

        cellDelete(root)
        rootCell = nil
        enabled = false
        moduleReferences -= 1
        log(.info, "The Jailhouse was closed.")
    }

    /// CPUs held by registered non-root cells.
    var nonRootCPUs: CPUSet {
        cells.filter { $0.id != .root }.reduce(CPUSet()) { $0.union($1.cpusAssigned) }
    }

    /// Mirrors `jailhouse_cmd_cell_destroy_non_root` in driver/cell.c: destroy every
    /// non-root cell in creation order, stopping at the first failure.
    func cellDestroyNonRoot(_ file: DeviceFile) throws(DriverFailure) {
        for cell in cells where cell.id != .root {
            do {
                try cellDestroy(cell, file)
            } catch {
                log(.err, "Jailhouse: failed to destroy cell \"\(cell.name)\"")
                throw error
            }
        }
    }
}
