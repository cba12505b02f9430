import JHABI

/// Which layer of the simulated box a trace event comes from.
public enum TraceLayer: String, Sendable, Codable, CaseIterable {
    case machine, linux, hypervisor, driver, inmate, user, fault
}

/// Whether an event is a point in time or opens/closes a span (an ioctl, a hypercall).
public enum TracePhase: UInt8, Sendable, Codable {
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

/// How much of the trace a machine keeps.
///
/// Recording is the same work at every level up to the point where the level matters,
/// so a run's outcome never depends on it, and `full` and `hash` give the same hash.
public enum TraceLevel: String, Sendable, CaseIterable, Codable {
    /// Every event is kept (up to the log's capacity) and hashed: labs and learners.
    case full
    /// Nothing is kept (except layers a check asked for); the determinism hash is still
    /// computed over every event: sweeps, campaigns, benchmarks that compare runs.
    case hash
    /// Nothing is kept or hashed; events are only counted.
    case off
}

/// A kind of trace step: its identity and everything static about it — layer, phase,
/// operation name, the C function it mirrors, and how its arguments read as text.
///
/// Each layer declares its kinds once, as static constants in its own catalog enum
/// (`LinuxTrace`, `HypervisorTrace`, `DriverTrace`, `LabTrace`, `MachineTrace`), with ids
/// from the layer's own range so they are stable across runs and builds. An event only
/// points at its kind; text is produced from the kind's template when someone looks.
///
/// The template is the `detail` text with placeholders `{name:slot}` or
/// `{name:slot:format}`: slot `a`…`d` is a numeric argument, `t` the text argument, `s`
/// the CPU-set argument; format `d` (decimal, the default), `x` (lowercase hex, no
/// prefix), `u` (unsigned decimal) or a name from the kind's `formats` table (e.g. `hp`
/// for a Linux hotplug state). The name is what narration and views look fields up by.
public final class TraceKind: Sendable, Hashable, CustomStringConvertible {
    /// Stable identifier; hashed instead of any text.
    public let id: UInt16
    public let layer: TraceLayer
    public let phase: TracePhase
    /// Short operation name, e.g. `cpu_down`, `hypercall`, `kmalloc`, `owner`.
    public let op: String
    /// The C function this step mirrors, e.g. `remove_cpu (kernel/cpu.c)`; a template
    /// like the detail's when it depends on the arguments (a hotplug callback's name).
    public let mirrors: String?
    /// The detail template as declared.
    public let template: String
    let pieces: [Piece]
    let mirrorPieces: [Piece]?
    let formats: [String: @Sendable (Int) -> String]
    /// How the step read in the text trace of lab format 1 (whose hash verifies an old
    /// lab when it is replayed): the same, absent (a kind added since), or an older text.
    public enum Legacy: Sendable { case same, absent, template(String) }
    let legacyPieces: [Piece]?
    let legacyAbsent: Bool

    enum Slot: Sendable { case a, b, c, d, text, set }
    enum Piece: Sendable {
        case literal(String)
        case field(name: String, slot: Slot, format: String)
    }

    /// Declares a kind. Traps on a malformed template: kinds are static constants, and a
    /// test renders every catalog, so a typo fails the suite rather than a user's run.
    public init(id: UInt16, _ layer: TraceLayer, _ op: String, phase: TracePhase = .instant,
                _ template: String = "", mirrors: String? = nil,
                formats: [String: @Sendable (Int) -> String] = [:], legacy: Legacy = .same) {
        self.id = id; self.layer = layer; self.op = op; self.phase = phase
        self.mirrors = mirrors; self.template = template; self.formats = formats
        pieces = Self.parse(template, formats: formats)
        switch legacy {
        case .same: legacyPieces = nil; legacyAbsent = false
        case .absent: legacyPieces = nil; legacyAbsent = true
        case .template(let t): legacyPieces = Self.parse(t, formats: formats); legacyAbsent = false
        }
        mirrorPieces = mirrors.flatMap { $0.contains("{") ? Self.parse($0, formats: formats) : nil }
    }

    private static func parse(_ t: String, formats: [String: @Sendable (Int) -> String]) -> [Piece] {
        var out: [Piece] = []
        var lit = ""
        var i = t.startIndex
        while i < t.endIndex {
            let ch = t[i]
            if ch == "{", let close = t[i...].firstIndex(of: "}") {
                if !lit.isEmpty { out.append(.literal(lit)); lit = "" }
                let parts = t[t.index(after: i)..<close].split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                precondition(parts.count == 2 || parts.count == 3, "trace template \(t): bad placeholder")
                let slot: Slot
                switch parts[1] {
                case "a": slot = .a
                case "b": slot = .b
                case "c": slot = .c
                case "d": slot = .d
                case "t": slot = .text
                case "s": slot = .set
                default: preconditionFailure("trace template \(t): unknown slot \(parts[1])")
                }
                let format = parts.count == 3 ? parts[2] : "d"
                precondition(["d", "x", "u"].contains(format) || formats[format] != nil,
                             "trace template \(t): unknown format \(format)")
                out.append(.field(name: parts[0], slot: slot, format: format))
                i = t.index(after: close)
            } else {
                lit.append(ch)
                i = t.index(after: i)
            }
        }
        if !lit.isEmpty { out.append(.literal(lit)) }
        return out
    }

    /// The names of the kind's fields, in template order.
    public var fieldNames: [String] {
        pieces.compactMap { if case .field(let n, _, _) = $0 { n } else { nil } }
    }

    func format(_ slot: Slot, _ format: String, of e: TraceEvent) -> String {
        switch slot {
        case .text: return e.text
        case .set: return e.set.rangeList
        case .a, .b, .c, .d:
            let v = slot == .a ? e.a : slot == .b ? e.b : slot == .c ? e.c : e.d
            switch format {
            case "d": return String(v)
            case "x": return String(UInt(bitPattern: v), radix: 16)
            case "u": return String(UInt(bitPattern: v))
            default: return formats[format].map { $0(v) } ?? String(v)
            }
        }
    }

    /// The event's detail text.
    func render(_ e: TraceEvent) -> String { render(pieces, e) }

    /// The detail as lab format 1 wrote it; nil when such steps were not recorded then.
    func renderLegacy(_ e: TraceEvent) -> String? {
        if legacyAbsent { return nil }
        return render(legacyPieces ?? pieces, e)
    }

    func renderMirrors(_ e: TraceEvent) -> String? {
        guard let mirrorPieces else { return mirrors }
        return render(mirrorPieces, e)
    }

    private func render(_ pieces: [Piece], _ e: TraceEvent) -> String {
        var s = ""
        for p in pieces {
            switch p {
            case .literal(let l): s += l
            case .field(_, let slot, let f): s += format(slot, f, of: e)
            }
        }
        return s
    }

    /// One named field of the event as text, or nil when the kind has no such field.
    func field(_ name: String, of e: TraceEvent) -> String? {
        for p in pieces {
            if case .field(let n, let slot, let f) = p, n == name { return format(slot, f, of: e) }
        }
        return nil
    }

    /// One named numeric field of the event, or nil when the kind has no such field or
    /// it is text.
    func number(_ name: String, of e: TraceEvent) -> Int? {
        for p in pieces {
            if case .field(let n, let slot, _) = p, n == name {
                switch slot {
                case .a: return e.a
                case .b: return e.b
                case .c: return e.c
                case .d: return e.d
                case .text, .set: return nil
                }
            }
        }
        return nil
    }

    public var description: String { "\(layer.rawValue)/\(op)#\(String(id, radix: 16))" }
    public static func == (a: TraceKind, b: TraceKind) -> Bool { a.id == b.id }
    public func hash(into h: inout Hasher) { h.combine(id) }
}

/// One recorded step: which kind, where, when, with which arguments and what result.
///
/// A small value: no text is built when a step is recorded. `text` and `set` only ever
/// hold strings and sets that already exist in the model (a cell's name, a lock's name,
/// a cell's CPU set), so storing them copies a reference, not characters. Everything a
/// learner reads — `detail`, `line`, narration, pictures — is rendered from it on demand.
public struct TraceEvent: Hashable, Sendable {
    /// Order of recording; ties in `time` are broken by it.
    public var seq: UInt64
    public var time: VirtualTime
    public var kind: TraceKind
    /// The CPU the step ran on, if it ran on one.
    public var cpu: CPUID?
    public var result: TraceResult
    /// Numeric arguments; their meaning and names come from the kind's template.
    public var a: Int, b: Int, c: Int, d: Int
    /// A text argument that is data (a name, a message), referenced, never built.
    public var text: String
    /// A CPU-set argument (e.g. a cell's CPUs).
    public var set: CPUSet

    public init(seq: UInt64 = 0, time: VirtualTime, kind: TraceKind, cpu: CPUID? = nil,
                result: TraceResult = .none, a: Int = 0, b: Int = 0, c: Int = 0, d: Int = 0,
                text: String = "", set: CPUSet = CPUSet()) {
        self.seq = seq; self.time = time; self.kind = kind; self.cpu = cpu; self.result = result
        self.a = a; self.b = b; self.c = c; self.d = d; self.text = text; self.set = set
    }

    public var layer: TraceLayer { kind.layer }
    public var phase: TracePhase { kind.phase }
    public var op: String { kind.op }
    public var mirrors: String? { kind.renderMirrors(self) }
    /// Arguments as `key=value` text, rendered from the kind's template.
    public var detail: String { kind.render(self) }
    /// A named field as text (`"cpu"`, `"cell"`, `"state"`…), nil when the kind has none.
    public func field(_ name: String) -> String? { kind.field(name, of: self) }
    /// A named numeric field, nil when the kind has none (or it is text).
    public func number(_ name: String) -> Int? { kind.number(name, of: self) }

    /// The canonical one-line form (for reading; the hash covers the binary form).
    public var line: String { line(detail: detail) }

    /// The line as lab format 1 wrote it, nil for a kind added since.
    var legacyLine: String? { kind.renderLegacy(self).map { line(detail: $0) } }

    private func line(detail: String) -> String {
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

/// Mixes the binary form of events into a 64-bit determinism hash, a word at a time.
struct TraceHasher: Sendable {
    var state: UInt64 = 0xcbf2_9ce4_8422_2325

    @inline(__always) mutating func mix(_ w: UInt64) {
        state = (state ^ w) &* 0x0000_0100_0000_01B3
        state ^= state >> 29
    }

    mutating func mix(_ e: TraceEvent) {
        let cpu: UInt64 = e.cpu.map { UInt64(truncatingIfNeeded: $0) &+ 1 } ?? 0
        mix(UInt64(e.kind.id) | cpu << 16)
        mix(e.time.nanoseconds)
        switch e.result {
        case .none: mix(0)
        case .ok: mix(1)
        case .value(let v): mix(2); mix(UInt64(bitPattern: v))
        case .error(let err): mix(3 | UInt64(UInt32(bitPattern: err.rawValue)) << 8)
        }
        mix(UInt64(bitPattern: Int64(e.a))); mix(UInt64(bitPattern: Int64(e.b)))
        mix(UInt64(bitPattern: Int64(e.c))); mix(UInt64(bitPattern: Int64(e.d)))
        if !e.text.isEmpty {
            var n: UInt64 = 0
            for byte in e.text.utf8 { mix(UInt64(byte)); n += 1 }
            mix(n)
        }
        let words = e.set.words
        if !words.isEmpty {
            for w in words { mix(w) }
            mix(UInt64(words.count) | 1 << 63)
        }
    }
}

/// Collects trace events in recording order and hashes their binary form.
///
/// At level `full` the log keeps at least the newest `capacity` events; at `hash` it
/// keeps nothing but the events of `keptLayers` (what a check needs), at `off` nothing
/// at all. Not thread-safe by itself: the machine only records from the one work item
/// that is running (broadcast work records into `LocalContext` buffers merged in CPU
/// order).
public struct TraceLog: Sendable {
    public private(set) var events: [TraceEvent] = []
    @usableFromInline var nextSeq: UInt64 = 0
    /// The log keeps at least the newest `capacity` events (and at most a quarter more);
    /// older ones are dropped from the front. The hash still covers every event.
    public var capacity: Int
    public private(set) var droppedCount = 0
    private var hasher = TraceHasher()
    /// How much is kept; may change during a run (the hash then covers only the events
    /// recorded at `full` or `hash`).
    public var level: TraceLevel
    /// Layers whose events are kept even at level `hash` (e.g. `.fault` for checks that
    /// look at injections). Empty by default.
    public var keptLayers: Set<TraceLayer> = []

    public init(capacity: Int = 1 << 20, level: TraceLevel = .full) {
        self.capacity = capacity
        self.level = level
    }

    /// Whether events are looked at at all (hashed or kept).
    @inlinable public var isRecording: Bool { level != .off }

    @discardableResult
    public mutating func append(_ event: TraceEvent) -> UInt64 {
        let seq = nextSeq
        nextSeq += 1
        switch level {
        case .off:
            return seq
        case .hash:
            hasher.mix(event)
            if !keptLayers.isEmpty && keptLayers.contains(event.kind.layer) { keep(event, seq) }
        case .full:
            hasher.mix(event)
            keep(event, seq)
        }
        return seq
    }

    /// Counts `n` events that were not recorded (level `off`): sequence numbers stay
    /// the same at every level, so command records slice the log alike.
    @discardableResult
    @inlinable
    public mutating func skip(_ n: Int = 1) -> UInt64 {
        let seq = nextSeq
        nextSeq += UInt64(n)
        return seq
    }

    /// FNV-1a 64 over every kept event's one-line text: the hash format of lab files
    /// before format version 2, used to verify an old lab when it is replayed.
    public var legacyTextHashHex: String? {
        guard droppedCount == 0, events.count == Int(nextSeq) else { return nil }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for e in events {
            guard let line = e.legacyLine else { continue }
            for b in line.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
            h = (h ^ 0x0a) &* 0x0000_0100_0000_01B3
        }
        let s = String(h, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    private mutating func keep(_ event: TraceEvent, _ seq: UInt64) {
        var e = event
        e.seq = seq
        events.append(e)
        // Drop in batches of a quarter capacity so a long run stays amortised O(1) per
        // event instead of shifting the whole log on every append.
        if events.count > capacity + max(1, capacity / 4) {
            let drop = events.count - capacity
            events.removeFirst(drop)
            droppedCount += drop
        }
    }

    /// The determinism hash over the binary form of every event recorded at `full` or
    /// `hash`: equal hashes mean identical runs.
    public var hash: UInt64 { hasher.state }
    public var hashHex: String {
        let h = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - h.count) + h
    }
    /// Number of events ever recorded (at any level).
    public var recordedCount: UInt64 { nextSeq }

    /// Events in timeline order: by virtual time, then by recording order.
    public var timeline: [TraceEvent] {
        events.sorted { ($0.time, $0.seq) < ($1.time, $1.seq) }
    }

    public mutating func removeAll() {
        events.removeAll()
    }
}

/// The machine's own trace kinds (ids 0x0000–0x0fff).
public enum MachineTrace {
    public static let inject = TraceKind(id: 0x0001, .fault, "inject", "{site:t}")
    /// `verbose=1`: the two lines Linux's `fail_dump` prints (lib/fault-inject.c).
    public static let faultNotice = TraceKind(id: 0x0002, .fault, "fail_dump", "FAULT_INJECTION: forcing a failure.",
                                              mirrors: "fail_dump (lib/fault-inject.c)")
    public static let faultAttr = TraceKind(id: 0x0003, .fault, "fail_dump",
                                            "name {name:t}, interval {interval:a}, probability {probability:b}, space {space:c}, times {times:d}",
                                            mirrors: "fail_dump (lib/fault-inject.c)")
    /// `verbose=2`: dump_stack's task line, and the site where Linux prints the stack.
    public static let faultTask = TraceKind(id: 0x0004, .fault, "dump_stack", "CPU: {cpu:a} PID: {pid:b} Comm: {comm:t}",
                                            mirrors: "dump_stack (lib/dump_stack.c)")
    public static let faultCallTrace = TraceKind(id: 0x0005, .fault, "dump_stack", "Call Trace: {site:t}",
                                                 mirrors: "dump_stack (lib/dump_stack.c)")
    public static let all: [TraceKind] = [inject, faultNotice, faultAttr, faultTask, faultCallTrace]
    public static let ids: ClosedRange<UInt16> = 0x0000...0x0fff
}
