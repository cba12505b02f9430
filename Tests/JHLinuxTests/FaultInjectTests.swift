import JHABI
import JHMachine
import Testing
@testable import JHLinux

/// Linux fault-injection semantics (Documentation/fault-injection/fault-injection.rst):
/// the rule keys that mirror a fault attribute, and the per-CPU hotplug `fail` file.
@Suite struct FaultInjectSemanticsTests {
    func failing(_ k: Kernel, _ sizes: [Int]) -> [Bool] {
        sizes.map { (try? k.kmalloc($0, tag: "t")) == nil }
    }

    @Test func spaceLetsHitsPassUntilTheBudgetNoLongerExceedsTheirSize() throws {
        let k = try makeKernel(faults: ["kmalloc:space=100"])
        // 100 > 60 → 40 left; 40 > 30 → 10 left; 10 > 20 fails (and keeps failing).
        #expect(failing(k, [60, 30, 20, 5]) == [false, false, true, false])
        // Space is charged only while it exceeds the size: 10 > 5 passed the last one.
    }

    @Test func intervalFailsEveryNthEligibleHit() throws {
        let k = try makeKernel(faults: ["kmalloc:interval=3"])
        #expect(failing(k, Array(repeating: 8, count: 7)) == [false, false, true, false, false, true, false])
    }

    @Test func timesCapsTheFailuresAndMinusOneMeansNoLimit() throws {
        let k = try makeKernel(faults: ["kmalloc:interval=2:times=2"])
        #expect(failing(k, Array(repeating: 8, count: 8)) == [false, true, false, true, false, false, false, false])
        let unlimited = try makeKernel(faults: ["kmalloc:times=-1"])
        #expect(failing(unlimited, [8, 8, 8]) == [true, true, true])
    }

    @Test func taskFilterFailsOnlyHitsOfTheNamedProcess() throws {
        let k = try makeKernel(faults: ["kmalloc:task=jailhouse"])
        #expect(failing(k, [8]) == [false])   // kernel context: no current task
        k.machine.task = FaultTask(pid: 1001, name: "cat")
        #expect(failing(k, [8]) == [false])
        k.machine.task = FaultTask(pid: 1000, name: "jailhouse")
        #expect(failing(k, [8]) == [true])
    }

    @Test func failNthCountsEveryCheckAcrossSitesAndUsesTheSitesErrno() throws {
        let k = try makeKernel(faults: ["fail_nth=3"])
        let pid = k.spawnProcess(name: "jailhouse")
        let buf = k.mapUser(pid, [UInt8](repeating: 7, count: 16))
        _ = try k.kmalloc(8, tag: "a")                       // check 1
        _ = try k.copyFromUser(pid, buf, count: 4)           // check 2
        #expect(throws: Errno.badAddress) { try k.copyFromUser(pid, buf, count: 4) }   // check 3: EFAULT
        _ = try k.kmalloc(8, tag: "b")                       // fail-nth fires once
        #expect(k.machine.faults.fired == [1])
    }

    @Test func verboseRendersWhatFailDumpPrints() throws {
        let k = try makeKernel(faults: ["kmalloc:nth=2:verbose=2"])
        k.machine.task = FaultTask(pid: 1000, name: "jailhouse")
        #expect(failing(k, [8, 8]) == [false, true])
        let lines = k.machine.trace.events.filter { $0.layer == .fault }.map(\.detail)
        #expect(lines == ["kmalloc:t",
                          "FAULT_INJECTION: forcing a failure.",
                          "name failslab, interval 1, probability 100, space 0, times -1",
                          "CPU: 0 PID: 1000 Comm: jailhouse",
                          "Call Trace: kmalloc:t"])
    }

    // MARK: cpuN/hotplug/fail (fail_store in kernel/cpu.c)

    let fail2 = "/sys/devices/system/cpu/cpu2/hotplug/fail"

    @Test func hotplugFailFailsTheNextTeardownAtThatStateOnceWithEAGAIN() throws {
        let k = try makeKernel()
        #expect(try k.sysfs.read(fail2) == "-1\n")
        try k.sysfs.write(fail2, "\(CPUHPState.apActive.rawValue)\n")
        #expect(try k.sysfs.read(fail2) == "\(CPUHPState.apActive.rawValue)\n")
        #expect(throws: Errno.again) { try k.removeCPU(2) }
        #expect(k.cpuOnline(2))
        #expect(try k.sysfs.read(fail2) == "-1\n")
        try k.removeCPU(2)
        #expect(!k.cpuOnline(2))
        #expect(k.events("cpuhp_fail").count == 1)
    }

    @Test func hotplugFailTakesAStateNameAndFailsABringUp() throws {
        let k = try makeKernel()
        try k.removeCPU(3)
        try k.sysfs.write("/sys/devices/system/cpu/cpu3/hotplug/fail", "CPUHP_PERF_PREPARE")
        #expect(throws: Errno.again) { try k.addCPU(3) }
        #expect(!k.cpuOnline(3))
        try k.addCPU(3)
        #expect(k.cpuOnline(3))
    }

    @Test func hotplugFailRefusesStatesLinuxRefuses() throws {
        let k = try makeKernel()
        func refused(_ v: String) -> Errno? {
            do { try k.sysfs.write(fail2, v); return nil } catch { return error }
        }
        #expect(refused("\(CPUHPState.apSchedStarting.rawValue)") == .invalidArgument)   // atomic (STARTING)
        #expect(refused("\(CPUHPState.bringupCPU.rawValue)") == .invalidArgument)        // ≤ BRINGUP while online
        #expect(refused("\(CPUHPState.perfPrepare.rawValue)") == .invalidArgument)       // a DEAD callback while online
        #expect(refused("\(CPUHPState.online.rawValue)") == .invalidArgument)            // no callbacks
        #expect(refused("99") == .invalidArgument)
        #expect(refused("-5") == .invalidArgument)
        #expect(refused("two") == .invalidArgument)
        #expect(refused("") == .invalidArgument)
        #expect(refused("99999999999") == .outOfRange)
        #expect(try k.sysfs.read(fail2) == "-1\n")
        // Offline, the PREPARE and BRINGUP states may be aimed at; -1 clears.
        try k.removeCPU(2)
        #expect(refused("\(CPUHPState.bringupCPU.rawValue)\n") == nil)
        #expect(refused("-1") == nil)
        #expect(try k.sysfs.read(fail2) == "-1\n")
        try k.addCPU(2)
    }

    @Test func hotplugStatesListsTheNumbersFailTakes() throws {
        let k = try makeKernel()
        let states = try k.sysfs.read("/sys/devices/system/cpu/hotplug/states")
        #expect(states.hasPrefix("  0: CPUHP_OFFLINE\n"))
        #expect(states.contains(" \(CPUHPState.apActive.rawValue): CPUHP_AP_ACTIVE\n"))
    }
}
