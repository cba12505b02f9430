/// A CPU number. Linux and Jailhouse both number CPUs from 0.
public typealias CPUID = Int

/// A set of CPU numbers, backed by 64-bit words like a kernel cpumask.
///
/// Used for config CPU bitmaps, Linux cpumasks and hypervisor cell CPU sets alike.
/// Iteration is always in ascending order, which the driver's rollback relies on.
public struct CPUSet: Hashable, Sendable, Codable, Sequence, ExpressibleByArrayLiteral {
    /// Word k holds CPUs 64k ..< 64k+64. No trailing zero words are kept, so equal sets
    /// compare equal whatever way they were built.
    public private(set) var words: [UInt64]

    public init() { words = [] }
    public init(arrayLiteral elements: CPUID...) { self.init(elements) }
    public init<S: Sequence>(_ cpus: S) where S.Element == CPUID {
        words = []
        for c in cpus { insert(c) }
    }
    /// CPUs `range.lowerBound ..< range.upperBound`.
    public init(range: Range<CPUID>) {
        words = []
        guard let last = range.last, range.lowerBound >= 0 else { return }
        words = [UInt64](repeating: 0, count: last / 64 + 1)
        for w in words.indices {
            let lo = Swift.max(range.lowerBound, w * 64), hi = Swift.min(range.upperBound, w * 64 + 64)
            guard lo < hi else { continue }
            let n = hi - lo
            let bits: UInt64 = n == 64 ? ~0 : ((1 << UInt64(n)) - 1)
            words[w] = bits << UInt64(lo - w * 64)
        }
        trim()
    }
    /// Decodes a little-endian bitmap as stored in a config (byte k holds CPUs 8k…8k+7).
    public init(bitmap bytes: some Collection<UInt8>) {
        var w = [UInt64](repeating: 0, count: (bytes.count + 7) / 8)
        for (i, b) in bytes.enumerated() where b != 0 {
            w[i / 8] |= UInt64(b) << (UInt64(i % 8) * 8)
        }
        words = w
        trim()
    }

    /// Encodes as a little-endian bitmap of exactly `byteCount` bytes (CPUs that do not
    /// fit are dropped, as `cpumask` copies do).
    public func bitmap(byteCount: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Swift.max(0, byteCount))
        for i in 0..<out.count {
            let w = i / 8
            if w < words.count { out[i] = UInt8(truncatingIfNeeded: words[w] >> (UInt64(i % 8) * 8)) }
        }
        return out
    }

    private mutating func trim() {
        while let last = words.last, last == 0 { words.removeLast() }
    }

    public func contains(_ cpu: CPUID) -> Bool {
        guard cpu >= 0 else { return false }
        let w = cpu >> 6
        return w < words.count && words[w] & (1 << UInt64(cpu & 63)) != 0
    }

    @discardableResult
    public mutating func insert(_ cpu: CPUID) -> Bool {
        precondition(cpu >= 0, "CPU numbers are non-negative")
        let w = cpu >> 6
        if w >= words.count { words.append(contentsOf: repeatElement(0, count: w - words.count + 1)) }
        let bit: UInt64 = 1 << UInt64(cpu & 63)
        let had = words[w] & bit != 0
        words[w] |= bit
        return !had
    }

    @discardableResult
    public mutating func remove(_ cpu: CPUID) -> Bool {
        guard contains(cpu) else { return false }
        words[cpu >> 6] &= ~(1 << UInt64(cpu & 63))
        trim()
        return true
    }

    /// Number of CPUs in the set (the kernel's `cpumask_weight`).
    public var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }
    public var isEmpty: Bool { words.isEmpty }
    /// Lowest CPU, if any (`cpumask_first`).
    public var first: CPUID? { var it = makeIterator(); return it.next() }
    /// Highest CPU, if any (`cpumask_last`).
    public var last: CPUID? {
        guard let w = words.last else { return nil }
        return (words.count - 1) * 64 + (63 - w.leadingZeroBitCount)
    }

    public func union(_ o: CPUSet) -> CPUSet { combine(o) { $0 | $1 } }
    public func intersection(_ o: CPUSet) -> CPUSet { combine(o) { $0 & $1 } }
    /// The kernel's `cpumask_andnot`: CPUs in self but not in `o`.
    public func subtracting(_ o: CPUSet) -> CPUSet { combine(o) { $0 & ~$1 } }
    public func isSubset(of o: CPUSet) -> Bool {
        for i in words.indices where words[i] & ~(i < o.words.count ? o.words[i] : 0) != 0 { return false }
        return true
    }
    public func isDisjoint(with o: CPUSet) -> Bool {
        for i in 0..<Swift.min(words.count, o.words.count) where words[i] & o.words[i] != 0 { return false }
        return true
    }
    /// In place, word by word (no new storage unless `o` is longer).
    public mutating func formUnion(_ o: CPUSet) {
        if o.words.count > words.count { words.append(contentsOf: repeatElement(0, count: o.words.count - words.count)) }
        for i in o.words.indices { words[i] |= o.words[i] }
    }
    public mutating func subtract(_ o: CPUSet) {
        for i in 0..<Swift.min(words.count, o.words.count) { words[i] &= ~o.words[i] }
        trim()
    }

    private func combine(_ o: CPUSet, _ f: (UInt64, UInt64) -> UInt64) -> CPUSet {
        var r = CPUSet()
        let n = Swift.max(words.count, o.words.count)
        r.words = (0..<n).map { i in
            f(i < words.count ? words[i] : 0, i < o.words.count ? o.words[i] : 0)
        }
        r.trim()
        return r
    }

    public struct Iterator: IteratorProtocol {
        let words: [UInt64]
        var index = 0
        var current: UInt64
        init(_ words: [UInt64]) { self.words = words; current = words.first ?? 0 }
        public mutating func next() -> CPUID? {
            while current == 0 {
                index += 1
                guard index < words.count else { return nil }
                current = words[index]
            }
            let bit = current.trailingZeroBitCount
            current &= current - 1
            return index * 64 + bit
        }
    }
    public func makeIterator() -> Iterator { Iterator(words) }

    /// The `%*pbl` range list, e.g. `0,2-3`; empty for an empty set.
    public var rangeList: String {
        var parts: [String] = []
        var start: CPUID? = nil
        var prev = -2
        for c in self {
            if c == prev + 1 { prev = c; continue }
            if let s = start { parts.append(s == prev ? "\(s)" : "\(s)-\(prev)") }
            start = c; prev = c
        }
        if let s = start { parts.append(s == prev ? "\(s)" : "\(s)-\(prev)") }
        return parts.joined(separator: ",")
    }

    /// Parses a range list like `0,2-3` (whitespace allowed around items).
    public init?(rangeList text: String) {
        self.init()
        let trimmed = text.trimmingWhitespace
        if trimmed.isEmpty { return }
        for item in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let part = String(item).trimmingWhitespace
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count == 1 || bounds.count == 2,
                  let lo = Int(bounds[0]), lo >= 0, lo < 1 << 20 else { return nil }
            let hi = bounds.count == 2 ? Int(bounds[1]) : lo
            guard let hi, hi >= lo, hi < 1 << 20 else { return nil }
            for c in lo...hi { insert(c) }
        }
    }

    /// The `%*pb` hex form: comma-separated 32-bit groups, most significant first, the
    /// first group without leading zeros, the others 8 digits wide; `nrCPUIDs` sets how
    /// many groups are printed (Linux prints the width of `nr_cpu_ids`).
    public func hexMask(nrCPUIDs: Int) -> String {
        let groups = Swift.max(1, (nrCPUIDs + 31) / 32)
        var out: [String] = []
        for g in stride(from: groups - 1, through: 0, by: -1) {
            let w = g / 2
            let word = w < words.count ? words[w] : 0
            let v = UInt32(truncatingIfNeeded: g % 2 == 0 ? word : word >> 32)
            // Width of the most significant group follows nr_cpu_ids, as bitmap_print does.
            let bitsInGroup = g == groups - 1 ? nrCPUIDs - 32 * g : 32
            let digits = Swift.max(1, (Swift.max(1, bitsInGroup) + 3) / 4)
            let hex = String(v, radix: 16)
            out.append(String(repeating: "0", count: Swift.max(0, digits - hex.count)) + hex)
        }
        return out.joined(separator: ",")
    }
}

extension CPUSet: CustomStringConvertible {
    public var description: String { "{\(rangeList)}" }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
