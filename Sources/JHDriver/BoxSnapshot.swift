import JHABI
import JHHypervisor
import JHLinux
import JHMachine

/// Everything a failed operation must leave as it was (jailhouse-behaviour.md §8
/// item 7), read from every layer of the box: the driver's and the hypervisor's cells and
/// CPU owners, `offlined_cpus`, Linux's online mask, kmalloc's live bytes, the
/// hypervisor's pool, the sysfs cell directories, the PCI claims and the lock.
public struct BoxSnapshot: Equatable, Sendable, CustomStringConvertible {
    public var driverCells: [String]
    public var rootCPUs: CPUSet
    public var offlined: CPUSet
    public var online: CPUSet
    public var hvCells: [String]
    public var owners: [UInt32?]
    public var kmallocLive: Int
    public var poolUsed: Int
    public var sysfsCells: [String]
    public var claimed: [PCIAddress]
    public var lockFree: Bool

    public init(_ box: SimulatedBox) {
        let d = box.driver, hv = box.hypervisor
        driverCells = d.cells.map { "\($0.id):\($0.name):\($0.cpusAssigned.rangeList)" }
        rootCPUs = d.rootCell?.cpusAssigned ?? CPUSet()
        offlined = d.offlinedCPUs
        online = box.kernel.online
        hvCells = hv.cells.map { "\($0.id):\($0.name):\($0.cpus.rangeList)" }
        owners = (0..<box.machine.cpuCount).map { hv.owner(of: $0) }
        kmallocLive = box.kernel.kmallocStats.liveBytes
        poolUsed = hv.poolPages.used
        sysfsCells = ((try? box.kernel.sysfs.list(JailhouseDriver.cellsDir)) ?? []).sorted()
        claimed = d.claimedDevices
        lockFree = d.lockIsFree
    }

    /// The part upstream restores after a failed create: it keeps PCI claims (quirk 2)
    /// and onlines admin-offlined CPUs (quirk 3), so those and the derived Linux state
    /// (online set, offlined_cpus, kmalloc of the stub's dynamic ids) are left out.
    public var upstreamRestored: [String] {
        [driverCells.description, hvCells.description, owners.description, "\(poolUsed)",
         rootCPUs.rangeList, sysfsCells.description, "\(lockFree)"]
    }

    public var description: String {
        "cells=\(driverCells) root=\(rootCPUs.rangeList) offlined=\(offlined.rangeList) online=\(online.rangeList) hv=\(hvCells) owners=\(owners.map { $0.map(String.init) ?? "-" }) kmalloc=\(kmallocLive) pool=\(poolUsed) sysfs=\(sysfsCells) claimed=\(claimed) lockFree=\(lockFree)"
    }
}
