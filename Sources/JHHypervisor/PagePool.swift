/// The hypervisor's memory pool: the 4 KiB pages of its window after the core image,
/// the per-CPU areas and the system config copy (`mem_pool` in hypervisor/paging.c).
///
/// Allocation is first fit over a page bitmap, as `page_alloc` scans its bitmap, so a run
/// is a pure function of the sequence of allocations and frees.
struct PagePool: Equatable {
    /// Physical address of page 0 of the pool.
    let base: UInt64
    private var used: [Bool]
    private(set) var usedCount = 0

    init(base: UInt64, pages: Int) {
        self.base = base
        used = Array(repeating: false, count: max(0, pages))
    }

    var size: Int { used.count }

    /// Mirrors `page_alloc` (hypervisor/paging.c): `count` contiguous pages or nil.
    mutating func alloc(_ count: Int) -> UInt64? {
        guard count > 0 else { return base }
        var run = 0
        for i in used.indices {
            run = used[i] ? 0 : run + 1
            if run == count {
                let first = i - count + 1
                for k in first...i { used[k] = true }
                usedCount += count
                return base + UInt64(first) * 4096
            }
        }
        return nil
    }

    /// Mirrors `page_free`.
    mutating func free(_ address: UInt64, _ count: Int) {
        guard count > 0, address >= base else { return }
        let first = Int((address - base) / 4096)
        for k in first..<min(used.count, first + count) where used[k] {
            used[k] = false
            usedCount -= 1
        }
    }
}
