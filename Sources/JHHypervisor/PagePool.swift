/// The hypervisor's memory pool: the 4 KiB pages of its window after the core image,
/// the per-CPU areas and the system config copy (`mem_pool` in hypervisor/paging.c).
///
/// Allocation is first fit over a page bitmap, as `page_alloc` scans its bitmap, so a run
/// is a pure function of the sequence of allocations and frees.
///
/// The bitmap is kept in 64-page words and the scan starts at a lower bound of the first
/// free page: on a large machine the per-CPU areas at the start of the pool are thousands
/// of used pages, which a page-at-a-time scan would walk on every allocation.
struct PagePool: Equatable {
    /// Physical address of page 0 of the pool.
    let base: UInt64
    /// Number of pages.
    let size: Int
    /// Bit k of word w set: page 64w + k is in use. Bits past `size` stay clear.
    private var words: [UInt64]
    private(set) var usedCount = 0
    /// No page below this index is free (a lower bound, not necessarily exact).
    private var firstFreeHint = 0

    init(base: UInt64, pages: Int) {
        self.base = base
        size = max(0, pages)
        words = [UInt64](repeating: 0, count: (size + 63) / 64)
    }

    /// Equal pools have the same pages in use (the scan hint is not part of the value).
    static func == (a: PagePool, b: PagePool) -> Bool {
        a.base == b.base && a.size == b.size && a.usedCount == b.usedCount && a.words == b.words
    }

    /// Whether page `i` is in use (for tests and invariants).
    func isUsed(_ i: Int) -> Bool { words[i >> 6] & (1 << UInt64(i & 63)) != 0 }

    /// The first page at or after `i` whose used bit equals `used`, or `limit` if none
    /// before `limit` (≤ size).
    private func next(_ used: Bool, from i: Int, limit: Int) -> Int {
        var at = i
        while at < limit {
            let w = at >> 6
            // Bits of the word that are `used`-valued, from `at` on.
            var bits = used ? words[w] : ~words[w]
            bits &= ~UInt64(0) << UInt64(at & 63)
            if bits != 0 { return min(limit, (w << 6) + bits.trailingZeroBitCount) }
            at = (w + 1) << 6
        }
        return limit
    }

    /// Mirrors `page_alloc` (hypervisor/paging.c): `count` contiguous pages or nil.
    /// The lowest run of `count` free pages, as the C bitmap scan finds it.
    mutating func alloc(_ count: Int) -> UInt64? {
        guard count > 0 else { return base }
        var start = next(false, from: firstFreeHint, limit: size)
        if start == size { firstFreeHint = size; return nil }
        firstFreeHint = start
        while start + count <= size {
            let end = next(true, from: start, limit: start + count)
            if end == start + count {
                setRange(start, count)
                usedCount += count
                if start == firstFreeHint { firstFreeHint = start + count }
                return base + UInt64(start) * 4096
            }
            start = next(false, from: end, limit: size)
        }
        return nil
    }

    /// Marks `[first, first + count)` used (all of it known free).
    private mutating func setRange(_ first: Int, _ count: Int) {
        var i = first
        let end = first + count
        while i < end {
            let w = i >> 6, lo = i & 63
            let n = min(64 - lo, end - i)
            let mask: UInt64 = (n == 64 ? ~0 : ((1 << UInt64(n)) - 1)) << UInt64(lo)
            words[w] |= mask
            i += n
        }
    }

    /// Mirrors `page_free`.
    mutating func free(_ address: UInt64, _ count: Int) {
        guard count > 0, address >= base else { return }
        let first = Int((address - base) / 4096)
        let end = min(size, first + count)
        guard first < end else { return }
        var i = first
        while i < end {
            let w = i >> 6, lo = i & 63
            let n = min(64 - lo, end - i)
            let mask: UInt64 = (n == 64 ? ~0 : ((1 << UInt64(n)) - 1)) << UInt64(lo)
            usedCount -= (words[w] & mask).nonzeroBitCount
            words[w] &= ~mask
            i += n
        }
        if first < firstFreeHint { firstFreeHint = first }
    }
}
