import Testing
#if canImport(Glibc)
import Glibc
#endif
import JHABI
import JHMachine
@testable import JHLinux

/// A random workload over the kernel, every choice drawn from the seed: admin
/// offline/online through sysfs, kmalloc/kfree, contended mutexes with signals, and one or
/// two fault rules. Returns the machine so callers can compare trace hashes.
/// The scenario's closing summary (a test-only kind from the machine range's test corner).
let summaryKind = TraceKind(id: 0x0f01, .machine, "summary", "online={online:s} live={live:a} stuck={stuck:b}")

func kernelScenario(seed: UInt64, executor: ExecutorKind, cpus: Int = 6, activities: Int = 40) throws -> Kernel {
    var pick = SplitMix64(seed: seed ^ 0x6a68_7369_6d00)
    func r(_ n: Int) -> Int { Int(pick.next() % UInt64(n)) }
    let ruleMenu = [
        "cpu_down:nth=\(1 + r(4)):errno=EBUSY", "cpu_up:cpu=\(1 + r(cpus - 1))", "cpu_up_bringup:nth=\(1 + r(3))",
        "kmalloc:nth=\(1 + r(6))", "mutex_lock_interruptible:nth=\(1 + r(5))", "cpuhp_rollback:nth=1",
        "copy_from_user:nth=\(1 + r(3))", "sysfs_create:nth=1",
    ]
    var rules: [String] = [ruleMenu[r(ruleMenu.count)]]
    if r(2) == 0 { rules.append(ruleMenu[r(ruleMenu.count)]) }
    let k = try makeKernel(cpus: cpus, seed: seed, executor: executor, faults: rules)
    let m = k.machine
    let lock = KernelMutex(name: "jailhouse_lock")
    let pids = (0..<3).map { k.spawnProcess(name: "proc\($0)", cpu: r(cpus)) }
    var live: [UInt64] = []
    for i in 0..<activities {
        let pid = pids[r(pids.count)]
        let at = VirtualTime(nanoseconds: UInt64(r(40_000_000)))
        let kind = r(6)
        let cpu = 1 + r(cpus - 1)
        let size = r(5000)
        let hold = UInt64(r(20_000_000))
        if r(5) == 0 { k.sendSignal(pid, at: VirtualTime(nanoseconds: UInt64(r(40_000_000)))) }
        m.schedule(at: at, "activity \(i)") {
            switch kind {
            case 0, 1:
                // echo 0|1 > /sys/devices/system/cpu/cpuN/online
                try? k.sysfs.write("/sys/devices/system/cpu/cpu\(cpu)/online", k.cpuOnline(cpu) ? "0" : "1")
            case 2:
                if let a = try? k.kmalloc(size, tag: "act\(i)") { live.append(a) }
            case 3:
                if !live.isEmpty { k.kfree(live.removeFirst()) }
            case 4:
                // An ioctl: lock, read the argument, hotplug a CPU, unlock.
                do throws(Errno) {
                    try k.mutexLockInterruptible(lock, pid: pid)
                    let u = k.mapUser(pid, [UInt8](repeating: UInt8(i & 0xff), count: 16))
                    _ = try? k.copyFromUser(pid, u, count: 16)
                    if k.cpuOnline(cpu) { _ = try? k.removeCPU(cpu, caller: pid) } else { _ = try? k.addCPU(cpu, caller: pid) }
                    m.advance(.ns(hold))
                    k.mutexUnlock(lock, pid: pid)
                } catch {
                    k.deliverSignals(pid)
                }
            default:
                try? k.sysfs.mkdir("/sys/act\(i)")
                _ = try? k.sysfs.read("/sys/devices/system/cpu/online")
            }
        }
    }
    m.runEvents()
    m.record(summaryKind, a: k.kmallocStats.liveObjects, b: k.rollbackFailures.count, set: k.online)
    return k
}

@Suite struct DeterminismTests {
    @Test func hundredSeedsGiveIdenticalTracesOnBothExecutors() throws {
        var hashes = Set<UInt64>()
        var seen: [String: Int] = [:]
        for seed in UInt64(0)..<100 {
            let a = try kernelScenario(seed: seed, executor: .inline)
            let b = try kernelScenario(seed: seed, executor: .dispatch)
            #expect(a.machine.trace.hash == b.machine.trace.hash, "seed \(seed)")
            #expect(a.machine.horizon == b.machine.horizon, "seed \(seed)")
            #expect(a.dmesg() == b.dmesg(), "seed \(seed)")
            hashes.insert(a.machine.trace.hash)
            for e in a.machine.trace.events {
                let key = e.layer == .fault ? "fault" : e.op + (e.result == .error(.interrupted) ? ":EINTR" : "")
                seen[key, default: 0] += 1
            }
        }
        #expect(hashes.count == 100)
        // The scenarios really exercise what they claim to.
        for op in ["cpuhp_teardown", "cpuhp_bringup", "cpuhp_rollback", "fault", "mutex_wait", "mutex_lock:EINTR",
                   "kmalloc", "kfree", "copy_from_user", "sysfs_store", "cpuhp_stuck"] {
            #expect(seen[op, default: 0] > 0, "never saw \(op)")
        }
    }

    @Test func sameSeedSameTrace() throws {
        for seed: UInt64 in [3, 77] {
            let a = try kernelScenario(seed: seed, executor: .dispatch)
            let b = try kernelScenario(seed: seed, executor: .dispatch)
            #expect(a.machine.trace.hash == b.machine.trace.hash)
            #expect(a.machine.trace.events.count > 100)
        }
    }
}

/// Threads of this process, from /proc/self/status.
func processThreadCount() -> Int? {
    guard let f = fopen("/proc/self/status", "r") else { return nil }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 512)
    while fgets(&line, 512, f) != nil {
        let s = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if s.hasPrefix("Threads:") { return Int(s.dropFirst(8).filter { $0.isNumber }) }
    }
    return nil
}

@Suite(.serialized) struct ScaleTests {
    @Test func aThousandCPUsBootOfflineAndOnlineOnDispatch() throws {
        let k = try makeKernel(cpus: 1024, executor: .dispatch)
        #expect(k.numOnlineCPUs == 1024)
        #expect(try k.sysfs.read("/sys/devices/system/cpu/online") == "0-1023\n")
        let targets = Array(stride(from: 1, to: 1024, by: 3))
        for c in targets { try k.removeCPU(c) }
        #expect(k.numOnlineCPUs == 1024 - targets.count)
        #expect(try k.sysfs.read("/sys/devices/system/cpu/offline").hasPrefix("1,4,7,"))
        for c in targets { try k.addCPU(c) }
        #expect(k.numOnlineCPUs == 1024)
        // No thread per vCPU: the process stays far below 1024 threads. (libdispatch keeps
        // idle workers from other tests' broadcasts alive, so the exact count varies.)
        if let t = processThreadCount() { #expect(t < 512, "threads: \(t)") }
    }
}
