import JHABI
import JHMachine

/// The root Linux kernel's trace kinds (ids 0x1000–0x1fff).
///
/// Each constant is one kind of step with its text template; `Kernel` records them with
/// numeric arguments only (see `TraceKind` for the template language).
public enum LinuxTrace {
    public static let ids: ClosedRange<UInt16> = 0x1000...0x1fff

    /// Formats the templates below use, beyond the built-in `d`/`x`/`u`.
    public static let formats: [String: @Sendable (Int) -> String] = [
        // A hotplug state (low byte: CPUHPState raw value) by its kernel name.
        "hp": { CPUHPState(rawValue: $0 & 0xff)?.cName ?? "CPUHP_\($0 & 0xff)" },
        // A hotplug callback: low byte the state, bit 8 set for the startup direction.
        "cb": { v in
            let dir: CPUHPDirection = v & 0x100 != 0 ? .up : .down
            return CPUHPState(rawValue: v & 0xff)?.callback(dir) ?? "-"
        },
        // A PCI address packed as domain << 16 | bdf, printed as `pci_name()` does.
        "pci": { PCIAddress(domain: UInt16(truncatingIfNeeded: $0 >> 16), bdf: UInt16(truncatingIfNeeded: $0)).description },
        // Four hex digits, zero-padded (PCI vendor and device ids).
        "x4": { v in
            let s = String(v & 0xffff, radix: 16)
            return String(repeating: "0", count: 4 - s.count) + s
        },
    ]

    static func k(_ n: UInt16, _ op: String, phase: TracePhase = .instant, _ template: String = "",
                  mirrors: String? = nil, legacy: TraceKind.Legacy = .same) -> TraceKind {
        TraceKind(id: 0x1000 + n, .linux, op, phase: phase, template, mirrors: mirrors, formats: formats, legacy: legacy)
    }

    public static let boot = k(0x01, "boot", "cpus={cpus:s} nr_cpu_ids={nr:a}", mirrors: "start_kernel (init/main.c)")
    public static let sysfsStoreOnline = k(0x02, "sysfs_store", "path=/sys/devices/system/cpu/cpu{cpu:a}/online value={value:b}",
                                           mirrors: "online_store (drivers/base/core.c)")
    /// Text argument: the path written.
    public static let sysfsNoEntry = k(0x04, "sysfs_store", "path={path:t} does not exist", mirrors: "sysfs_open_file (fs/sysfs/file.c)",
                                       legacy: .absent)
    public static let printk = k(0x03, "printk", "level={level:a} {text:t}", mirrors: "printk (kernel/printk/printk.c)")

    // kmalloc (include/linux/slab.h, mm/slub.c)
    public static let kmalloc = k(0x10, "kmalloc", "size={size:a} tag={tag:t}", mirrors: "kmalloc (include/linux/slab.h)")
    public static let kzalloc = k(0x11, "kzalloc", "size={size:a} tag={tag:t}", mirrors: "kzalloc (include/linux/slab.h)")
    public static let kmallocDone = k(0x12, "kmalloc", "size={size:a} tag={tag:t} pa=0x{pa:b:x}", mirrors: "kmalloc (include/linux/slab.h)")
    public static let kzallocDone = k(0x13, "kzalloc", "size={size:a} tag={tag:t} pa=0x{pa:b:x}", mirrors: "kzalloc (include/linux/slab.h)")
    public static let kfreeInvalid = k(0x14, "kfree", "addr=0x{addr:a:x}", mirrors: "kfree (mm/slub.c)")
    public static let kfree = k(0x15, "kfree", "size={size:a} tag={tag:t}", mirrors: "kfree (mm/slub.c)")
    public static let badKernelWrite = k(0x16, "bad_kernel_access", "write addr=0x{addr:a:x}")
    public static let badKernelRead = k(0x17, "bad_kernel_access", "read addr=0x{addr:a:x}")

    // CPU hotplug (kernel/cpu.c)
    public static let removeCPU = k(0x20, "remove_cpu", phase: .begin, "cpu={cpu:a}", mirrors: "remove_cpu (kernel/cpu.c)")
    public static let removeCPUAlready = k(0x21, "remove_cpu", phase: .end, "cpu={cpu:a} already offline")
    public static let removeCPUDone = k(0x22, "remove_cpu", phase: .end, "cpu={cpu:a}")
    public static let addCPU = k(0x23, "add_cpu", phase: .begin, "cpu={cpu:a}", mirrors: "add_cpu (kernel/cpu.c)")
    public static let addCPUAlready = k(0x24, "add_cpu", phase: .end, "cpu={cpu:a} already online")
    public static let addCPUDone = k(0x25, "add_cpu", phase: .end, "cpu={cpu:a}")
    public static let cpuDown = k(0x26, "cpu_down", phase: .begin, "cpu={cpu:a} from={from:b:hp} target={target:c:hp}",
                                  mirrors: "_cpu_down (kernel/cpu.c)")
    public static let cpuUp = k(0x27, "cpu_up", phase: .begin, "cpu={cpu:a} from={from:b:hp} target={target:c:hp}",
                                mirrors: "_cpu_up (kernel/cpu.c)")
    public static let cpuDownDone = k(0x28, "cpu_down", phase: .end, "cpu={cpu:a} state={state:b:hp}")
    public static let cpuUpDone = k(0x29, "cpu_up", phase: .end, "cpu={cpu:a} state={state:b:hp}")
    public static let cpuDownFailed = k(0x2a, "cpu_down", phase: .end, "cpu={cpu:a} failed_at={failed_at:b:hp} state={state:c:hp}")
    public static let cpuUpFailed = k(0x2b, "cpu_up", phase: .end, "cpu={cpu:a} failed_at={failed_at:b:hp} state={state:c:hp}")
    public static let cpuhpStuck = k(0x2c, "cpuhp_stuck", "cpu={cpu:a} failed_at={failed_at:b:hp} stuck_at={stuck_at:c:hp}",
                                     mirrors: "WARN_ON in cpuhp_down_callbacks/cpuhp_up_callbacks (kernel/cpu.c)")
    /// Arguments: a = CPU, b = state, c = state | 0x100 for the startup direction.
    public static let cpuhpTeardown = k(0x2d, "cpuhp_teardown", "cpu={cpu:a} state={state:b:hp} fn={fn:c:cb}",
                                        mirrors: "{fn:c:cb} (cpuhp_invoke_callback, kernel/cpu.c)")
    public static let cpuhpBringup = k(0x2e, "cpuhp_bringup", "cpu={cpu:a} state={state:b:hp} fn={fn:c:cb}",
                                       mirrors: "{fn:c:cb} (cpuhp_invoke_callback, kernel/cpu.c)")
    public static let cpuhpRollback = k(0x2f, "cpuhp_rollback", "cpu={cpu:a} state={state:b:hp} fn={fn:c:cb}",
                                        mirrors: "{fn:c:cb} (cpuhp_invoke_callback, kernel/cpu.c)")
    /// The exported calls of Linux ≤ 5.6 that the seed's driver makes: the hotplug core
    /// without the CPU's device (`dev->offline`, sysfs `cpuN/online`, stays as it was).
    public static let cpuDownExported = k(0x38, "cpu_down", phase: .begin, "cpu={cpu:a} (exported call: the device is bypassed)",
                                          mirrors: "cpu_down (kernel/cpu.c, Linux ≤ 5.6)", legacy: .absent)
    public static let cpuDownExportedDone = k(0x39, "cpu_down", phase: .end, "cpu={cpu:a} (exported call)", legacy: .absent)
    public static let cpuUpExported = k(0x3a, "cpu_up", phase: .begin, "cpu={cpu:a} (exported call: the device is bypassed)",
                                        mirrors: "cpu_up (kernel/cpu.c, Linux ≤ 5.6)", legacy: .absent)
    public static let cpuUpExportedDone = k(0x3b, "cpu_up", phase: .end, "cpu={cpu:a} (exported call)", legacy: .absent)

    // Processes, user memory, signals
    public static let spawn = k(0x40, "spawn", "pid={pid:a} name={name:t}", mirrors: "kernel_clone (kernel/fork.c)")
    public static let exit = k(0x41, "exit", "pid={pid:a}", mirrors: "do_exit (kernel/exit.c)")
    public static let mmap = k(0x42, "mmap", "pid={pid:a} addr=0x{addr:b:x} len={len:c}", mirrors: "do_mmap (mm/mmap.c)")
    public static let copyFromUser = k(0x43, "copy_from_user", "pid={pid:a} addr=0x{addr:b:x} count={count:c}",
                                       mirrors: "copy_from_user (include/linux/uaccess.h)")
    public static let copyToUser = k(0x44, "copy_to_user", "pid={pid:a} addr=0x{addr:b:x} count={count:c}",
                                     mirrors: "copy_to_user (include/linux/uaccess.h)")
    public static let signal = k(0x45, "signal", "pid={pid:a} at={at:b:u}", mirrors: "send_signal_locked (kernel/signal.c)")

    // Mutexes (kernel/locking/mutex.c)
    static let lockMirrors = "mutex_lock_interruptible (kernel/locking/mutex.c)"
    public static let mutexLockInjected = k(0x50, "mutex_lock", "lock={lock:t} pid={pid:a} injected", mirrors: lockMirrors)
    public static let mutexLock = k(0x51, "mutex_lock", "lock={lock:t} pid={pid:a}", mirrors: lockMirrors)
    public static let mutexLockInterrupted = k(0x52, "mutex_lock", "lock={lock:t} pid={pid:a} waited={waited:b:u}", mirrors: lockMirrors)
    public static let mutexLockDeadlock = k(0x53, "mutex_lock", "lock={lock:t} pid={pid:a} owner={owner:b} never released",
                                            mirrors: lockMirrors)
    public static let mutexWait = k(0x54, "mutex_wait", "lock={lock:t} pid={pid:a} waited={waited:b:u}",
                                    mirrors: "__mutex_lock_common (kernel/locking/mutex.c)")
    public static let mutexUnlockNotOwner = k(0x55, "mutex_unlock", "lock={lock:t} pid={pid:a} not owner",
                                              mirrors: "mutex_unlock (kernel/locking/mutex.c)")
    public static let mutexUnlock = k(0x56, "mutex_unlock", "lock={lock:t} pid={pid:a}", mirrors: "mutex_unlock (kernel/locking/mutex.c)")

    // PCI (drivers/pci, drivers/base/dd.c); a PCI address is packed as domain << 16 | bdf.
    public static let pciAddDevice = k(0x60, "pci_add_device", "dev={dev:a:pci} id={vendor:b:x4}:{device:c:x4}",
                                       mirrors: "pci_bus_add_device (drivers/pci/bus.c)")
    public static let pciRemoveDevice = k(0x61, "pci_remove_device", "dev={dev:a:pci}",
                                          mirrors: "pci_stop_and_remove_bus_device (drivers/pci/remove.c)")
    public static let pciRegisterDriver = k(0x62, "pci_register_driver", "driver={driver:t} ids={ids:a}",
                                            mirrors: "__pci_register_driver (drivers/pci/pci-driver.c)")
    public static let pciUnregisterDriver = k(0x63, "pci_unregister_driver", "driver={driver:t}",
                                              mirrors: "pci_unregister_driver (drivers/pci/pci-driver.c)")
    public static let pciAddDynID = k(0x64, "pci_add_dynid", "driver={driver:t} id={vendor:a:x4}:{device:b:x4}",
                                      mirrors: "new_id_store (drivers/pci/pci-driver.c)")
    public static let pciUnbind = k(0x65, "pci_unbind", "dev={dev:a:pci} driver={driver:t}", mirrors: "device_release_driver (drivers/base/dd.c)")
    public static let pciProbe = k(0x66, "pci_probe", "dev={dev:a:pci} driver={driver:t}", mirrors: "really_probe (drivers/base/dd.c)")
    /// Text argument: the oops description.
    public static let oops = k(0x70, "oops", "{what:t}", mirrors: "die (arch/x86/kernel/dumpstack.c)")

    public static let all: [TraceKind] = [
        oops,
        sysfsNoEntry, boot, sysfsStoreOnline, printk,
        kmalloc, kzalloc, kmallocDone, kzallocDone, kfreeInvalid, kfree, badKernelWrite, badKernelRead,
        removeCPU, removeCPUAlready, removeCPUDone, addCPU, addCPUAlready, addCPUDone,
        cpuDown, cpuUp, cpuDownDone, cpuUpDone, cpuDownFailed, cpuUpFailed, cpuhpStuck,
        cpuhpTeardown, cpuhpBringup, cpuhpRollback, cpuhpFailStore, cpuhpFailInjected,
        cpuDownExported, cpuDownExportedDone, cpuUpExported, cpuUpExportedDone,
        spawn, exit, mmap, copyFromUser, copyToUser, signal,
        mutexLockInjected, mutexLock, mutexLockInterrupted, mutexLockDeadlock, mutexWait, mutexUnlockNotOwner, mutexUnlock,
        pciAddDevice, pciRemoveDevice, pciRegisterDriver, pciUnregisterDriver, pciAddDynID, pciUnbind, pciProbe,
    ]
}

extension PCIAddress {
    /// The packed form trace events carry: domain << 16 | bdf.
    var traceValue: Int { Int(domain) << 16 | Int(bdf) }
}
