/// The conductor's agenda: actions ordered by (virtual time, sequence number).
///
/// Each action is an *activity* (a process issuing an ioctl, a signal arriving, an inmate
/// acting). It runs to completion, one at a time; the machine's clock starts at the
/// event's time and advances with the costs the activity incurs. Ties are broken by the
/// order of scheduling, so the agenda never depends on anything but the inputs.
public struct EventQueue {
    public struct Entry {
        public var time: VirtualTime
        public var seq: UInt64
        public var label: String
        var action: () -> Void
    }
    private var heap: [Entry] = []
    private var nextSeq: UInt64 = 0

    public init() {}

    public var isEmpty: Bool { heap.isEmpty }
    public var count: Int { heap.count }
    /// Labels of the pending events in the order they will run.
    public var pendingLabels: [String] {
        heap.sorted { Self.before($0, $1) }.map(\.label)
    }

    public mutating func schedule(at time: VirtualTime, label: String, _ action: @escaping () -> Void) {
        heap.append(Entry(time: time, seq: nextSeq, label: label, action: action))
        nextSeq += 1
        var i = heap.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard Self.before(heap[i], heap[p]) else { break }
            heap.swapAt(i, p)
            i = p
        }
    }

    /// Removes and returns the earliest event.
    public mutating func popNext() -> Entry? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count, Self.before(heap[l], heap[m]) { m = l }
            if r < heap.count, Self.before(heap[r], heap[m]) { m = r }
            if m == i { break }
            heap.swapAt(i, m)
            i = m
        }
        return top
    }

    public var nextTime: VirtualTime? { heap.first?.time }

    static func before(_ a: Entry, _ b: Entry) -> Bool {
        a.time != b.time ? a.time < b.time : a.seq < b.seq
    }
}
