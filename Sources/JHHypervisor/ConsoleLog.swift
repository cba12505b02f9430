import JHMachine

/// The hypervisor console: typed lines (`printk`) and raw bytes (`DEBUG_CONSOLE_PUTC`), of
/// which a reader sees the newest `capacity` bytes. Lines are rendered only when the
/// console is read, so a create/destroy cycle that logs "Created cell" and the page-pool
/// usage builds no text.
///
/// Whole entries are dropped from the front once the rest still holds at least
/// `capacity` bytes, so what is kept always covers the visible window.
struct ConsoleLog {
    private enum Entry {
        case line(LogLine)
        case raw([UInt8])
    }

    let capacity: Int
    private var entries: [Entry] = []
    /// Rendered size of each entry, measured when it is logged.
    private var sizes: [Int] = []
    private var head = 0
    /// Bytes of the entries from `head` on.
    private var total = 0
    /// Bytes ever written (the console's absolute tail), so a reader can keep its own head.
    private(set) var written = 0
    /// Putc output is gathered into raw entries of at most this many bytes.
    private static let rawChunk = 256

    init(capacity: Int) { self.capacity = capacity }

    mutating func append(_ line: LogLine) {
        let n = line.utf8Count
        guard n > 0 else { return }
        entries.append(.line(line))
        sizes.append(n)
        total += n
        written += n
        trim()
    }

    mutating func putc(_ c: UInt8) {
        let last = entries.count - 1
        if last >= head, case .raw(var bytes) = entries[last], bytes.count < Self.rawChunk {
            entries[last] = .raw([])  // keeps `bytes` uniquely referenced
            bytes.append(c)
            entries[last] = .raw(bytes)
            sizes[last] += 1
            total += 1
        } else {
            entries.append(.raw([c]))
            sizes.append(1)
            total += 1
        }
        written += 1
        trim()
    }

    private mutating func trim() {
        while head < entries.count - 1 && total - sizes[head] >= capacity {
            total -= sizes[head]
            head += 1
        }
        if head > 1024 && head * 2 > entries.count {
            entries.removeFirst(head)
            sizes.removeFirst(head)
            head = 0
        }
    }

    /// The newest `capacity` bytes, decoded as UTF-8.
    var text: String {
        String(decoding: renderedKept().suffix(capacity), as: UTF8.self)
    }

    /// The bytes from absolute position `position` on (at most `limit`) and how many bytes
    /// between `position` and the oldest visible one were overwritten.
    func delta(from position: Int, limit: Int) -> (bytes: ArraySlice<UInt8>, missed: Int) {
        let oldest = written - min(total, capacity)
        let start = max(position, oldest)
        let n = max(0, min(limit, written - start))
        guard n > 0 else { return ([], start - position) }
        let all = renderedKept()
        let from = all.count - (written - start)
        return (all[from ..< from + n], start - position)
    }

    /// Every kept entry rendered: the bytes at absolute positions `written - total ..< written`.
    private func renderedKept() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(total)
        for e in entries[head...] {
            switch e {
            case .line(let l): l.append(to: &bytes)
            case .raw(let r): bytes.append(contentsOf: r)
            }
        }
        return bytes
    }
}

/// Console formats of the cell-management paths (hypervisor/control.c), so those lines
/// are stored typed.
enum ConsoleText {
    static let createdCell = LogFormat("Created cell \"%s\"\n")
    static let poolAfterCreate = LogFormat("Page pool usage after cell creation: mem %d/%d, remap %d/%d\n")
    static let startedCell = LogFormat("Started cell \"%s\"\n")
    static let cellLoadable = LogFormat("Cell \"%s\" can be loaded\n")
    static let closingCell = LogFormat("Closing cell \"%s\"\n")
    static let poolAfterDestroy = LogFormat("Page pool usage after cell destruction: mem %d/%d, remap %d/%d\n")
}
