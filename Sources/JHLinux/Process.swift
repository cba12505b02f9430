import JHABI
import JHMachine

/// A simulated user process: a name, the CPU it runs on, its user address space and
/// its signals.
///
/// A class, so that the kernel finds a process once per call and changes it in place
/// (a struct in the process table would be looked up again, or copied, per change).
final class Process {
    var name: String
    var cpu: CPUID
    /// Mappings sorted by start address.
    var mappings: [(start: UInt64, bytes: [UInt8])] = []
    var nextMap: UInt64 = Kernel.userMapBase
    /// Arrival times of signals not yet delivered, ascending.
    var signals: [VirtualTime] = []
    /// For a process that lives outside the simulation (a real program driving it through
    /// libjhsim-preload): reads its memory instead of `mappings`.
    var outsideMemory: OutsideMemory?

    init(name: String, cpu: CPUID) { self.name = name; self.cpu = cpu }

    /// The mapping that holds `address`, if any.
    func mappingIndex(containing address: UInt64) -> Int? {
        mappings.firstIndex { address >= $0.start && address < $0.start + UInt64($0.bytes.count) }
    }
}

/// Reads `count` bytes at `address` from a process whose memory is outside the
/// simulation; nil when any of them is unmapped there (the read then faults).
public typealias OutsideMemory = (_ address: UInt64, _ count: Int) -> [UInt8]?

extension Kernel {
    /// Where `mapUser` places the first mapping of a process (a typical x86-64 PIE heap).
    public static let userMapBase: UInt64 = 0x5555_5555_0000
    /// The end of the x86-64 user address space (`TASK_SIZE_MAX`).
    public static let userSpaceEnd: UInt64 = 0x7fff_ffff_f000

    /// Creates a process running on `cpu`. PIDs are handed out in order from 1000.
    public func spawnProcess(name: String, cpu: CPUID = 0) -> PID {
        let pid = PID(rawValue: nextPID)
        nextPID += 1
        processes[pid] = Process(name: name, cpu: cpu)
        record(LinuxTrace.spawn, cpu: cpu, a: Int(pid.rawValue), text: name)
        return pid
    }

    /// Ends a process: its memory and pending signals go away.
    public func exitProcess(_ pid: PID) {
        guard processes.removeValue(forKey: pid) != nil else { return }
        record(LinuxTrace.exit, a: Int(pid.rawValue))
    }

    public func processName(_ pid: PID) -> String? { processes[pid]?.name }

    /// Makes `copy_from_user` for this process read `memory` instead of its simulated
    /// mappings: the process is a real program's stand-in, and its argument structs and
    /// the buffers they point to live in that program. `copy_to_user` to it faults.
    public func attachOutsideMemory(_ pid: PID, _ memory: @escaping OutsideMemory) {
        processes[pid]?.outsideMemory = memory
    }
    /// The CPU a process runs on (its system calls' control CPU).
    public func processCPU(_ pid: PID) -> CPUID? { processes[pid]?.cpu }
    /// Moves a process to another CPU (`sched_setaffinity` to one CPU).
    public func setProcessCPU(_ pid: PID, _ cpu: CPUID) { processes[pid]?.cpu = cpu }
    /// Every live process, in PID order.
    public var pids: [PID] { processes.keys.sorted() }

    // MARK: User memory

    /// Maps `bytes` into the process at the next free address, leaving an unmapped guard
    /// page after each mapping, so separately mapped buffers are never contiguous.
    /// - Returns: the user address; 0 (NULL, which faults) for an unknown process.
    @discardableResult
    public func mapUser(_ pid: PID, _ bytes: [UInt8]) -> UInt64 {
        guard let p = processes[pid] else { return 0 }
        let at = p.nextMap
        insertMapping(pid, at: at, bytes)
        return at
    }

    /// Maps `bytes` at a fixed user address (`MAP_FIXED_NOREPLACE`), e.g. right after
    /// another mapping to build a buffer that spans two mappings.
    /// - Throws: `ESRCH` for an unknown process, `EEXIST` if the range overlaps a mapping,
    ///   `EINVAL` if it is not inside user space.
    @discardableResult
    public func mapUser(_ pid: PID, _ bytes: [UInt8], at address: UInt64) throws(Errno) -> UInt64 {
        guard let p = processes[pid] else { throw .noProcess }
        let end = address.addingReportingOverflow(UInt64(bytes.count))
        guard !end.overflow, address > 0, end.partialValue <= Self.userSpaceEnd else { throw .invalidArgument }
        for m in p.mappings where address < m.start + UInt64(m.bytes.count) && m.start < end.partialValue {
            throw .exists
        }
        insertMapping(pid, at: address, bytes)
        return address
    }

    /// Unmaps the mapping that starts at `address` (`munmap` of a whole buffer, as the
    /// tool's `free` of a file it read gives the pages back). The address is not reused:
    /// later mappings keep the addresses they would have had, so a run's trace does not
    /// depend on whether earlier buffers were freed. Records nothing (user-space
    /// bookkeeping, not a kernel step the trace follows).
    /// - Returns: whether a mapping started there.
    @discardableResult
    public func unmapUser(_ pid: PID, _ address: UInt64) -> Bool {
        guard let p = processes[pid], let i = p.mappings.firstIndex(where: { $0.start == address }) else { return false }
        p.mappings.remove(at: i)
        return true
    }

    /// The number of mappings of a process and the bytes they hold (nil for an unknown
    /// process): what a long-lived tool keeps mapped.
    public func userMappingStats(_ pid: PID) -> (count: Int, bytes: Int)? {
        guard let p = processes[pid] else { return nil }
        return (p.mappings.count, p.mappings.reduce(0) { $0 + $1.bytes.count })
    }

    private func insertMapping(_ pid: PID, at address: UInt64, _ bytes: [UInt8]) {
        let p = processes[pid]!
        let i = p.mappings.firstIndex { $0.start > address } ?? p.mappings.count
        p.mappings.insert((address, bytes), at: i)
        let page: UInt64 = 4096
        let end = (address + UInt64(bytes.count) + page - 1) / page * page
        p.nextMap = max(p.nextMap, end + page)
        record(LinuxTrace.mmap, cpu: p.cpu, a: Int(pid.rawValue), b: Int(bitPattern: UInt(address)), c: bytes.count)
    }

    /// Walks the mappings covering `[address, address+count)`; nil if any byte is unmapped.
    private func userSpans(_ p: Process, _ address: UInt64, _ count: Int) -> [(mapping: Int, offset: Int, length: Int)]? {
        var spans: [(Int, Int, Int)] = []
        var cursor = address
        var left = count
        while left > 0 {
            guard let i = p.mappings.firstIndex(where: { cursor >= $0.start && cursor < $0.start + UInt64($0.bytes.count) }) else {
                return nil
            }
            let m = p.mappings[i]
            let off = Int(cursor - m.start)
            let n = min(left, m.bytes.count - off)
            spans.append((i, off, n))
            cursor += UInt64(n)
            left -= n
        }
        return spans
    }

    /// Copies bytes from a process's memory into the kernel. Mirrors `copy_from_user`
    /// (include/linux/uaccess.h): a range that touches any unmapped byte fails as a whole.
    /// Adjacent mappings behave like contiguous memory.
    /// - Throws: `EFAULT` for unmapped or short ranges, negative counts, unknown processes,
    ///   or when injected (`copy_from_user`).
    public func copyFromUser(_ pid: PID, _ address: UInt64, count: Int) throws(Errno) -> [UInt8] {
        machine.advance(machine.cost.copyFromUser)
        do throws(Errno) {
            try machine.check(.copyFromUser, size: count, detail: processes[pid]?.name)
            guard count >= 0, let p = processes[pid] else { throw Errno.badAddress }
            var out: [UInt8] = []
            if let outside = p.outsideMemory {
                guard let bytes = outside(address, count), bytes.count == count else { throw Errno.badAddress }
                out = bytes
            } else if let i = p.mappingIndex(containing: address),
                      Int(address - p.mappings[i].start) + count <= p.mappings[i].bytes.count {
                // The whole range in one mapping (the usual case): one copy, no span list.
                let off = Int(address - p.mappings[i].start)
                out = Array(p.mappings[i].bytes[off ..< off + count])
            } else {
                guard let spans = userSpans(p, address, count) else { throw Errno.badAddress }
                out.reserveCapacity(count)
                for s in spans { out += p.mappings[s.mapping].bytes[s.offset ..< s.offset + s.length] }
            }
            record(LinuxTrace.copyFromUser, cpu: p.cpu, result: .ok, a: Int(pid.rawValue), b: Int(bitPattern: UInt(address)), c: count)
            return out
        } catch {
            record(LinuxTrace.copyFromUser, result: .error(error), a: Int(pid.rawValue), b: Int(bitPattern: UInt(address)), c: count)
            throw error
        }
    }

    /// `copy_from_user` straight into a kernel buffer.
    public func copyFromUser(_ pid: PID, _ address: UInt64, count: Int, toKernel kaddr: UInt64) throws(Errno) {
        writeKernel(kaddr, try copyFromUser(pid, address, count: count))
    }

    /// Copies bytes from the kernel into a process's memory. Mirrors `copy_to_user`.
    /// - Throws: `EFAULT` as `copyFromUser`, or when injected (`copy_to_user`).
    public func copyToUser(_ pid: PID, _ address: UInt64, _ bytes: [UInt8]) throws(Errno) {
        machine.advance(machine.cost.copyFromUser)
        do throws(Errno) {
            try machine.check(.copyToUser, size: bytes.count, detail: processes[pid]?.name)
            try writeUserUnchecked(pid, address, bytes)
            record(LinuxTrace.copyToUser, cpu: processes[pid]?.cpu, result: .ok, a: Int(pid.rawValue), b: Int(bitPattern: UInt(address)), c: bytes.count)
        } catch {
            record(LinuxTrace.copyToUser, result: .error(error), a: Int(pid.rawValue), b: Int(bitPattern: UInt(address)), c: bytes.count)
            throw error
        }
    }

    /// Writes into a process's memory as the process itself would (no fault site, no cost).
    /// - Throws: `EFAULT` if any byte is unmapped, `ESRCH` for an unknown process.
    public func writeUser(_ pid: PID, _ address: UInt64, _ bytes: [UInt8]) throws(Errno) {
        guard processes[pid] != nil else { throw .noProcess }
        try writeUserUnchecked(pid, address, bytes)
    }

    /// Reads a process's memory as the process itself would (no fault site, no cost).
    public func readUser(_ pid: PID, _ address: UInt64, count: Int) throws(Errno) -> [UInt8] {
        guard let p = processes[pid] else { throw .noProcess }
        guard count >= 0, let spans = userSpans(p, address, count) else { throw .badAddress }
        var out: [UInt8] = []
        for s in spans { out += p.mappings[s.mapping].bytes[s.offset ..< s.offset + s.length] }
        return out
    }

    private func writeUserUnchecked(_ pid: PID, _ address: UInt64, _ bytes: [UInt8]) throws(Errno) {
        guard let p = processes[pid], let spans = userSpans(p, address, bytes.count) else { throw .badAddress }
        var done = 0
        for s in spans {
            p.mappings[s.mapping].bytes.replaceSubrange(s.offset ..< s.offset + s.length, with: bytes[done ..< done + s.length])
            done += s.length
        }
    }

    // MARK: Signals

    /// Sends a signal to a process, arriving now (`at: nil`) or at a later virtual time.
    /// A pending signal makes an interruptible sleep return EINTR (see
    /// `mutexLockInterruptible`); the signal is consumed when it interrupts something or
    /// by `deliverSignals`.
    public func sendSignal(_ pid: PID, at time: VirtualTime? = nil) {
        guard let p = processes[pid] else { return }
        let t = time ?? machine.now
        let i = p.signals.firstIndex { $0 > t } ?? p.signals.count
        p.signals.insert(t, at: i)
        record(LinuxTrace.signal, cpu: p.cpu, a: Int(pid.rawValue), b: Int(bitPattern: UInt(t.nanoseconds)))
    }

    /// Whether a signal has arrived for the process by the current time (`signal_pending`).
    public func signalPending(_ pid: PID) -> Bool {
        guard let first = processes[pid]?.signals.first else { return false }
        return first <= machine.now
    }

    /// The arrival time of the process's next signal, pending or scheduled.
    public func nextSignal(_ pid: PID) -> VirtualTime? { processes[pid]?.signals.first }

    /// Delivers (drops) every signal that has arrived by now, as the return to user
    /// space would. - Returns: how many.
    @discardableResult
    public func deliverSignals(_ pid: PID) -> Int {
        guard let p = processes[pid] else { return 0 }
        let n = p.signals.prefix { $0 <= machine.now }.count
        p.signals.removeFirst(n)
        return n
    }

    func consumeSignal(_ pid: PID) {
        guard let p = processes[pid], !p.signals.isEmpty else { return }
        p.signals.removeFirst()
    }
}
