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

/// One printk record: the line as typed facts (a format and its arguments); its text is
/// rendered when read.
public struct PrintkRecord: Sendable {
    public var seq: UInt64
    public var time: VirtualTime
    public var level: LogLevel
    public var line: LogLine

    /// The message text.
    public var text: String { line.text }

    /// The `dmesg` form: `[    1.234567] text` (seconds right-aligned in 5 columns,
    /// as `print_time` in kernel/printk/printk.c formats `[%5lu.%06lu]`).
    public var dmesgLine: String {
        let stamp = time.dmesgStamp
        let secondsWidth = stamp.split(separator: ".").first?.count ?? 1
        return "[" + String(repeating: " ", count: max(0, 5 - secondsWidth)) + stamp + "] " + text
    }
}

/// The kernel log ring buffer: bounded in bytes like `log_buf` (CONFIG_LOG_BUF_SHIFT=17
/// gives 128 KiB); the oldest records fall out first. Records hold typed lines, so a
/// printk on a hot path stores a few words and renders nothing.
public struct PrintkBuffer: Sendable {
    /// Records from `head` on are live; dropped ones are compacted away in batches so a
    /// full ring costs O(1) amortized per line. `sizes[i]` is the ring size of
    /// `storage[i]`, measured once when it is logged.
    private var storage: [PrintkRecord] = []
    private var sizes: [Int] = []
    private var head = 0
    public var capacityBytes: Int
    public private(set) var usedBytes = 0
    public private(set) var dropped = 0
    private var nextSeq: UInt64 = 0

    public init(capacityBytes: Int = 1 << 17) { self.capacityBytes = capacityBytes }

    /// The records still in the ring, oldest first.
    public var records: ArraySlice<PrintkRecord> { storage[head...] }

    mutating func append(time: VirtualTime, level: LogLevel, line: LogLine) {
        let r = PrintkRecord(seq: nextSeq, time: time, level: level, line: line)
        nextSeq += 1
        let size = Self.headerSize + line.utf8Count
        storage.append(r)
        sizes.append(size)
        usedBytes += size
        while usedBytes > capacityBytes && head < storage.count - 1 {
            usedBytes -= sizes[head]
            head += 1
            dropped += 1
        }
        if head > 1024 && head * 2 > storage.count {
            storage.removeFirst(head)
            sizes.removeFirst(head)
            head = 0
        }
    }

    /// Bytes of the kernel's record header (each record takes it plus its text).
    static let headerSize = 16

    /// Empties the ring (`dmesg -C`).
    public mutating func clear() { storage.removeAll(); sizes.removeAll(); head = 0; usedBytes = 0 }
}

extension Kernel {
    /// Logs a line. Mirrors `printk` (kernel/printk/printk.c); also records a trace event
    /// so explanations can show the kernel's own words.
    public func printk(_ level: LogLevel, _ text: String) {
        printk(level, LogLine(text: text))
    }

    /// Logs a typed line: the text is built only if the trace looks at it (the printk
    /// event carries the kernel's words), otherwise only when `dmesg` reads it.
    public func printk(_ level: LogLevel, _ line: LogLine) {
        log.append(time: machine.now, level: level, line: line)
        record(LinuxTrace.printk, a: level.rawValue, text: machine.trace.isRecording ? line.text : "")
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
