import JHABI
import JHMachine

// The per-CPU hotplug `fail` attribute (kernel/cpu.c, CONFIG_CPU_HOTPLUG_STATE_CONTROL):
// /sys/devices/system/cpu/cpuN/hotplug/fail, and the global list of states to aim at,
// /sys/devices/system/cpu/hotplug/states.

extension LinuxTrace {
    /// A write to `cpuN/hotplug/fail` that was accepted (b: the state number, -1 clears).
    public static let cpuhpFailStore = k(0x1e0, "cpuhp_fail_store", "cpu={cpu:a} fail={fail:b}",
                                         mirrors: "fail_store (kernel/cpu.c)")
    /// The armed state was reached: its callback is not run and the step fails with -EAGAIN.
    public static let cpuhpFailInjected = k(0x1e1, "cpuhp_fail", "cpu={cpu:a} state={state:b:hp} -EAGAIN",
                                            mirrors: "cpuhp_invoke_callback (kernel/cpu.c)")
}

extension Kernel {
    /// `CPUHP_INVALID`: what `fail` reads when nothing is armed, and the value that clears it.
    public static let cpuhpInvalid = -1

    /// Registers `hotplug/states` and every CPU's `hotplug/fail` (boot time, never injected).
    func registerHotplugFailFiles(_ base: String) {
        sysfs.mkdirs(base + "/hotplug")
        // Mirrors states_show (kernel/cpu.c): "%3d: %s\n" for every state with a name. The
        // numbers are the simulated states' own (the model keeps a subset of the kernel's).
        try? sysfs.createFile(base + "/hotplug/states", show: { () throws(Errno) -> String in
            CPUHPState.allCases.map { s in
                let n = String(s.rawValue)
                return String(repeating: " ", count: max(0, 3 - n.count)) + n + ": " + s.cName + "\n"
            }.joined()
        }, checked: false)
        for cpu in 0..<nrCPUIDs {
            let dir = sysfs.mkdirs(base + "/cpu\(cpu)/hotplug")
            try? sysfs.createFile("fail", in: dir, show: { [unowned self] () throws(Errno) -> String in
                "\(cpuhp[cpu].fail?.rawValue ?? Self.cpuhpInvalid)\n"
            }, store: { [unowned self] (text: String) throws(Errno) in try storeHotplugFail(cpu, text) }, checked: false)
        }
    }

    /// Arms (or with -1 clears) a one-shot failure of CPU `cpu`'s next hotplug operation at
    /// one state. Mirrors `fail_store` (kernel/cpu.c): a number (`kstrtoint`; jhsim also
    /// takes the state's `CPUHP_` name); refused with EINVAL outside OFFLINE…ONLINE, for
    /// the atomic STARTING/DYING states, for states at or below CPUHP_BRINGUP_CPU while the
    /// CPU is above it (those are teardown's DEAD callbacks, which cannot fail), and for
    /// states without callbacks.
    func storeHotplugFail(_ cpu: CPUID, _ text: String) throws(Errno) {
        let word = text.hasSuffix("\n") ? String(text.dropLast()) : text
        let number: Int
        if let s = CPUHPState(cName: word) {
            number = s.rawValue
        } else {
            number = try Self.kstrtoint(text)
        }
        if number == Self.cpuhpInvalid {
            cpuhp[cpu].fail = nil
            record(LinuxTrace.cpuhpFailStore, a: cpu, b: number)
            return
        }
        guard let state = CPUHPState(rawValue: number) else { throw .invalidArgument }
        // cpuhp_is_atomic_state: CPUHP_AP_IDLE_DEAD ≤ state < CPUHP_AP_ONLINE.
        guard state.section != .starting || state == .apOnline else { throw .invalidArgument }
        guard !(state <= .bringupCPU && cpuhp[cpu].state > .bringupCPU) else { throw .invalidArgument }
        guard state.startupCallback != nil || state.teardownCallback != nil else { throw .invalidArgument }
        cpuhp[cpu].fail = state
        record(LinuxTrace.cpuhpFailStore, a: cpu, b: number)
    }

    /// Mirrors `kstrtoint(s, 10, …)` (lib/kstrtox.c): an optional sign, decimal digits, an
    /// optional trailing newline; EINVAL for anything else, ERANGE beyond `int`.
    static func kstrtoint(_ text: String) throws(Errno) -> Int {
        var bytes = Array(text.utf8)
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        var negative = false
        if let f = bytes.first, f == UInt8(ascii: "+") || f == UInt8(ascii: "-") {
            negative = f == UInt8(ascii: "-")
            bytes.removeFirst()
        }
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw .invalidArgument
        }
        var v = 0
        for b in bytes {
            v = v * 10 + Int(b - UInt8(ascii: "0"))
            guard v <= Int(Int32.max) + 1 else { throw .outOfRange }
        }
        v = negative ? -v : v
        guard v >= Int(Int32.min), v <= Int(Int32.max) else { throw .outOfRange }
        return v
    }

    /// Whether CPU `cpu`'s armed `fail` state is `state`; if so it is disarmed (one shot),
    /// as `cpuhp_invoke_callback` resets `st->fail` before returning -EAGAIN.
    func takeHotplugFail(_ cpu: CPUID, at state: CPUHPState) -> Bool {
        guard cpuhp[cpu].fail == state else { return false }
        cpuhp[cpu].fail = nil
        return true
    }
}
