import JHABI
import JHMachine

/// What `remove_cpu`/`add_cpu` returned when they did not fail.
public enum HotplugOutcome: Sendable, Hashable {
    /// The CPU changed state (the C function returned 0).
    case changed
    /// The CPU device was already in the requested state: `device_offline` and
    /// `device_online` return **1** then, and `remove_cpu`/`add_cpu` pass that 1 on.
    /// (Callers that test `if (err)` treat it as a failure, as the Jailhouse driver's
    /// destroy path does when logging "failed to bring CPU back online".)
    case alreadyInState

    /// The C return value.
    public var cValue: Int { self == .changed ? 0 : 1 }
}

extension Kernel {
    /// printk formats of the hotplug path (kernel/smpboot.c, arch/x86/kernel/smpboot.c).
    static let cpuOfflineMessage = LogFormat("smpboot: CPU %d is now offline")
    static let bootingCPUMessage = LogFormat("smpboot: Booting Node 0 Processor %d APIC 0x%x")

    /// How long the control CPU waits for a kicked AP to report alive before `cpu_up`
    /// fails with EIO (`cpuhp_wait_for_sync_state` in kernel/cpu.c polls for 10 s).
    public static let apAliveTimeout = VirtualDuration.ms(10_000)

    /// A CPU's hotplug state machine (state, phase, pending step), for views and checkers.
    public func hotplugMachine(_ cpu: CPUID) -> CPUHotplugMachine? {
        cpuPossible(cpu) ? cpuhp[cpu] : nil
    }

    /// Takes a CPU offline through its device. Mirrors `remove_cpu` (kernel/cpu.c) →
    /// `device_offline` (drivers/base/core.c) → `cpu_device_down` → `cpu_down`.
    ///
    /// - Parameter caller: the process asking; its CPU is the control CPU that runs the
    ///   control-side callbacks (CPU 0 when nil). If that is the dying CPU, the lowest other
    ///   online CPU takes over, as `cpu_down_maps_locked` does with `work_on_cpu`.
    /// - Returns: `.alreadyInState` (C: 1) if the device is already offline.
    /// - Throws: `ENODEV` for a CPU number without a device (C: `get_cpu_device` returns
    ///   NULL and `device_offline(NULL)` would oops; the simulator reports ENODEV instead),
    ///   `EPERM` for the boot CPU when it is not hotpluggable (`offline_disabled`),
    ///   `EBUSY` for the last online CPU, or the error of a failing teardown callback
    ///   (after the CPU rolled back online).
    @discardableResult
    public func removeCPU(_ cpu: CPUID, caller: PID? = nil) throws(Errno) -> HotplugOutcome {
        record(LinuxTrace.removeCPU, a: cpu)
        do throws(Errno) {
            guard cpuPossible(cpu) else { throw Errno.noDevice }
            guard cpu != 0 || bootCPUHotpluggable else { throw Errno.notPermitted }
            if deviceOffline[cpu] {
                record(LinuxTrace.removeCPUAlready, result: .value(1), a: cpu)
                return .alreadyInState
            }
            try cpuDown(cpu, caller: caller)
            deviceOffline[cpu] = true
            record(LinuxTrace.removeCPUDone, result: .ok, a: cpu)
            return .changed
        } catch {
            record(LinuxTrace.removeCPUDone, result: .error(error), a: cpu)
            throw error
        }
    }

    /// Brings a CPU online through its device. Mirrors `add_cpu` (kernel/cpu.c) →
    /// `device_online` (drivers/base/core.c) → `cpu_device_up` → `cpu_up`.
    ///
    /// - Returns: `.alreadyInState` (C: 1) if the device is already online.
    /// - Throws: `ENODEV` for a CPU number without a device (C would oops), `EIO` if the
    ///   AP never reports alive (`startupIPI` refused, or `cpu_up_bringup` injected), or
    ///   the error of a failing startup callback (after the CPU rolled back offline).
    @discardableResult
    public func addCPU(_ cpu: CPUID, caller: PID? = nil) throws(Errno) -> HotplugOutcome {
        record(LinuxTrace.addCPU, a: cpu)
        do throws(Errno) {
            guard cpuPossible(cpu) else { throw Errno.noDevice }
            if !deviceOffline[cpu] {
                record(LinuxTrace.addCPUAlready, result: .value(1), a: cpu)
                return .alreadyInState
            }
            try cpuUp(cpu, caller: caller)
            deviceOffline[cpu] = false
            record(LinuxTrace.addCPUDone, result: .ok, a: cpu)
            onCPUOnline(cpu)
            return .changed
        } catch {
            record(LinuxTrace.addCPUDone, result: .error(error), a: cpu)
            throw error
        }
    }

    /// Mirrors `cpu_down(cpu, CPUHP_OFFLINE)` → `cpu_down_maps_locked` → `_cpu_down`
    /// (kernel/cpu.c). An already offline CPU is a success (no callback to run).
    /// - Throws: `EINVAL` for an impossible CPU, `EBUSY` if it would leave no CPU online.
    func cpuDown(_ cpu: CPUID, caller: PID?) throws(Errno) {
        guard cpuPossible(cpu) else { throw .invalidArgument }
        // cpu_down_maps_locked: the control work runs on an online CPU other than the target.
        guard let control = controlCPU(avoiding: cpu, caller: caller) else { throw .busy }
        // _cpu_down: never take the last CPU away.
        guard numOnlineCPUs > 1 else { throw .busy }
        let wasOnline = cpuOnline(cpu)
        let phase = machine.beginPhase(.cpuDown)
        defer { machine.endPhase(phase) }
        try runHotplug(cpu, target: .offline, control: control, operation: "cpu_down")
        if wasOnline {
            printk(.info, LogLine(Self.cpuOfflineMessage, cpu))
            onCPUOffline(cpu)
        }
    }

    /// Mirrors `cpu_up(cpu, CPUHP_ONLINE)` → `_cpu_up` (kernel/cpu.c). An already online
    /// CPU is a success.
    /// - Throws: `EINVAL` for an impossible CPU.
    func cpuUp(_ cpu: CPUID, caller: PID?) throws(Errno) {
        guard cpuPossible(cpu) else {
            printk(.err, "can't online cpu \(cpu) because it is not configured as may-hotadd at boot time")
            throw .invalidArgument
        }
        if cpuhp[cpu].state >= .online { return }
        guard let control = controlCPU(avoiding: cpu, caller: caller) else { throw .busy }
        printk(.info, LogLine(Self.bootingCPUMessage, cpu, cpu))
        let phase = machine.beginPhase(.cpuUp)
        defer { machine.endPhase(phase) }
        try runHotplug(cpu, target: .online, control: control, operation: "cpu_up")
    }

    /// The CPU that runs the control side: the caller's CPU if it is online and not the
    /// target, else the lowest other online CPU.
    func controlCPU(avoiding target: CPUID, caller: PID?) -> CPUID? {
        let preferred = caller.flatMap { processes[$0]?.cpu } ?? 0
        if preferred != target && online.contains(preferred) { return preferred }
        return online.first { $0 != target }
    }

    /// Drives a CPU's state machine to `target`, running each callback on its CPU: the
    /// ONLINE and STARTING sections on the hotplugged CPU's own queue (the dying CPU's
    /// teardown is the stop-machine handshake), the rest on the control CPU. Consecutive
    /// steps on the same CPU share one handoff.
    func runHotplug(_ cpu: CPUID, target: CPUHPState, control: CPUID, operation: String) throws(Errno) {
        let down = operation == "cpu_down"
        record(down ? LinuxTrace.cpuDown : LinuxTrace.cpuUp, cpu: control, a: cpu, b: cpuhp[cpu].state.rawValue, c: target.rawValue)
        var action = cpuhp[cpu].begin(target: target)
        while true {
            switch action {
            case .finished:
                record(down ? LinuxTrace.cpuDownDone : LinuxTrace.cpuUpDone, cpu: control, result: .ok, a: cpu, b: cpuhp[cpu].state.rawValue)
                return
            case .failed(let error, let at):
                printk(.debug, "CPU \(operation == "cpu_down" ? "DOWN" : "UP") failed (\(error.negated)) CPU \(cpu) state \(at.cName)")
                record(down ? LinuxTrace.cpuDownFailed : LinuxTrace.cpuUpFailed, cpu: control, result: .error(error),
                       a: cpu, b: at.rawValue, c: cpuhp[cpu].state.rawValue)
                throw error
            case .rollbackFailed(let error, let at, let rbError, let stuck):
                rollbackFailures.append(HotplugRollbackFailure(cpu: cpu, operation: operation, error: error, failedAt: at,
                                                               rollbackError: rbError, stuckAt: stuck, time: machine.now))
                printk(.warning, "WARNING: CPU\(cpu) \(operation) rollback failed (\(rbError.negated)); CPU left at \(stuck.cName)")
                record(LinuxTrace.cpuhpStuck, cpu: control, result: .error(rbError), a: cpu, b: at.rawValue, c: stuck.rawValue)
                record(down ? LinuxTrace.cpuDownFailed : LinuxTrace.cpuUpFailed, cpu: control, result: .error(error),
                       a: cpu, b: at.rawValue, c: stuck.rawValue)
                throw error
            case .invoke(let step):
                let whereCPU = step.runsOnTarget ? cpu : control
                action = machine.run(on: whereCPU) {
                    runSteps(cpu, on: whereCPU, control: control, first: step)
                }
            }
        }
    }

    /// Runs steps on `whereCPU` for as long as the state machine asks for that CPU.
    private func runSteps(_ cpu: CPUID, on whereCPU: CPUID, control: CPUID,
                          first: CPUHotplugMachine.Step) -> CPUHotplugMachine.Action {
        var step = first
        while true {
            let action = performStep(cpu, on: whereCPU, step)
            guard case .invoke(let next) = action, (next.runsOnTarget ? cpu : control) == whereCPU else {
                return action
            }
            step = next
        }
    }

    /// Runs one callback: charges its cost, passes the fault seam (fallible steps only),
    /// asks the platform to start the AP at CPUHP_BRINGUP_CPU, records it and tells the
    /// state machine.
    private func performStep(_ cpu: CPUID, on whereCPU: CPUID, _ step: CPUHotplugMachine.Step) -> CPUHotplugMachine.Action {
        machine.advance(machine.cost.hotplugStepCost(step.state, step.direction))
        var failure: Errno? = nil
        if step.isFallible {
            let site: FaultSiteKey
            if step.isRollback { site = .cpuhpRollback }
            else if step.state == .bringupCPU { site = .cpuUpBringup }
            else { site = step.direction == .down ? .cpuDown : .cpuUp }
            if takeHotplugFail(cpu, at: step.state) {
                // cpuhp_invoke_callback: the armed `fail` state wins over the callback.
                record(LinuxTrace.cpuhpFailInjected, cpu: whereCPU, result: .error(.again), a: cpu, b: step.state.rawValue)
                failure = .again
            } else {
                do { try machine.check(site, cpu: cpu, detail: step.state.cName) } catch { failure = error }
            }
            if step.state == .bringupCPU && step.direction == .up {
                if failure == nil && !startupIPI(cpu) { failure = .ioError }
                if failure != nil {
                    // cpuhp_bp_sync_alive: the control CPU polls for 10 s, then gives up.
                    machine.advance(Self.apAliveTimeout)
                    printk(.err, "CPU\(cpu) failed to report alive state")
                }
            }
        }
        let kind = step.isRollback ? LinuxTrace.cpuhpRollback : (step.direction == .down ? LinuxTrace.cpuhpTeardown : LinuxTrace.cpuhpBringup)
        record(kind, cpu: whereCPU, result: failure.map { .error($0) } ?? .ok,
               a: cpu, b: step.state.rawValue, c: step.state.rawValue | (step.direction == .up ? 0x100 : 0))
        let next = failure.map { cpuhp[cpu].stepFailed($0) } ?? cpuhp[cpu].stepSucceeded()
        // cpu_online_mask: cleared in take_cpu_down, set in start_secondary.
        if cpuhp[cpu].state > .apOnline { online.insert(cpu) } else { online.remove(cpu) }
        return next
    }
}
