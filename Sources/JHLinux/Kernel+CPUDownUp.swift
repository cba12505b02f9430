import JHABI
import JHMachine

extension Kernel {
    /// Takes a CPU offline the way Linux ≤ 5.6 let modules do it. Mirrors `cpu_down`
    /// (kernel/cpu.c) as exported before 5.7: `do_cpu_down` → `cpu_down_maps_locked` →
    /// `_cpu_down`, with no `device_offline`, so the CPU device's `offline` flag — what
    /// `/sys/devices/system/cpu/cpuN/online` reads — keeps saying 1. The seed's driver
    /// calls it from `jailhouse_cmd_cell_create`.
    ///
    /// Unlike `remove_cpu`, an already offline CPU is simply a success (0): there is no
    /// device to report "already in that state".
    /// - Throws: `EINVAL` for a CPU that is not possible, `EBUSY` for the last online CPU,
    ///   or the error of a failing teardown callback (after the CPU rolled back online).
    public func cpuDownExported(_ cpu: CPUID, caller: PID? = nil) throws(Errno) {
        record(LinuxTrace.cpuDownExported, a: cpu)
        do throws(Errno) {
            try cpuDown(cpu, caller: caller)
            record(LinuxTrace.cpuDownExportedDone, result: .ok, a: cpu)
        } catch {
            record(LinuxTrace.cpuDownExportedDone, result: .error(error), a: cpu)
            throw error
        }
    }

    /// Brings a CPU online the way Linux ≤ 5.6 let modules do it. Mirrors `cpu_up`
    /// (kernel/cpu.c) as exported before 5.7: `do_cpu_up` → `_cpu_up`, with no
    /// `device_online`, so the CPU device's `offline` flag is left as it was (an admin's
    /// earlier `echo 0 > online` keeps reading 0 on a CPU that is back online).
    ///
    /// The online-state callbacks run as for any bring-up (`onCPUOnline`).
    /// - Throws: `EINVAL` for a CPU that is not possible, `EIO` if the AP never reports
    ///   alive, or the error of a failing startup callback (after the CPU rolled back).
    public func cpuUpExported(_ cpu: CPUID, caller: PID? = nil) throws(Errno) {
        record(LinuxTrace.cpuUpExported, a: cpu)
        do throws(Errno) {
            let wasOnline = cpuOnline(cpu)
            try cpuUp(cpu, caller: caller)
            record(LinuxTrace.cpuUpExportedDone, result: .ok, a: cpu)
            if !wasOnline { onCPUOnline(cpu) }
        } catch {
            record(LinuxTrace.cpuUpExportedDone, result: .error(error), a: cpu)
            throw error
        }
    }

    /// What `/sys/devices/system/cpu/cpuN/online` reads: the device's view, which the
    /// exported `cpu_down`/`cpu_up` of Linux ≤ 5.6 leave stale. Nil for a CPU without the
    /// file (CPU 0 when the boot CPU cannot be unplugged, or an impossible CPU).
    public func onlineFile(_ cpu: CPUID) -> Bool? {
        guard cpuPossible(cpu), cpu != 0 || bootCPUHotpluggable else { return nil }
        return !deviceOffline[cpu]
    }
}
