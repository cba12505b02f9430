import JHABI
import JHMachine

/// A printk log level (`KERN_EMERG` … `KERN_DEBUG`, include/linux/kern_levels.h).
public enum LogLevel: Int, Comparable, CaseIterable, Sendable, Codable {
    case emerg = 0, alert, crit, err, warning, notice, info, debug
    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
    /// `KERN_ERR` etc.
    public var cName: String {
        switch self {
        case .emerg: "KERN_EMERG"
        case .alert: "KERN_ALERT"
        case .crit: "KERN_CRIT"
        case .err: "KERN_ERR"
        case .warning: "KERN_WARNING"
        case .notice: "KERN_NOTICE"
        case .info: "KERN_INFO"
        case .debug: "KERN_DEBUG"
        }
    }
}

/// One printk record.
public struct PrintkRecord: Hashable, Sendable {
    public var seq: UInt64
    public var time: VirtualTime
    public var level: LogLevel
    public var text: String

    /// The `dmesg` form: `[    1.234567] text` (seconds right-aligned in 5 columns,
    /// as `print_time` in kernel/printk/printk.c formats `[%5lu.%06lu]`).
    public var dmesgLine: String {
        let stamp = time.dmesgStamp
        let secondsWidth = stamp.split(separator: ".").first?.count ?? 1
        return "[" + String(repeating: " ", count: max(0, 5 - secondsWidth)) + stamp + "] " + text
    }
}

/// The kernel log ring buffer: bounded in bytes like `log_buf` (CONFIG_LOG_BUF_SHIFT=17
/// gives 128 KiB); the oldest records fall out first.
public struct PrintkBuffer: Sendable {
    /// Records from `head` on are live; dropped ones are compacted away in batches so a
    /// full ring costs O(1) amortized per line.
    private var storage: [PrintkRecord] = []
    private var head = 0
    public var capacityBytes: Int
    public private(set) var usedBytes = 0
    public private(set) var dropped = 0
    private var nextSeq: UInt64 = 0

    public init(capacityBytes: Int = 1 << 17) { self.capacityBytes = capacityBytes }

    /// The records still in the ring, oldest first.
    public var records: ArraySlice<PrintkRecord> { storage[head...] }

    mutating func append(time: VirtualTime, level: LogLevel, text: String) {
        let r = PrintkRecord(seq: nextSeq, time: time, level: level, text: text)
        nextSeq += 1
        storage.append(r)
        usedBytes += Self.size(r)
        while usedBytes > capacityBytes && head < storage.count - 1 {
            usedBytes -= Self.size(storage[head])
            head += 1
            dropped += 1
        }
        if head > 1024 && head * 2 > storage.count {
            storage.removeFirst(head)
            head = 0
        }
    }

    /// Bytes a record takes in the ring (the kernel's record header is 16 bytes).
    static func size(_ r: PrintkRecord) -> Int { 16 + r.text.utf8.count }

    /// Empties the ring (`dmesg -C`).
    public mutating func clear() { storage.removeAll(); head = 0; usedBytes = 0 }
}

extension Kernel {
    /// Logs a line. Mirrors `printk` (kernel/printk/printk.c); also records a trace event
    /// so explanations can show the kernel's own words.
    public func printk(_ level: LogLevel, _ text: String) {
        log.append(time: machine.now, level: level, text: text)
        record(LinuxTrace.printk, a: level.rawValue, text: text)
    }

    /// `dmesg` output: every record at or above `minLevel` priority (numerically ≤).
    public func dmesg(maxLevel: LogLevel = .debug) -> [String] {
        log.records.filter { $0.level <= maxLevel }.map(\.dmesgLine)
    }
}

extension Kernel {
    /// Mirrors `die` / `oops_end` (arch/x86/kernel/dumpstack.c) for the simulated kernel:
    /// logs the oops report and taints the kernel. The caller then ends the system call
    /// that oopsed (its process is killed; it never returns).
    public func die(_ o: KernelOops, cpu: CPUID) {
        printk(.alert, o.bug)
        printk(.warning, "Oops: 0000 [#\(oops == nil ? 1 : 2)] SMP NOPTI")
        printk(.warning, "CPU: \(cpu) PID: 1000 Comm: jailhouse Tainted: G           O")
        printk(.warning, "RIP: 0010:\(o.function)+0x4c/0x1a0 [jailhouse]")
        printk(.warning, "---[ end trace 0000000000000000 ]---")
        if oops == nil { oops = o }
        record(LinuxTrace.oops, cpu: cpu, text: o.bug)
    }
}
