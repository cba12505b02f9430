/// Which cells map each 4 KiB physical page: the union of every cell's second-level
/// page tables, kept as sorted non-overlapping ranges so a 1 GiB region costs one entry.
///
/// The root cell is mapped 1:1, so for it physical and guest-physical ranges coincide;
/// non-root cells are recorded by the physical pages their regions cover.
public struct HVMemoryMap: Hashable, Sendable, CustomStringConvertible {
    /// One run of pages `[start, end)` mapped by exactly the cells in `cells` (sorted ids).
    public struct Segment: Hashable, Sendable {
        public var start: UInt64
        public var end: UInt64
        public var cells: [UInt32]
    }
    public private(set) var segments: [Segment] = []

    public init() {}

    /// The cells that map the page holding `address`.
    public func cells(at address: UInt64) -> [UInt32] {
        var lo = 0, hi = segments.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if segments[mid].end <= address { lo = mid + 1 } else { hi = mid }
        }
        if lo < segments.count, segments[lo].start <= address { return segments[lo].cells }
        return []
    }

    /// Number of 4 KiB pages `cell` maps.
    public func pages(of cell: UInt32) -> UInt64 {
        segments.reduce(0) { $0 + ($1.cells.contains(cell) ? ($1.end - $1.start) / 4096 : 0) }
    }

    /// Whether `cell` maps every page of `[start, start+size)`.
    public func maps(_ cell: UInt32, _ start: UInt64, _ size: UInt64) -> Bool {
        let (s, e) = Self.pageRange(start, size)
        var at = s
        for seg in segments where seg.end > at && seg.start < e {
            if seg.start > at || !seg.cells.contains(cell) { return false }
            at = seg.end
        }
        return at >= e
    }

    /// Whether `cell` maps any page of `[start, start+size)`.
    public func mapsAny(_ cell: UInt32, _ start: UInt64, _ size: UInt64) -> Bool {
        let (s, e) = Self.pageRange(start, size)
        return segments.contains { $0.end > s && $0.start < e && $0.cells.contains(cell) }
    }

    static func pageRange(_ start: UInt64, _ size: UInt64) -> (UInt64, UInt64) {
        let s = start & ~4095
        let endRaw = start.addingReportingOverflow(size)
        let e = endRaw.overflow ? UInt64.max & ~4095 : (endRaw.partialValue &+ 4095) & ~4095
        return (s, max(s, e))
    }

    /// Adds `cell` to the pages of the range.
    mutating func map(_ cell: UInt32, _ start: UInt64, _ size: UInt64) {
        update(start, size) { if !$0.contains(cell) { $0.append(cell); $0.sort() } }
    }
    /// Removes `cell` from the pages of the range; pages it does not map stay as they are.
    mutating func unmap(_ cell: UInt32, _ start: UInt64, _ size: UInt64) {
        update(start, size) { $0.removeAll { $0 == cell } }
    }

    private mutating func update(_ start: UInt64, _ size: UInt64, _ change: (inout [UInt32]) -> Void) {
        let (s, e) = Self.pageRange(start, size)
        guard s < e else { return }
        var out: [Segment] = []
        var at = s
        for seg in segments {
            if seg.end <= s || seg.start >= e { out.append(seg); continue }
            if seg.start < s { out.append(Segment(start: seg.start, end: s, cells: seg.cells)) }
            let ls = max(seg.start, s)
            if at < ls { var c: [UInt32] = []; change(&c); out.append(Segment(start: at, end: ls, cells: c)) }
            var c = seg.cells; change(&c)
            let le = min(seg.end, e)
            out.append(Segment(start: ls, end: le, cells: c))
            at = le
            if seg.end > e { out.append(Segment(start: e, end: seg.end, cells: seg.cells)) }
        }
        if at < e { var c: [UInt32] = []; change(&c); out.append(Segment(start: at, end: e, cells: c)) }
        out.sort { $0.start < $1.start }
        // Drop unmapped runs and merge neighbours with equal owners.
        var merged: [Segment] = []
        for seg in out where !seg.cells.isEmpty && seg.start < seg.end {
            if var last = merged.last, last.end == seg.start, last.cells == seg.cells {
                last.end = seg.end
                merged[merged.count - 1] = last
            } else {
                merged.append(seg)
            }
        }
        segments = merged
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
    mutating func set(_ base: UInt16, _ length: UInt16, _ allowed: Bool) {
        var p = Int(base)
        let end = min(65536, Int(base) + Int(length))
        while p < end {
            let bit: UInt64 = 1 << UInt64(p & 63)
            if allowed { words[p >> 6] |= bit } else { words[p >> 6] &= ~bit }
            p += 1
        }
    }
    /// Number of allowed ports.
    public var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }
}
