import Testing
import JHABI
import JHMachine
@testable import JHLinux

@Suite struct HotplugTests {
    let cpuBase = "/sys/devices/system/cpu"

    @Test func bootsWithEveryCPUOnline() throws {
        let k = try makeKernel(cpus: 4)
        #expect(k.online == [0, 1, 2, 3] && k.numOnlineCPUs == 4 && k.nrCPUIDs == 4)
        #expect(k.possible == k.online)
        #expect((0..<4).allSatisfy { k.hotplugState($0) == .online && k.cpuOnline($0) })
        #expect(try k.sysfs.read(cpuBase + "/online") == "0-3\n")
        #expect(try k.sysfs.read(cpuBase + "/offline") == "\n")
        #expect(try k.sysfs.read(cpuBase + "/possible") == "0-3\n")
        #expect(k.machine.statusLine(2) == "cpu2: linux: online")
    }

    @Test(arguments: [ExecutorKind.inline, .dispatch])
    func removeAndAddACPU(_ executor: ExecutorKind) throws {
        let k = try makeKernel(cpus: 4, executor: executor)
        var offlined: [CPUID] = []
        k.onCPUOffline = { offlined.append($0) }
        #expect(try k.removeCPU(2) == .changed)
        #expect(k.online == [0, 1, 3] && k.hotplugState(2) == .offline)
        #expect(offlined == [2])
        #expect(try k.sysfs.read(cpuBase + "/cpu2/online") == "0\n")
        #expect(try k.sysfs.read(cpuBase + "/offline") == "2\n")
        #expect(k.machine.statusLine(2) == "cpu2: linux: offline")
        #expect(try k.addCPU(2) == .changed)
        #expect(k.online == [0, 1, 2, 3] && k.hotplugState(2) == .online)
        #expect(k.dmesg().contains { $0.hasSuffix("smpboot: CPU 2 is now offline") })
        // One cpu_down costs exactly the sum of its section costs, one cpu_up likewise.
        let c = k.machine.cost
        let down = [c.cpuDownOnlineSection, c.stopMachine, c.cpuDownDyingSection, c.cpuDownPrepareSection]
        let up = [c.cpuUpPrepareSection, c.cpuUpBringup, c.cpuUpStartingSection, c.cpuUpOnlineSection]
        let total = (down + up).reduce(0) { $0 + $1.nanoseconds }
        #expect(k.machine.now.nanoseconds <= total && k.machine.now.nanoseconds > total - 100)
    }

    @Test func stepsRunOnTheDyingCPUAndTheControlCPU() throws {
        let k = try makeKernel(cpus: 4, executor: .dispatch)
        let pid = k.spawnProcess(name: "jailhouse", cpu: 1)
        try k.removeCPU(3, caller: pid)
        let steps = k.events("cpuhp_teardown")
        let onTarget = steps.filter { $0.cpu == 3 }.map { $0.detail }
        let onControl = steps.filter { $0.cpu == 1 }.map { $0.detail }
        #expect(onTarget.count == 7 && onControl.count == 5)
        #expect(onTarget.first == "cpu=3 state=CPUHP_AP_ACTIVE fn=sched_cpu_deactivate")
        #expect(onControl.first == "cpu=3 state=CPUHP_TEARDOWN_CPU fn=takedown_cpu")
        #expect(steps.allSatisfy { $0.cpu == 1 || $0.cpu == 3 })
    }

    @Test func controlCPUAvoidsTheTarget() throws {
        let k = try makeKernel(cpus: 4, bootCPUHotpluggable: true)
        try k.removeCPU(0)    // the caller (CPU 0 by default) is the target: CPU 1 takes over
        #expect(k.events("cpuhp_teardown").first { $0.detail.contains("TEARDOWN_CPU") }?.cpu == 1)
        #expect(k.controlCPU(avoiding: 2, caller: nil) == 1)
    }

    @Test func alreadyOfflineOrOnlineReturnsOneLikeDeviceOfflineOnline() throws {
        let k = try makeKernel(cpus: 4)
        #expect(try k.addCPU(1) == .alreadyInState)
        #expect(HotplugOutcome.alreadyInState.cValue == 1)
        try k.removeCPU(1)
        let before = k.machine.now
        #expect(try k.removeCPU(1) == .alreadyInState)
        #expect(k.machine.now == before)
        // sysfs `online_store` treats "already" as success.
        try k.sysfs.write(cpuBase + "/cpu1/online", "0")
        try k.sysfs.write(cpuBase + "/cpu1/online", "1\n")
        try k.sysfs.write(cpuBase + "/cpu1/online", "1")
        #expect(k.cpuOnline(1))
    }

    @Test func invalidCPUNumbersAndTheBootCPU() throws {
        let k = try makeKernel(cpus: 4)
        #expect(throws: Errno.noDevice) { try k.removeCPU(4) }
        #expect(throws: Errno.noDevice) { try k.removeCPU(-1) }
        #expect(throws: Errno.noDevice) { try k.addCPU(99) }
        #expect(throws: Errno.invalidArgument) { try k.cpuDown(7, caller: nil) }
        #expect(throws: Errno.invalidArgument) { try k.cpuUp(7, caller: nil) }
        #expect(throws: Errno.notPermitted) { try k.removeCPU(0) }
        #expect(!k.sysfs.exists(cpuBase + "/cpu0/online"))
        #expect(k.cpuOnline(0))
    }

    @Test func theLastOnlineCPUStays() throws {
        let k = try makeKernel(cpus: 2, bootCPUHotpluggable: true)
        try k.removeCPU(1)
        #expect(throws: Errno.busy) { try k.removeCPU(0) }
        #expect(k.online == [0])
        #expect(throws: Errno.busy) { try k.cpuDown(1, caller: nil) }
    }

    @Test func sysfsOnlineRejectsBadValues() throws {
        let k = try makeKernel(cpus: 4)
        for bad in ["", "2", "x", "o", "ox"] {
            #expect(throws: Errno.invalidArgument) { try k.sysfs.write(cpuBase + "/cpu3/online", bad) }
        }
        try k.sysfs.write(cpuBase + "/cpu3/online", "off")
        #expect(!k.cpuOnline(3))
        try k.sysfs.write(cpuBase + "/cpu3/online", "y")
        #expect(k.cpuOnline(3))
        #expect(Kernel.kstrtobool("N") == false && Kernel.kstrtobool("on") == true)
    }

    @Test func refusedStartupIPIFailsWithEIOAfterTenSeconds() throws {
        let k = try makeKernel(cpus: 4, executor: .dispatch)
        try k.removeCPU(2)
        k.startupIPI = { $0 != 2 }
        let t0 = k.machine.now
        #expect(throws: Errno.ioError) { try k.addCPU(2) }
        #expect(k.machine.now - t0 >= Kernel.apAliveTimeout)
        #expect(k.hotplugMachine(2)?.phase == .idle)
        #expect(k.hotplugState(2) == .offline && !k.cpuOnline(2))
        #expect(try k.sysfs.read(cpuBase + "/cpu2/online") == "0\n")
        #expect(k.dmesg(maxLevel: .err).contains { $0.hasSuffix("CPU2 failed to report alive state") })
        k.startupIPI = { _ in true }
        try k.addCPU(2)
        #expect(k.cpuOnline(2))
    }

    @Test(arguments: fallibleStates(.down))
    func faultAtEachTeardownStateRollsBackOnline(_ state: CPUHPState) throws {
        let k = try makeKernel(cpus: 4, executor: .dispatch, faults: ["cpu_down:cpu=3:state=\(state.cName):errno=EBUSY"])
        var offlined: [CPUID] = []
        k.onCPUOffline = { offlined.append($0) }
        #expect(throws: Errno.busy) { try k.removeCPU(3) }
        #expect(k.hotplugState(3) == .online && k.cpuOnline(3) && offlined.isEmpty)
        #expect(try k.sysfs.read(cpuBase + "/cpu3/online") == "1\n")
        #expect(k.rollbackFailures.isEmpty)
        #expect(k.events("cpuhp_teardown").last?.result == .error(.busy))
    }

    @Test(arguments: fallibleStates(.up).filter { $0 != .bringupCPU })
    func faultAtEachBringupStateRollsBackOffline(_ state: CPUHPState) throws {
        let k = try makeKernel(cpus: 4, executor: .dispatch, faults: ["cpu_up:cpu=1:state=\(state.cName)"])
        try k.removeCPU(1)
        #expect(throws: Errno.noMemory) { try k.addCPU(1) }
        #expect(k.hotplugState(1) == .offline && !k.cpuOnline(1))
        #expect(try k.sysfs.read(cpuBase + "/cpu1/online") == "0\n")
    }

    @Test func firstFallibleStepIsWhatNthOneHits() throws {
        let k = try makeKernel(cpus: 4, faults: ["cpu_down:cpu=3:nth=1:errno=EBUSY", "cpu_up_bringup:cpu=2"])
        #expect(throws: Errno.busy) { try k.removeCPU(3) }
        #expect(k.events("cpuhp_teardown").map(\.detail) == ["cpu=3 state=CPUHP_AP_ACTIVE fn=sched_cpu_deactivate"])
        try k.removeCPU(3)      // nth=1 is spent
        try k.removeCPU(2)
        #expect(throws: Errno.ioError) { try k.addCPU(2) }
        #expect(k.hotplugState(2) == .offline)
    }

    @Test func failureDuringRollbackIsReportedAndTheCPUStays() throws {
        let k = try makeKernel(cpus: 4, executor: .dispatch,
                               faults: ["cpu_down:cpu=2:state=CPUHP_AP_WORKQUEUE_ONLINE:errno=EBUSY",
                                        "cpuhp_rollback:cpu=2:errno=ENOMEM"])
        #expect(throws: Errno.busy) { try k.removeCPU(2) }
        #expect(k.hotplugState(2) == .apWorkqueueOnline)
        #expect(k.rollbackFailures == [HotplugRollbackFailure(
            cpu: 2, operation: "cpu_down", error: .busy, failedAt: .apWorkqueueOnline, rollbackError: .noMemory,
            stuckAt: .apWorkqueueOnline, time: k.rollbackFailures.first?.time ?? .zero)])
        #expect(k.machine.statusLine(2) == "cpu2: linux: stuck@CPUHP_AP_WORKQUEUE_ONLINE")
        #expect(k.cpuOnline(2))   // still before CPUHP_TEARDOWN_CPU
        #expect(k.dmesg(maxLevel: .warning).contains { $0.contains("rollback failed") })
        #expect(k.events("cpuhp_stuck").count == 1)
        // The device never went offline, so a second remove_cpu tries again from there.
        k.machine.faults.removeAll()
        #expect(try k.removeCPU(2) == .changed)
        #expect(k.hotplugState(2) == .offline)
    }

    @Test func bringupRollbackFailureLeavesTheCPUHalfUp() throws {
        let k = try makeKernel(cpus: 4, faults: ["cpu_up:cpu=1:state=CPUHP_AP_ACTIVE", "cpuhp_rollback:cpu=1:nth=2"])
        try k.removeCPU(1)
        #expect(throws: Errno.noMemory) { try k.addCPU(1) }
        #expect(k.rollbackFailures.count == 1)
        let stuck = try #require(k.hotplugState(1))
        #expect(stuck > .offline && stuck < .online)
        // add_cpu again continues the bring-up (the device is still marked offline).
        k.machine.faults.removeAll()
        #expect(try k.addCPU(1) == .changed)
        #expect(k.hotplugState(1) == .online)
    }
}
