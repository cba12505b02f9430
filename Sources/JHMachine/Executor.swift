import Dispatch
import Synchronization
import JHABI

/// Which executor runs vCPU work.
public enum ExecutorKind: String, Sendable, Codable, CaseIterable {
    /// Real threads: every vCPU owns a serial `DispatchQueue`; work for CPU n runs there.
    case dispatch
    /// The same work items run on the caller's thread: fast, for sweeps and benchmarks.
    case inline
}

/// Runs work "on a CPU". Both implementations must give byte-identical traces for the
/// same seed, which holds because the caller always waits for the work it hands off and
/// broadcast results come back in CPU order.
///
/// The rule that keeps libdispatch's 255-thread pool from deadlocking: a *caller* may
/// block waiting for a target CPU, a *target* never blocks on anything but a nested
/// handoff. Suspended, parked or offline CPUs are states in data, not waiting threads.
public protocol VCPUExecutor: AnyObject, Sendable {
    var kind: ExecutorKind { get }
    /// Work items handed to another vCPU's thread so far (a broadcast counts one per
    /// target); always 0 for the inline executor, which hands nothing off.
    var handoffCount: Int { get }
    /// Runs `work` on CPU `cpu`'s thread and returns its result once it finished.
    func run<T, E: Error>(on cpu: CPUID, _ work: () throws(E) -> T) throws(E) -> T
    /// Runs `work(cpu)` for every CPU at once, each on its own thread; results come back in
    /// the order of `cpus`. Each work item may touch only its own CPU's state.
    func broadcast<T>(_ cpus: [CPUID], _ work: (CPUID) -> T) -> [T]
}

/// Carries a value across a thread handoff that the caller waits for.
///
/// The handoff is structured (the sender blocks until the receiver is done, and the
/// semaphore/group gives the happens-before edge both ways), so the value is never used
/// by two threads at once. That is the one place this package vouches for sendability.
struct Handoff<Value>: @unchecked Sendable {
    var value: Value
}

/// Runs every work item directly on the calling thread.
public final class InlineExecutor: VCPUExecutor {
    public init() {}
    public var kind: ExecutorKind { .inline }
    public var handoffCount: Int { 0 }
    public func run<T, E: Error>(on cpu: CPUID, _ work: () throws(E) -> T) throws(E) -> T {
        try work()
    }
    public func broadcast<T>(_ cpus: [CPUID], _ work: (CPUID) -> T) -> [T] {
        cpus.map(work)
    }
}

/// One serial `DispatchQueue` per vCPU: work for CPU n really executes on a thread that
/// libdispatch gives that queue.
public final class DispatchExecutor: VCPUExecutor {
    private let queues: [DispatchQueue]
    /// Per target vCPU: the semaphore its handoffs signal and the submitted body, reused
    /// by every handoff to that vCPU (handoffs to one vCPU never overlap: its caller waits).
    private let mailboxes: [Mailbox]
    /// Thread handoffs performed so far: one per `run(on:)` that left the calling thread,
    /// one per broadcast target that did. Benchmarks divide it by their cycles to get the
    /// handoff-bound limit of a run.
    private let handoffs = Atomic<Int>(0)
    public var handoffCount: Int { handoffs.load(ordering: .relaxed) }
    private let key = DispatchSpecificKey<Int>()
    /// A handoff that does not finish in this time is a simulator bug (a cycle of CPUs
    /// waiting for each other); it stops the process with a message instead of hanging.
    private let deadlockTimeoutSeconds: Int

    public init(cpuCount: Int, deadlockTimeoutSeconds: Int = 120) {
        self.deadlockTimeoutSeconds = deadlockTimeoutSeconds
        let key = self.key
        queues = (0..<cpuCount).map { i in
            let q = DispatchQueue(label: "jhsim.vcpu\(i)")
            q.setSpecific(key: key, value: i)
            return q
        }
        mailboxes = (0..<cpuCount).map { _ in Mailbox() }
    }

    public var kind: ExecutorKind { .dispatch }

    /// The vCPU whose queue the current thread is running, if any.
    public var currentCPU: CPUID? { DispatchQueue.getSpecific(key: key) }

    public func run<T, E: Error>(on cpu: CPUID, _ work: () throws(E) -> T) throws(E) -> T {
        precondition(cpu >= 0 && cpu < queues.count, "no vCPU \(cpu)")
        if currentCPU == cpu { return try work() }
        handoffs.add(1, ordering: .relaxed)
        let box = mailboxes[cpu]
        return try withoutActuallyEscaping(work) { (escapable) throws(E) -> T in
            var result: Result<T, E>? = nil
            withUnsafeMutablePointer(to: &result) { p in
                // The target writes `result` before it signals; the caller reads it after
                // waiting, so the two never touch it at once.
                let slot = Handoff(value: p)
                box.claim()
                box.body = { slot.value.pointee = Result { () throws(E) -> T in try escapable() } }
                queues[cpu].async(execute: box.submit)
                if box.done.wait(timeout: .now() + .seconds(deadlockTimeoutSeconds)) == .timedOut {
                    fatalError("jhsim: handoff to vCPU \(cpu) did not finish in \(deadlockTimeoutSeconds) s: simulator deadlock")
                }
                box.release()
            }
            switch result! {
            case .success(let v): return v
            case .failure(let e): throw e
            }
        }
    }

    public func broadcast<T>(_ cpus: [CPUID], _ work: (CPUID) -> T) -> [T] {
        if cpus.isEmpty { return [] }
        let here = currentCPU
        return withoutActuallyEscaping(work) { escapable in
            let box = Holder(escapable)
            defer { box.work = nil }
            let slots = UnsafeMutablePointer<T?>.allocate(capacity: cpus.count)
            slots.initialize(repeating: nil, count: cpus.count)
            defer { slots.deinitialize(count: cpus.count); slots.deallocate() }
            let out = Handoff(value: slots)
            let group = DispatchGroup()
            var local: [Int] = []
            for (i, cpu) in cpus.enumerated() {
                precondition(cpu >= 0 && cpu < queues.count, "no vCPU \(cpu)")
                if cpu == here { local.append(i); continue }
                handoffs.add(1, ordering: .relaxed)
                queues[cpu].async(group: group) { (out.value + i).pointee = box.work!(cpu) }
            }
            for i in local { (slots + i).pointee = escapable(cpus[i]) }
            if group.wait(timeout: .now() + .seconds(deadlockTimeoutSeconds)) == .timedOut {
                fatalError("jhsim: broadcast to CPUs \(cpus) did not finish in \(deadlockTimeoutSeconds) s: simulator deadlock")
            }
            return (0..<cpus.count).map { slots[$0]! }
        }
    }

}

/// A vCPU's reusable handoff machinery: one semaphore and one submitted closure for the
/// life of the executor, instead of a semaphore, a job object and a message per call.
private final class Mailbox: @unchecked Sendable {
    let done = DispatchSemaphore(value: 0)
    /// Set by the caller before submitting, cleared by the target before it signals, so
    /// the non-escaping work never outlives the caller's wait.
    var body: (() -> Void)?
    private let inUse = Atomic<Bool>(false)
    private(set) lazy var submit: @Sendable () -> Void = { [unowned self] in
        self.body!()
        self.body = nil
        self.done.signal()
    }

    /// Handoffs to one vCPU never overlap (the one running activity waits for each); a
    /// second concurrent one would be a simulator bug, so it stops loudly.
    func claim() {
        let free = inUse.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        precondition(free, "jhsim: two handoffs to one vCPU at once")
    }
    func release() { inUse.store(false, ordering: .releasing) }
}

/// Broadcast work shared by the target threads; cleared once every target has finished.
private final class Holder<A, R>: @unchecked Sendable {
    var work: ((A) -> R)?
    init(_ work: @escaping (A) -> R) { self.work = work }
}
