import Dispatch
import Foundation

// Wall-clock and process measurements. They measure the simulator, never feed the
// simulation: nothing here reaches a `Machine`.

/// CLOCK_MONOTONIC in nanoseconds.
@inline(__always)
public func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// The process's peak resident set so far (`getrusage` `ru_maxrss`, KiB on Linux).
public func peakRSSBytes() -> UInt64 {
    var usage = rusage()
    guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
    return UInt64(max(0, usage.ru_maxrss)) * 1024
}

/// CPU time (user + system) the whole process has used so far, every thread included.
public func processCPUNanoseconds() -> UInt64 {
    var usage = rusage()
    guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
    func ns(_ t: timeval) -> UInt64 { UInt64(max(0, t.tv_sec)) * 1_000_000_000 + UInt64(max(0, t.tv_usec)) * 1000 }
    return ns(usage.ru_utime) + ns(usage.ru_stime)
}

/// Reads the process's allocation count, when the executable can count them.
///
/// The `jhsim` executable interposes malloc (Sources/CMallocCounter) and passes its
/// counter in; a test bundle or a sanitizer build has none and says why.
public struct AllocationCounter: Sendable {
    /// Allocation calls so far; nil when not measurable.
    public var read: @Sendable () -> UInt64?
    /// Why `read` returns nil (shown in the report).
    public var unavailableReason: String

    public init(read: @escaping @Sendable () -> UInt64?, unavailableReason: String) {
        self.read = read; self.unavailableReason = unavailableReason
    }

    /// No counter in this process.
    public static func unavailable(_ reason: String) -> AllocationCounter {
        AllocationCounter(read: { nil }, unavailableReason: reason)
    }
}

/// Wall-clock latencies in fixed memory: log-linear buckets (64 per power of two, so a
/// percentile is within 1.6 % of the exact value), plus the exact maximum. A million
/// cycles cost no more memory than ten.
public struct LatencyHistogram: Sendable {
    static let subBits = 6
    static let sub = 1 << subBits
    private var counts = [UInt64](repeating: 0, count: 64 * LatencyHistogram.sub)
    public private(set) var count: UInt64 = 0
    public private(set) var max: UInt64 = 0
    public private(set) var sum: UInt64 = 0

    public init() {}

    static func bucket(_ v: UInt64) -> Int {
        if v < UInt64(sub) { return Int(v) }
        let msb = 63 - v.leadingZeroBitCount
        let shift = msb - subBits
        let mantissa = Int(v >> UInt64(shift)) - sub
        return (shift + 1) * sub + mantissa
    }

    /// The smallest value that falls into bucket `b` (and its upper end, exclusive).
    static func range(_ b: Int) -> (low: UInt64, high: UInt64) {
        if b < sub { return (UInt64(b), UInt64(b) + 1) }
        let shift = b / sub - 1
        let mantissa = UInt64(b % sub + sub)
        return (mantissa << UInt64(shift), (mantissa + 1) << UInt64(shift))
    }

    public mutating func record(_ v: UInt64) {
        counts[Self.bucket(v)] += 1
        count += 1
        sum &+= v
        if v > max { max = v }
    }

    /// The value at percentile `p` (0…100): the middle of its bucket, never above `max`.
    public func percentile(_ p: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let rank = Swift.max(1, UInt64((p / 100 * Double(count)).rounded(.up)))
        var seen: UInt64 = 0
        for (b, n) in counts.enumerated() where n > 0 {
            seen += n
            if seen >= rank {
                let r = Self.range(b)
                return Swift.min(max, r.low + (r.high - r.low) / 2)
            }
        }
        return max
    }
}

/// The bare cost of the thread handoff the dispatch executor is built from: post a block
/// to a serial queue and wait on a semaphore it signals. Measured in the same process as
/// the churn, right after it, so the two figures share the machine's state.
public enum HandoffProbe {
    /// Median nanoseconds per handoff over `batches` batches of `perBatch`.
    public static func measure(batches: Int = 5, perBatch: Int = 400) -> UInt64 {
        let queue = DispatchQueue(label: "jhsim.bench.handoff")
        let done = DispatchSemaphore(value: 0)
        var perHandoff: [UInt64] = []
        for _ in 0 ..< Swift.max(1, batches) {
            let start = monotonicNanoseconds()
            for _ in 0 ..< Swift.max(1, perBatch) {
                queue.async { done.signal() }
                done.wait()
            }
            perHandoff.append((monotonicNanoseconds() - start) / UInt64(Swift.max(1, perBatch)))
        }
        perHandoff.sort()
        return perHandoff[perHandoff.count / 2]
    }
}

/// A one-line progress bar for a terminal: redrawn in place with `\r`, at most every
/// 100 ms, erased when done. The caller decides whether there is a terminal (isatty).
public final class ProgressBar {
    private let sink: (String) -> Void
    private let width: Int
    private var lastDraw: UInt64 = 0
    private var lastLength = 0
    private let clock: () -> UInt64

    public init(width: Int = 30, clock: @escaping () -> UInt64 = monotonicNanoseconds, sink: @escaping (String) -> Void) {
        self.width = width; self.sink = sink; self.clock = clock
    }

    /// Draws `fraction` (0…1) with a label such as `1200/5000 cycles`.
    public func update(_ fraction: Double, _ label: String, force: Bool = false) {
        let now = clock()
        guard force || now &- lastDraw >= 100_000_000 else { return }
        lastDraw = now
        let f = Swift.min(1, Swift.max(0, fraction))
        let filled = Int((f * Double(width)).rounded(.down))
        let line = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
            + String(Int((f * 100).rounded(.down))) + "% " + label
        sink("\r" + line + String(repeating: " ", count: Swift.max(0, lastLength - line.count)))
        lastLength = line.count
    }

    /// Erases the bar.
    public func finish() {
        guard lastLength > 0 else { return }
        sink("\r" + String(repeating: " ", count: lastLength) + "\r")
        lastLength = 0
    }
}
