import Testing
import JHMachine
@testable import JHHypervisor

/// The page pool and the memory map keep word-wise bitmaps and reused buffers; these
/// compare them with page-at-a-time reference models over long seeded sequences, so a
/// stale scan hint or a buffer reused across updates would show up as a difference.
@Suite struct PoolAndMapTests {
    /// First fit over one Bool per page: what `page_alloc` does.
    struct ReferencePool {
        var used: [Bool]
        mutating func alloc(_ count: Int) -> Int? {
            var run = 0
            for i in used.indices {
                run = used[i] ? 0 : run + 1
                if run == count {
                    for k in (i - count + 1)...i { used[k] = true }
                    return i - count + 1
                }
            }
            return nil
        }
        mutating func free(_ first: Int, _ count: Int) {
            for k in first..<min(used.count, first + count) { used[k] = false }
        }
    }

    @Test func poolAllocatesTheLowestFreeRunLikeAPageScanOverManyCycles() {
        var rng = SplitMix64(seed: 42)
        // 1000 pages: not a multiple of 64, so the last word is partly outside the pool.
        var pool = PagePool(base: 0x10_0000, pages: 1000)
        var ref = ReferencePool(used: Array(repeating: false, count: 1000))
        var held: [(UInt64, Int)] = []
        for step in 0..<20_000 {
            if held.isEmpty || rng.next() % 3 != 0 {
                let count = Int(rng.next() % 70) + 1
                let got = pool.alloc(count)
                let want = ref.alloc(count)
                #expect(got == want.map { 0x10_0000 + UInt64($0) * 4096 }, "step \(step): alloc(\(count))")
                if let got { held.append((got, count)) }
            } else {
                let (a, n) = held.remove(at: Int(rng.next() % UInt64(held.count)))
                pool.free(a, n)
                ref.free(Int((a - 0x10_0000) / 4096), n)
            }
            if step % 500 == 0 {
                #expect(pool.usedCount == ref.used.filter { $0 }.count)
                #expect((0..<1000).allSatisfy { pool.isUsed($0) == ref.used[$0] })
            }
        }
        #expect(pool.usedCount == ref.used.filter { $0 }.count)
    }

    @Test func poolFreeOfPagesNotInUseChangesNothing() {
        var pool = PagePool(base: 0, pages: 130)
        #expect(pool.alloc(65) == 0)
        pool.free(64 * 4096, 10)  // pages 64…73: only 64 was in use
        #expect(pool.usedCount == 64)
        #expect(pool.alloc(1) == 64 * 4096)
        #expect(pool.alloc(70) == nil, "65 pages are left, not 70")
        #expect(pool.alloc(65) == 65 * 4096)
        #expect(pool.alloc(1) == nil)
    }

    /// Which cells map each page, one set per page.
    struct ReferenceMap {
        var pages: [Int: Set<UInt32>] = [:]
        mutating func update(_ cell: UInt32, _ start: UInt64, _ size: UInt64, add: Bool) {
            var p = Int(start / 4096)
            let end = Int((start + size + 4095) / 4096)
            while p < end {
                if add { pages[p, default: []].insert(cell) } else { pages[p]?.remove(cell) }
                if pages[p]?.isEmpty == true { pages[p] = nil }
                p += 1
            }
        }
    }

    @Test func memoryMapMatchesAPageByPageModelOverManyUpdates() {
        var rng = SplitMix64(seed: 7)
        var map = HVMemoryMap()
        var ref = ReferenceMap()
        for step in 0..<6_000 {
            // Six cells over 256 pages, so owner sets of more than four cells occur.
            let cell = UInt32(rng.next() % 6)
            let first = rng.next() % 256, n = rng.next() % 40 + 1
            let add = rng.next() % 2 == 0
            if add { map.map(cell, first * 4096, n * 4096) } else { map.unmap(cell, first * 4096, n * 4096) }
            ref.update(cell, first * 4096, n * 4096, add: add)
            if step % 100 == 0 {
                for page in 0..<300 {
                    let want = ref.pages[page].map { $0.sorted() } ?? []
                    #expect(map.cells(at: UInt64(page) * 4096 + 17) == want, "step \(step), page \(page)")
                }
                // Runs are sorted, non-empty, owned and merged with equal neighbours.
                let segs = Array(map.segments)
                #expect(segs.allSatisfy { $0.start < $0.end && !$0.cells.isEmpty })
                #expect(zip(segs, segs.dropFirst()).allSatisfy { a, b in
                    a.end <= b.start && (a.end < b.start || a.cells != b.cells)
                })
            }
        }
    }

    @Test func memoryMapCopiesAreIndependentValues() {
        var map = HVMemoryMap()
        map.map(0, 0, 0x10_0000)
        let before = map
        map.unmap(0, 0x4000, 0x2000)
        map.map(1, 0x4000, 0x1000)
        #expect(before.cells(at: 0x4000) == [0])
        #expect(map.cells(at: 0x4000) == [1])
        #expect(map != before)
        map.unmap(1, 0x4000, 0x1000)
        map.map(0, 0x4000, 0x2000)
        #expect(map == before, "equal runs compare equal whatever buffers they came through")
    }
}
