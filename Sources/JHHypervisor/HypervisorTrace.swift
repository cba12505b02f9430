import JHABI
import JHMachine

/// The hypervisor's and the inmates' trace kinds (ids 0x2000–0x2fff).
///
/// `Hypervisor` records them with numeric arguments only; names that are data (a cell's
/// name, a unit's name, what pages are for) are passed as the text argument, which only
/// references the existing string.
public enum HypervisorTrace {
    public static let ids: ClosedRange<UInt16> = 0x2000...0x2fff

    static let taskNames = ["start", "set_loadable", "destroy"]

    /// Formats the templates below use, beyond the built-in `d`/`x`/`u`.
    public static let formats: [String: @Sendable (Int) -> String] = [
        "hc": { HypercallCode(rawValue: UInt32(truncatingIfNeeded: $0)).name },
        // Cell states by name (JAILHOUSE_CELL_*), never a bare number.
        "cellstate": { CellState(rawValue: UInt32(truncatingIfNeeded: $0)).traceName },
        "msg": { CommMessage(rawValue: UInt32(truncatingIfNeeded: $0)).description },
        "reply": { CommReply(rawValue: UInt32(truncatingIfNeeded: $0)).description },
        "cpustate": { HVCPUState.traceOrder.indices.contains($0) ? HVCPUState.traceOrder[$0].description : "?" },
        "task": { taskNames.indices.contains($0) ? taskNames[$0] : "?" },
        "inmate": { InmateKind.allCases.indices.contains($0) ? InmateKind.allCases[$0].rawValue : "?" },
    ]

    static func k(_ n: UInt16, _ op: String, phase: TracePhase = .instant, _ template: String = "",
                  mirrors: String? = nil, layer: TraceLayer = .hypervisor, legacy: TraceKind.Legacy = .same) -> TraceKind {
        TraceKind(id: 0x2000 + n, layer, op, phase: phase, template, mirrors: mirrors, formats: formats, legacy: legacy)
    }

    // Hypercalls (hypervisor/control.c)
    public static let hypercallNoHypervisor = k(0x01, "hypercall", "code={code:a} no hypervisor")
    public static let hypercallBadCPU = k(0x02, "hypercall", "code={code:a} cpu is {state:b:cpustate}")
    public static let hypercall = k(0x03, "hypercall", phase: .begin, "{name:a:hc} arg1=0x{arg1:b:x} arg2=0x{arg2:c:x}",
                                    mirrors: "hypercall (hypervisor/control.c)")
    public static let hypercallEnd = k(0x04, "hypercall", phase: .end, "{name:a:hc}")
    public static let hypercallDisable = k(0x05, "hypercall", phase: .begin, "{name:a:hc}", mirrors: "shutdown (hypervisor/control.c)")
    public static let shutdownState = k(0x06, "shutdown_state", "state={state:a} cells={cells:b}")
    public static let release = k(0x07, "release", "cpu={cpu:a}", mirrors: "arch_shutdown_self (hypervisor/arch/x86/setup.c)")
    public static let disable = k(0x08, "disable", "released={released:s}")

    // Enable (hypervisor/setup.c)
    public static let enable = k(0x10, "enable", phase: .begin, "cpus={cpus:s} config=0x{config:a:x}", mirrors: "entry (hypervisor/setup.c)")
    public static let enableEnd = k(0x11, "enable", phase: .end)
    public static let cpuInit = k(0x12, "cpu_init", "cpu={cpu:a}", mirrors: "cpu_init (hypervisor/setup.c)")
    public static let owner = k(0x13, "owner", "cpu={cpu:a} cell={cell:b} name={name:t}")
    public static let pageAlloc = k(0x14, "page_alloc", "what={what:t} pages={pages:a}")
    public static let pageAllocDone = k(0x15, "page_alloc", "what={what:t} pages={pages:a} used={used:b}/{size:c}")
    public static let sipiNotRoot = k(0x16, "sipi", "ignored: not a root CPU")
    public static let sipiFailed = k(0x17, "sipi", "ignored: failed")
    public static let sipi = k(0x18, "sipi", "cpu={cpu:a} runs root code", mirrors: "apic_deliver_ipi (hypervisor/arch/x86/apic.c)")

    // Suspension, parking, reset (hypervisor/control.c, arch/x86/control.c)
    public static let cellSuspend = k(0x20, "cell_suspend", "cell={cell:a} cpus={cpus:s}", mirrors: "cell_suspend (hypervisor/control.c)")
    public static let suspended = k(0x21, "suspended", "cpu={cpu:a}", mirrors: "x86_check_events (hypervisor/arch/x86/control.c)")
    public static let cellResume = k(0x22, "cell_resume", "cell={cell:a} cpus={cpus:s}", mirrors: "cell_resume (hypervisor/control.c)")
    public static let park = k(0x23, "park", "cpu={cpu:a}", mirrors: "arch_park_cpu (hypervisor/arch/x86/control.c)")
    public static let reset = k(0x24, "reset", "cpu={cpu:a} cs_base=0x{cs_base:b:x} ip=0x{ip:c:x}",
                                mirrors: "arch_reset_cpu (hypervisor/arch/x86/control.c)")
    public static let panicPark = k(0x25, "panic_park", "cpu={cpu:a}", mirrors: "panic_park (hypervisor/control.c)")

    // Comm region and messages
    public static let cellState = k(0x30, "cell_state", "cell={cell:a} state={state:b:cellstate}",
                                   legacy: .template("cell={cell:a} state={state:b}"))
    public static let commInit = k(0x31, "comm_init", "cell={cell:a} flags={flags:b} num_cpus={num_cpus:c}")
    static let messageMirrors = "cell_exchange_message (hypervisor/control.c)"
    public static let messagePassive = k(0x32, "message", "cell={cell:a} msg={msg:b:msg} passive", mirrors: messageMirrors)
    public static let message = k(0x33, "message", phase: .begin, "cell={cell:a} msg={msg:b:msg}", mirrors: messageMirrors)
    /// `why` (text) is `state`, `reply` or `timeout`.
    public static let messageEnd = k(0x34, "message", phase: .end,
                                     "cell={cell:a} msg={msg:b:msg} {why:t} reply={reply:c:reply} state={state:d:cellstate}",
                                     legacy: .template("cell={cell:a} msg={msg:b:msg} {why:t} reply={reply:c:reply} state={state:d}"))
    public static let messageHang = k(0x35, "message", phase: .end, "cell={cell:a} msg={msg:b:msg} hang: {why:t}")

    // Cell creation (hypervisor/control.c)
    public static let cellCreateFailed = k(0x40, "cell_create", mirrors: "cell_create (hypervisor/control.c)")
    public static let cellCreate = k(0x41, "cell_create", "id={id:a} name={name:t}", mirrors: "cell_create (hypervisor/control.c)")
    public static let reconfigLocked = k(0x42, "reconfig_check", "locked")
    public static let mapConfigHeader = k(0x43, "map_config", "addr=0x{addr:a:x} part=header")
    public static let cellExists = k(0x44, "cell_exists", "id={id:a} name={name:t} clash={clash:b}")
    public static let configSize = k(0x45, "config_size", "size={size:a:u} span={span:b:u}")
    public static let mapConfig = k(0x46, "map_config", "addr=0x{addr:a:x} size={size:b:u}")
    public static let cpuCheck = k(0x47, "cpu_check", "cpus={cpus:s}")
    public static let unitInit = k(0x48, "unit_init", "unit={unit:t} cell={cell:a}")
    public static let unitExit = k(0x49, "unit_exit", "unit={unit:t} cell={cell:a}")
    public static let configCommit = k(0x4a, "config_commit", "cell={cell:a}", mirrors: "config_commit (hypervisor/control.c)")
    public static let configCommitPlain = k(0x4b, "config_commit", "cell={cell:a}")
    public static let configCommitNone = k(0x4c, "config_commit", "cell=none")
    public static let cellInitBadSize = k(0x4d, "cell_init", "cpu_set_size={size:a}")
    public static let cellInitMMIO = k(0x4e, "cell_init", "mmio")
    public static let cellInit = k(0x4f, "cell_init", "cell={cell:a} cpus={cpus:s}", mirrors: "cell_init (hypervisor/control.c)")
    public static let archCellCreateFailed = k(0x50, "arch_cell_create", "cell={cell:a}")
    public static let archCellCreate = k(0x51, "arch_cell_create", "cell={cell:a} pio_ranges={pio_ranges:b}",
                                         mirrors: "arch_cell_create (hypervisor/arch/x86/control.c)")
    public static let archCellDestroy = k(0x52, "arch_cell_destroy", "cell={cell:a}", mirrors: "arch_cell_destroy (hypervisor/arch/x86/control.c)")
    public static let unmapFromRoot = k(0x53, "unmap", "cell={cell:a} phys=0x{phys:b:x} size=0x{size:c:x}",
                                        mirrors: "arch_unmap_memory_region (hypervisor/arch/x86/control.c)")
    public static let mmioRegion = k(0x54, "mmio_region", "cell={cell:a} virt=0x{virt:b:x} size=0x{size:c:x}")
    public static let map = k(0x55, "map", "cell={cell:a} phys=0x{phys:b:x} virt=0x{virt:c:x} size=0x{size:d:x}",
                              mirrors: "arch_map_memory_region (hypervisor/arch/x86/control.c)")
    public static let mapComm = k(0x56, "map", "cell={cell:a} phys=0x{phys:b:x} virt=0x{virt:c:x} size=0x{size:d:x} comm",
                                  mirrors: "arch_map_memory_region (hypervisor/arch/x86/control.c)")
    public static let unmap = k(0x57, "unmap", "cell={cell:a} phys=0x{phys:b:x} size=0x{size:c:x}")
    public static let remap = k(0x58, "map", "cell={cell:a} phys=0x{phys:b:x} size=0x{size:c:x} remap",
                                mirrors: "remap_to_root_cell (hypervisor/control.c)")

    // Cell management (hypervisor/control.c)
    public static let prologue = k(0x60, "prologue", "task={task:a:task} id={id:b} {why:t}",
                                   mirrors: "cell_management_prologue (hypervisor/control.c)")
    public static let cellStartFailed = k(0x61, "cell_start", "id={id:a}", mirrors: "cell_start (hypervisor/control.c)")
    public static let pciCellReset = k(0x62, "pci_cell_reset", "cell={cell:a}")
    public static let cellStart = k(0x63, "cell_start", "id={id:a} name={name:t}", mirrors: "cell_start (hypervisor/control.c)")
    public static let cellSetLoadableAlready = k(0x64, "cell_set_loadable", "id={id:a} already")
    public static let cellSetLoadableFailed = k(0x65, "cell_set_loadable", "id={id:a}", mirrors: "cell_set_loadable (hypervisor/control.c)")
    public static let cellSetLoadable = k(0x66, "cell_set_loadable", "id={id:a} name={name:t}",
                                          mirrors: "cell_set_loadable (hypervisor/control.c)")
    public static let cellDestroy = k(0x67, "cell_destroy", "id={id:a} name={name:t}", mirrors: "cell_destroy (hypervisor/control.c)")
    public static let cellDestroyInternal = k(0x68, "cell_destroy_internal", "id={id:a}",
                                              mirrors: "cell_destroy_internal (hypervisor/control.c)")

    // Inmates
    public static let inmateReply = k(0x80, "reply", "cell={cell:a} inmate={inmate:b:inmate} msg={msg:c:msg} reply={reply:d:reply}", layer: .inmate)
    public static let inmateBoot = k(0x81, "boot", "cell={cell:a} inmate={inmate:b:inmate}", layer: .inmate)
    public static let inmateCommRev = k(0x82, "comm_rev", "cell={cell:a} found={found:b} expected={expected:c}", layer: .inmate)
    public static let inmateLock = k(0x83, "lock", "cell={cell:a}", layer: .inmate)
    public static let inmateRun = k(0x84, "run", "ticks={ticks:a}", layer: .inmate)

    // x86 units (hypervisor/arch/x86/{vtd,ioapic}.c)
    public static let ioapicNoSlot = k(0x90, "ioapic_get_or_add_phys", "address=0x{address:a:x}",
                                       mirrors: "ioapic_get_or_add_phys (hypervisor/arch/x86/ioapic.c)")
    public static let intRemapFull = k(0x91, "vtd_reserve_int_remap_region", "device=0x{device:a:x} length={length:b}",
                                       mirrors: "vtd_reserve_int_remap_region (hypervisor/arch/x86/vtd.c)")
    public static let vtdNoUnit = k(0x92, "vtd_init", "no IOMMU unit", mirrors: "vtd_init (hypervisor/arch/x86/vtd.c)")
    public static let vtdNotIntel = k(0x93, "vtd_init", "iommu type={type:a} is not Intel", mirrors: "vtd_init (hypervisor/arch/x86/vtd.c)")
    public static let ioapicPinBaseLeak = k(0x94, "ioapic_cell_init", "cell={cell:a} pin_base={base:b} page and pins leak",
                                            mirrors: "ioapic_cell_init (hypervisor/arch/x86/ioapic.c)")

    public static let all: [TraceKind] = [
        ioapicNoSlot, intRemapFull, vtdNoUnit, vtdNotIntel, ioapicPinBaseLeak,
        hypercallNoHypervisor, hypercallBadCPU, hypercall, hypercallEnd, hypercallDisable, shutdownState, release, disable,
        enable, enableEnd, cpuInit, owner, pageAlloc, pageAllocDone, sipiNotRoot, sipiFailed, sipi,
        cellSuspend, suspended, cellResume, park, reset, panicPark,
        cellState, commInit, messagePassive, message, messageEnd, messageHang,
        cellCreateFailed, cellCreate, reconfigLocked, mapConfigHeader, cellExists, configSize, mapConfig, cpuCheck,
        unitInit, unitExit, configCommit, configCommitPlain, configCommitNone, cellInitBadSize, cellInitMMIO, cellInit,
        archCellCreateFailed, archCellCreate, archCellDestroy, unmapFromRoot, mmioRegion, map, mapComm, unmap, remap,
        prologue, cellStartFailed, pciCellReset, cellStart, cellSetLoadableAlready, cellSetLoadableFailed, cellSetLoadable,
        cellDestroy, cellDestroyInternal,
        inmateReply, inmateBoot, inmateCommRev, inmateLock, inmateRun,
    ]
}

extension HVCPUState {
    /// The order trace events number the states in.
    static let traceOrder: [HVCPUState] = [.inactive, .runningRoot, .suspended, .parked, .runningCell, .failed]
    var traceValue: Int { Self.traceOrder.firstIndex(of: self) ?? 0 }
}

extension ManagementTask {
    var traceValue: Int { HypervisorTrace.taskNames.firstIndex(of: rawValue) ?? 0 }
}

extension InmateKind {
    var traceValue: Int { Self.allCases.firstIndex(of: self) ?? 0 }
}

/// Addresses and sizes travel in trace events as the bit pattern of an `Int`.
extension UInt64 {
    var traceBits: Int { Int(bitPattern: UInt(self)) }
}
extension UInt32 {
    var traceBits: Int { Int(self) }
}

extension CellState {
    /// The `JAILHOUSE_CELL_*` name the trace shows (`SHUT_DOWN`), never a bare number.
    var traceName: String {
        switch rawValue {
        case 0: "RUNNING"
        case 1: "RUNNING_LOCKED"
        case 2: "SHUT_DOWN"
        case 3: "FAILED"
        case 4: "FAILED_COMM_REV"
        default: "\(rawValue)"
        }
    }
}
