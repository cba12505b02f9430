/// How much virtual time each primitive costs. Every constant is overridable by name
/// (`jhsim lab init --cost ipi=2000`); Docs/cost-model.md gives the source of each default.
///
/// The defaults describe a small x86 server running Linux under a hypervisor. They are
/// calibrated from published figures, not measured here:
/// - CPU hotplug: runtime offlining costs "tens of milliseconds" (Panneerselvam & Swift,
///   "Bolt: Faster Reconfiguration in Operating Systems", USENIX ATC'15); serial x86 AP
///   bring-up is about 4–5 ms per CPU (the 2023 parallel CPU bring-up patch series).
/// - VM exits: a hypercall round trip (vmcall exit + entry) is on the order of 1 µs on
///   recent Intel parts; an IPI between vCPUs a few microseconds.
public struct CostModel: Hashable, Sendable, Codable {
    /// Teardown of the ONLINE section of one CPU on the control CPU (scheduler, workqueues, …).
    public var cpuDownOnlineSection = VirtualDuration.ms(8)
    /// The stop-machine handshake that runs the dying CPU's STARTING-section teardown.
    public var stopMachine = VirtualDuration.us(250)
    /// STARTING-section teardown on the dying CPU, interrupts off.
    public var cpuDownDyingSection = VirtualDuration.us(150)
    /// PREPARE-section teardown on the control CPU after the CPU is dead.
    public var cpuDownPrepareSection = VirtualDuration.ms(4)
    /// PREPARE-section bring-up on the control CPU.
    public var cpuUpPrepareSection = VirtualDuration.ms(1)
    /// INIT/SIPI and AP boot until the CPU reports alive (serial x86 bring-up).
    public var cpuUpBringup = VirtualDuration.ms(4)
    /// STARTING-section bring-up on the new CPU.
    public var cpuUpStartingSection = VirtualDuration.us(200)
    /// ONLINE-section bring-up callbacks.
    public var cpuUpOnlineSection = VirtualDuration.ms(2)
    /// One inter-processor interrupt, send to handler entry.
    public var ipi = VirtualDuration.us(2)
    /// VM exit into the hypervisor for a hypercall.
    public var hypercallEntry = VirtualDuration.ns(500)
    /// VM entry back into the guest after a hypercall.
    public var hypercallExit = VirtualDuration.ns(500)
    /// Mapping or unmapping one 4 KiB page in a cell's second-level page tables.
    public var pageMap = VirtualDuration.ns(120)
    /// One `kmalloc`/`kfree`.
    public var kmalloc = VirtualDuration.ns(150)
    /// Fixed cost of one `copy_from_user`.
    public var copyFromUser = VirtualDuration.ns(80)
    /// Uncontended mutex lock or unlock.
    public var mutex = VirtualDuration.ns(30)
    /// Creating, moving or removing one sysfs object.
    public var sysfsObject = VirtualDuration.us(3)
    /// One round of comm-region polling by the hypervisor (one loop iteration of
    /// `cell_exchange_message`; `msg_reply_timeout` counts these).
    public var messagePoll = VirtualDuration.ns(100)
    /// How long a cooperative inmate takes to answer a comm-region message.
    public var inmateReply = VirtualDuration.us(20)

    public init() {}

    /// Every overridable constant by name, in a fixed order.
    public static var names: [(String, WritableKeyPath<CostModel, VirtualDuration>, String)] {[
        ("cpu_down_online", \.cpuDownOnlineSection, "ONLINE-section teardown of one CPU"),
        ("stop_machine", \.stopMachine, "stop-machine handshake with the dying CPU"),
        ("cpu_down_dying", \.cpuDownDyingSection, "STARTING-section teardown on the dying CPU"),
        ("cpu_down_prepare", \.cpuDownPrepareSection, "PREPARE-section teardown"),
        ("cpu_up_prepare", \.cpuUpPrepareSection, "PREPARE-section bring-up"),
        ("cpu_up_bringup", \.cpuUpBringup, "INIT/SIPI and AP boot"),
        ("cpu_up_starting", \.cpuUpStartingSection, "STARTING-section bring-up on the new CPU"),
        ("cpu_up_online", \.cpuUpOnlineSection, "ONLINE-section bring-up"),
        ("ipi", \.ipi, "one inter-processor interrupt"),
        ("hypercall_entry", \.hypercallEntry, "VM exit for a hypercall"),
        ("hypercall_exit", \.hypercallExit, "VM entry after a hypercall"),
        ("page_map", \.pageMap, "map or unmap one 4 KiB page"),
        ("kmalloc", \.kmalloc, "one kmalloc or kfree"),
        ("copy_from_user", \.copyFromUser, "one copy_from_user"),
        ("mutex", \.mutex, "uncontended mutex lock or unlock"),
        ("sysfs_object", \.sysfsObject, "create, move or remove one sysfs object"),
        ("message_poll", \.messagePoll, "one comm-region polling iteration"),
        ("inmate_reply", \.inmateReply, "a cooperative inmate's reply latency"),
    ]}

    /// Sets one constant by name; returns false for an unknown name.
    public mutating func set(_ name: String, nanoseconds: UInt64) -> Bool {
        guard let entry = Self.names.first(where: { $0.0 == name }) else { return false }
        self[keyPath: entry.1] = .ns(nanoseconds)
        return true
    }
}
