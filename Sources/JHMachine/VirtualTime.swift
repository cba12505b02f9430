/// A point on the simulated timeline, in nanoseconds since the machine was powered on.
///
/// Wall-clock time never enters a run; every primitive advances virtual time by its
/// cost from `CostModel`.
public struct VirtualTime: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var nanoseconds: UInt64
    @inlinable public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }
    public static let zero = VirtualTime(nanoseconds: 0)

    @inlinable public static func < (a: VirtualTime, b: VirtualTime) -> Bool { a.nanoseconds < b.nanoseconds }
    @inlinable public static func + (t: VirtualTime, d: VirtualDuration) -> VirtualTime {
        VirtualTime(nanoseconds: t.nanoseconds &+ d.nanoseconds)
    }
    @inlinable public static func - (a: VirtualTime, b: VirtualTime) -> VirtualDuration {
        VirtualDuration(nanoseconds: a.nanoseconds >= b.nanoseconds ? a.nanoseconds - b.nanoseconds : 0)
    }

    /// `[    1.234567]`-style seconds with microseconds, as dmesg prints them.
    public var dmesgStamp: String {
        let us = nanoseconds / 1000
        let frac = String(us % 1_000_000)
        return "\(us / 1_000_000).\(String(repeating: "0", count: 6 - frac.count))\(frac)"
    }
    public var description: String { VirtualDuration(nanoseconds: nanoseconds).description }
}

/// A span of virtual time in nanoseconds.
public struct VirtualDuration: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var nanoseconds: UInt64
    @inlinable public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }
    public static let zero = VirtualDuration(nanoseconds: 0)
    @inlinable public static func ns(_ v: UInt64) -> VirtualDuration { .init(nanoseconds: v) }
    @inlinable public static func us(_ v: UInt64) -> VirtualDuration { .init(nanoseconds: v * 1_000) }
    @inlinable public static func ms(_ v: UInt64) -> VirtualDuration { .init(nanoseconds: v * 1_000_000) }
    @inlinable public static func < (a: VirtualDuration, b: VirtualDuration) -> Bool { a.nanoseconds < b.nanoseconds }
    @inlinable public static func + (a: VirtualDuration, b: VirtualDuration) -> VirtualDuration {
        .init(nanoseconds: a.nanoseconds &+ b.nanoseconds)
    }
    public static func * (a: VirtualDuration, k: Int) -> VirtualDuration {
        .init(nanoseconds: a.nanoseconds &* UInt64(max(0, k)))
    }

    /// Human form: `850ns`, `12.5us`, `4.20ms`, `1.000s`.
    public var description: String {
        let n = nanoseconds
        if n < 1_000 { return "\(n)ns" }
        if n < 1_000_000 { return fixed(Double(n) / 1e3, 1) + "us" }
        if n < 1_000_000_000 { return fixed(Double(n) / 1e6, 2) + "ms" }
        return fixed(Double(n) / 1e9, 3) + "s"
    }
}

/// Formats without Foundation so output is identical on every platform.
func fixed(_ v: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int64((v * scale).rounded())
    let whole = scaled / Int64(scale)
    let frac = String(scaled % Int64(scale))
    return digits == 0 ? "\(whole)" : "\(whole).\(String(repeating: "0", count: digits - frac.count))\(frac)"
}
