/// Which cells map each 4 KiB physical page: the union of every cell's second-level
/// page tables, kept as sorted non-overlapping ranges so a 1 GiB region costs one entry.
///
/// The root cell is mapped 1:1, so for it physical and guest-physical ranges coincide;
/// non-root cells are recorded by the physical pages their regions cover.
///
/// Mapping and unmapping rebuild the run list into a second buffer the map keeps, in one
/// ordered pass, and swap the two: a create/destroy cycle allocates nothing here once the
/// buffers have grown, and owner sets of up to four cells live inline in each run.
public struct HVMemoryMap: Hashable, Sendable, CustomStringConvertible {
    /// One run of pages `[start, end)` mapped by exactly the cells in `owners`.
    public struct Segment: Hashable, Sendable {
        public var start: UInt64
        public var end: UInt64
        var owners: OwnerSet
        /// The cells mapping the run, ascending.
        public var cells: [UInt32] { owners.ids }
    }

    /// A sorted set of cell ids: up to four inline, more in `overflow` (then all of them
    /// are there and the inline lanes stay zero, so equal sets have one representation).
    struct OwnerSet: Hashable, Sendable {
        private var inline = SIMD4<UInt32>()
        private(set) var count = 0
        private var overflow: [UInt32] = []

        static let empty = OwnerSet()
        var isEmpty: Bool { count == 0 }

        var ids: [UInt32] { count <= 4 ? (0..<count).map { inline[$0] } : overflow }

        func contains(_ id: UInt32) -> Bool {
            if count > 4 { return overflow.contains(id) }
            for k in 0..<count where inline[k] == id { return true }
            return false
        }

        func inserting(_ id: UInt32) -> OwnerSet {
            if contains(id) { return self }
            var all = ids
            all.insert(id, at: all.firstIndex { $0 > id } ?? all.count)
            return OwnerSet(all)
        }

        func removing(_ id: UInt32) -> OwnerSet {
            guard contains(id) else { return self }
            if count <= 4 {
                // The common case, without building an array.
                var r = OwnerSet()
                for k in 0..<count where inline[k] != id { r.inline[r.count] = inline[k]; r.count += 1 }
                return r
            }
            return OwnerSet(overflow.filter { $0 != id })
        }

        private init() {}
        private init(_ sorted: [UInt32]) {
            count = sorted.count
            if count > 4 { overflow = sorted } else { for k in 0..<count { inline[k] = sorted[k] } }
        }
    }

    public private(set) var segments: ContiguousArray<Segment> = []
    /// The other buffer of the double-buffered rebuild; always empty between updates.
    private var spare: ContiguousArray<Segment> = []

    public init() {}

    public static func == (a: HVMemoryMap, b: HVMemoryMap) -> Bool { a.segments == b.segments }
    public func hash(into h: inout Hasher) { h.combine(segments) }

    /// Index of the first run that ends after `address`.
    private func firstIndex(endingAfter address: UInt64) -> Int {
        var lo = 0, hi = segments.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if segments[mid].end <= address { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The cells that map the page holding `address`.
    public func cells(at address: UInt64) -> [UInt32] {
        let i = firstIndex(endingAfter: address)
        if i < segments.count, segments[i].start <= address { return segments[i].cells }
        return []
    }

    /// Number of 4 KiB pages `cell` maps.
    public func pages(of cell: UInt32) -> UInt64 {
        segments.reduce(0) { $0 + ($1.owners.contains(cell) ? ($1.end - $1.start) / 4096 : 0) }
    }

    /// Whether `cell` maps every page of `[start, start+size)`.
    public func maps(_ cell: UInt32, _ start: UInt64, _ size: UInt64) -> Bool {
        let (s, e) = Self.pageRange(start, size)
        var at = s
        var i = firstIndex(endingAfter: s)
        while i < segments.count, segments[i].start < e {
            let seg = segments[i]
            if seg.start > at || !seg.owners.contains(cell) { return false }
            at = seg.end
            i += 1
        }
        return at >= e
    }

    /// Whether `cell` maps any page of `[start, start+size)`.
    public func mapsAny(_ cell: UInt32, _ start: UInt64, _ size: UInt64) -> Bool {
        let (s, e) = Self.pageRange(start, size)
        var i = firstIndex(endingAfter: s)
        while i < segments.count, segments[i].start < e {
            if segments[i].owners.contains(cell) { return true }
            i += 1
        }
        return false
    }

    static func pageRange(_ start: UInt64, _ size: UInt64) -> (UInt64, UInt64) {
        let s = start & ~4095
        let endRaw = start.addingReportingOverflow(size)
        let e = endRaw.overflow ? UInt64.max & ~4095 : (endRaw.partialValue &+ 4095) & ~4095
        return (s, max(s, e))
    }

    /// Adds `cell` to the pages of the range.
    mutating func map(_ cell: UInt32, _ start: UInt64, _ size: UInt64) {
        update(start, size, cell, add: true)
    }
    /// Removes `cell` from the pages of the range; pages it does not map stay as they are.
    mutating func unmap(_ cell: UInt32, _ start: UInt64, _ size: UInt64) {
        update(start, size, cell, add: false)
    }

    /// Rebuilds the run list with `cell` added to (or removed from) every page of the
    /// range, in one ordered pass into the spare buffer: runs outside the range are copied,
    /// runs crossing its edges are split, holes inside it become runs of their own, runs
    /// left without owners are dropped and neighbours with equal owners merged.
    private mutating func update(_ start: UInt64, _ size: UInt64, _ cell: UInt32, add: Bool) {
        let (s, e) = Self.pageRange(start, size)
        guard s < e else { return }
        var out = spare
        spare = []
        out.removeAll(keepingCapacity: true)
        func changed(_ o: OwnerSet) -> OwnerSet { add ? o.inserting(cell) : o.removing(cell) }
        func emit(_ start: UInt64, _ end: UInt64, _ owners: OwnerSet) {
            guard start < end, !owners.isEmpty else { return }
            if let last = out.last, last.end == start, last.owners == owners {
                out[out.count - 1].end = end
            } else {
                out.append(Segment(start: start, end: end, owners: owners))
            }
        }
        let hole = changed(.empty)
        var at = s
        var rangeDone = false
        for seg in segments {
            if seg.end <= s { emit(seg.start, seg.end, seg.owners); continue }
            if seg.start >= e {
                if !rangeDone { emit(at, e, hole); rangeDone = true }
                emit(seg.start, seg.end, seg.owners)
                continue
            }
            if seg.start < s { emit(seg.start, s, seg.owners) }
            let ls = max(seg.start, s), le = min(seg.end, e)
            if at < ls { emit(at, ls, hole) }
            emit(ls, le, changed(seg.owners))
            at = le
            if seg.end > e {
                rangeDone = true
                emit(e, seg.end, seg.owners)
            }
        }
        if !rangeDone { emit(at, e, hole) }
        swap(&segments, &out)
        out.removeAll(keepingCapacity: true)
        spare = out
    }

    public var description: String {
        segments.map { "0x\(String($0.start, radix: 16))-0x\(String($0.end, radix: 16)):\($0.cells.map(String.init).joined(separator: ","))" }
            .joined(separator: " ")
    }
}

/// The set of x86 I/O ports a cell may access directly (its I/O bitmap), 65536 bits.
public struct PIOPermissions: Hashable, Sendable {
    private var words = [UInt64](repeating: 0, count: 1024)
    public init() {}
    public func allows(_ port: UInt16) -> Bool { words[Int(port) >> 6] & (1 << UInt64(port & 63)) != 0 }
    /// A word at a time.
    mutating func set(_ base: UInt16, _ length: UInt16, _ allowed: Bool) {
        var p = Int(base)
        let end = min(65536, Int(base) + Int(length))
        while p < end {
            let lo = p & 63
            let n = min(64 - lo, end - p)
            let mask: UInt64 = (n == 64 ? ~0 : ((1 << UInt64(n)) - 1)) << UInt64(lo)
            if allowed { words[p >> 6] |= mask } else { words[p >> 6] &= ~mask }
            p += n
        }
    }
    /// Number of allowed ports.
    public var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }
}
