import JHABI
import JHMachine

extension Hypervisor {
    /// The hypervisor-side invariants of jailhouse-behaviour.md §8 that hold after every
    /// completed operation, as readable violations (empty when all hold).
    ///
    /// Checked: exclusive CPU ownership (8.1), CPU 0 in root (8.5), unique ids and names
    /// with root first (8.6), memory accounting against root (8.8: non-shared regions out of
    /// root, LOADABLE ones in root iff the cell is loadable), and that the pool's used pages
    /// are exactly the pages the cells and the hypervisor hold (no leak beyond quirk 14). Quirk 8 (cells sharing RAM) can make
    /// the memory check fail after one of the sharers is destroyed, as upstream would.
    public func invariantViolations() -> [String] {
        guard isActive, let root = rootCell else { return [] }
        var v: [String] = []
        var seen = CPUSet()
        var ids = Set<UInt32>(), names = Set<[UInt8]>()
        for c in cellList {
            if !c.cpus.isDisjoint(with: seen) { v.append("cell \(c.id) shares CPUs \(c.cpus.intersection(seen).rangeList)") }
            seen.formUnion(c.cpus)
            for cpu in c.cpus where cpu >= perCPU.count || perCPU[cpu].cellID != c.id {
                v.append("cpu\(cpu) is in cell \(c.id)'s set but owned by \(cpu < perCPU.count ? String(describing: perCPU[cpu].cellID) : "nobody")")
            }
            if !ids.insert(c.id).inserted { v.append("duplicate cell id \(c.id)") }
            if !names.insert(c.config.nameBytes).inserted { v.append("duplicate cell name \(c.name)") }
        }
        if seen != systemCPUs { v.append("cells hold CPUs \(seen.rangeList), the system has \(systemCPUs.rangeList)") }
        if !cellList[0].isRoot { v.append("root is not first") }
        if systemCPUs.contains(0) && !root.cpus.contains(0) { v.append("cpu0 left the root cell") }
        let rootRegions = root.memoryRegions.filter { $0.size > 0 && !$0.isSubpage && !$0.flags.contains(.commRegion) }
        for c in cellList where !c.isRoot {
            for r in c.config.memoryRegions where r.size > 0 && !r.isSubpage
                && !r.flags.contains(.commRegion) && !r.flags.contains(.rootShared) {
                let shouldMap = c.loadable && r.flags.contains(.loadable)
                for rr in rootRegions {
                    let s = max(r.physStart, rr.physStart), e = min(r.physEnd, rr.physEnd)
                    guard s < e else { continue }
                    if shouldMap && !memoryMap.maps(root.id, s, e - s) {
                        v.append("loadable region 0x\(String(s, radix: 16)) of cell \(c.id) is not mapped in root")
                    } else if !shouldMap && memoryMap.mapsAny(root.id, s, e - s) {
                        v.append("region 0x\(String(s, radix: 16)) of cell \(c.id) is still mapped in root")
                    }
                }
            }
        }
        let held = cellList.reduce(0) { $0 + $1.allocations.reduce(0) { $0 + $1.pages } }
        // Upstream's known leaks (quirk 14) are counted, not reported: they are the quirk.
        if held + globalPages + leakedPages != pool.usedCount {
            v.append("pool has \(pool.usedCount) pages used, cells hold \(held), the hypervisor \(globalPages + leakedPages)")
        }
        return v
    }
}
