/// Which layer of the simulated box a trace event comes from.
public enum TraceLayer: String, Sendable, Codable, CaseIterable {
    case machine, linux, hypervisor, driver, inmate, user, fault
}

/// Whether an event is a point in time or opens/closes a span (an ioctl, a hypercall).
public enum TracePhase: String, Sendable, Codable {
    case instant, begin, end
}

/// What a step returned.
public enum TraceResult: Hashable, Sendable, Codable, CustomStringConvertible {
    case none
    case ok
    case value(Int64)
    case error(Errno)

    public var description: String {
        switch self {
        case .none: ""
        case .ok: "ok"
        case .value(let v): "= \(v)"
        case .error(let e): "-\(e.name)"
        }
    }
}

import JHABI

/// One recorded step: who did what, where, when, and with what result.
///
/// Events are the single source for explanations, Chrome traces, timelines and
/// determinism hashes, so everything a learner should see goes through here.
public struct TraceEvent: Hashable, Sendable, Codable {
    /// Order of recording; ties in `time` are broken by it.
    public var seq: UInt64
    public var time: VirtualTime
    /// The CPU the step ran on, if it ran on one.
    public var cpu: CPUID?
    public var layer: TraceLayer
    public var phase: TracePhase
    /// Short operation name, e.g. `cpu_down`, `hypercall`, `kmalloc`, `owner`.
    public var op: String
    /// Arguments as `key=value` text, in a fixed order chosen by the recorder.
    public var detail: String
    public var result: TraceResult
    /// The C function this step mirrors, e.g. `remove_cpu (kernel/cpu.c)`.
    public var mirrors: String?

    public init(seq: UInt64 = 0, time: VirtualTime, cpu: CPUID?, layer: TraceLayer,
                phase: TracePhase = .instant, op: String, detail: String = "",
                result: TraceResult = .none, mirrors: String? = nil) {
        self.seq = seq; self.time = time; self.cpu = cpu; self.layer = layer
        self.phase = phase; self.op = op; self.detail = detail; self.result = result
        self.mirrors = mirrors
    }

    /// The canonical one-line form; the determinism hash is computed over it.
    public var line: String {
        var s = "\(time.nanoseconds) "
        s += cpu.map { "cpu\($0)" } ?? "-"
        s += " \(layer.rawValue)"
        switch phase {
        case .instant: s += " "
        case .begin: s += " > "
        case .end: s += " < "
        }
        s += op
        if !detail.isEmpty { s += " " + detail }
        let r = result.description
        if !r.isEmpty { s += " " + r }
        return s
    }
}

/// Collects trace events in recording order and hashes them.
///
/// Not thread-safe by itself: the machine only records from the one work item that is
/// running (broadcast work records into `LocalTrace` buffers merged in CPU order).
public struct TraceLog: Sendable, Codable {
    public private(set) var events: [TraceEvent] = []
    private var nextSeq: UInt64 = 0
    /// The log keeps at least the newest `capacity` events (and at most a quarter more);
    /// older ones are dropped from the front. The hash still covers every event.
    public var capacity: Int
    public private(set) var droppedCount = 0
    private var hashState: UInt64 = 0xcbf2_9ce4_8422_2325

    public init(capacity: Int = 1 << 20) { self.capacity = capacity }

    @discardableResult
    public mutating func append(_ event: TraceEvent) -> UInt64 {
        var e = event
        e.seq = nextSeq
        nextSeq += 1
        for b in e.line.utf8 { hashState = (hashState ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        hashState = (hashState ^ 0x0a) &* 0x0000_0100_0000_01B3
        events.append(e)
        // Drop in batches of a quarter capacity so a long run stays amortised O(1) per
        // event instead of shifting the whole log on every append.
        if events.count > capacity + max(1, capacity / 4) {
            let drop = events.count - capacity
            events.removeFirst(drop)
            droppedCount += drop
        }
        return e.seq
    }

    /// FNV-1a 64 over every event's canonical line: equal hashes mean identical runs.
    public var hash: UInt64 { hashState }
    public var hashHex: String {
        let h = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - h.count) + h
    }
    /// Number of events ever recorded.
    public var recordedCount: UInt64 { nextSeq }

    /// Events in timeline order: by virtual time, then by recording order.
    public var timeline: [TraceEvent] {
        events.sorted { ($0.time, $0.seq) < ($1.time, $1.seq) }
    }

    public mutating func removeAll() {
        events.removeAll()
    }
}
