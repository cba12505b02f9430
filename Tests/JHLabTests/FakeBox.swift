import Foundation
import JHABI
import JHDriver
import JHHypervisor
import JHLinux
import JHMachine
@testable import JHLab

/// The fake box's own trace kinds where its steps read differently from the real ones
/// (ids from the machine range's test corner, 0x0f00…).
enum FakeTrace {
    static let ioctl = TraceKind(id: 0x0f10, .driver, "ioctl", phase: .begin, "{name:a:ioctl} arg=0x0",
                                 mirrors: "jailhouse_ioctl (driver/main.c)", formats: DriverTrace.formats)
    static let ioctlEnd = TraceKind(id: 0x0f11, .driver, "ioctl", phase: .end, "{name:a:ioctl}", formats: DriverTrace.formats)
    /// Text argument: the hypercall's name.
    static let hypercall = TraceKind(id: 0x0f12, .hypervisor, "hypercall", "{name:t}")
    static let cpuUp = TraceKind(id: 0x0f13, .linux, "cpu_up", "cpu={cpu:a}")
    static let cpuDown = TraceKind(id: 0x0f14, .linux, "cpu_down", "cpu={cpu:a}")
}

/// A small stand-in for the real box, so the lab's own logic (persistence, parsing,
/// views, scenarios) is tested apart from the lower layers. It follows the driver flows
/// of jailhouse-behaviour.md §3 coarsely: enable needs online == system CPUs, create
/// checks names, the root subset and CPU 0, offlines CPUs (a fault site), destroy asks
/// a `locking` inmate (which denies once).
///
/// Configs are text: `SYSTEM NAME CPULIST` or `CELL NAME CPULIST INMATE`.
final class FakeBox: JailhouseBox {
    let machine: Machine
    var online: CPUSet
    var enabled = false
    var systemCPUs = CPUSet()
    var rootName = ""
    struct Cell { var id: UInt32; var name: String; var cpus: CPUSet; var state: CellState; var inmate: String; var denied = false }
    var cells: [Cell] = []
    var console = ""
    var log: [String] = []

    init(_ p: BoxParameters) throws {
        machine = try Machine(cpuCount: p.cpus, seed: p.seed, executor: p.executor, profile: Profile.named(p.profile) ?? .upstream)
        online = CPUSet(range: 0..<p.cpus)
    }

    static let catalog: [FaultSiteInfo] = [
        FaultSiteInfo(.fakeCPUDown, layer: .linux, meaning: "taking a CPU offline fails", perCPU: true),
        FaultSiteInfo(.fakeCellCreate, layer: .hypervisor, meaning: "the CELL_CREATE hypercall fails"),
    ]

    static let factory = BoxFactory(
        make: { try FakeBox($0) },
        builtinSystemConfig: { $0 == 4 ? ("qemu-x86", Array("SYSTEM QEMU-VM 0-3".utf8)) : nil },
        builtinCellConfig: { name in
            switch name {
            case "tiny-demo": Array("CELL tiny-demo 2 passive".utf8)
            case "apic-demo": Array("CELL apic-demo 3 locking".utf8)
            case "linux-x86-demo": Array("CELL linux-x86-demo 2-3 passive".utf8)
            case "cpu0-demo": Array("CELL cpu0-demo 0 passive".utf8)
            default: nil
            }
        },
        builtinCellNames: ["tiny-demo", "apic-demo", "linux-x86-demo", "cpu0-demo"],
        faultCatalog: catalog,
        inmateKinds: ["passive", "cooperative", "locking", "unresponsive", "crashing", "comm-rev-mismatch"],
        describeCellConfig: { b in
            let w = String(decoding: b, as: UTF8.self).split(separator: " ")
            guard w.count >= 3, let c = CPUSet(rangeList: String(w[2])) else { return nil }
            return (String(w[1]), c)
        })

    func ioctl(_ command: IoctlCommand, _ payload: IoctlPayload, signalAfter: VirtualDuration?,
               credentials: String?) throws(SimulationHang) -> Int64 {
        machine.record(FakeTrace.ioctl, cpu: 0, a: Int(command.rawValue))
        machine.advance(.us(1))
        let r: Int64
        if signalAfter != nil {
            r = Errno.interrupted.negated
        } else {
            switch payload {
            case .systemConfig(let b): r = enable(b)
            case .none: r = command == .disable ? disable() : Errno.invalidArgument.negated
            case .cellConfig(let b): r = create(b)
            case .cellID(let sel): r = command == .cellStart ? start(sel) : destroy(sel)
            case .cellLoad(let sel, _): r = setLoadable(sel)
            }
        }
        machine.record(FakeTrace.ioctlEnd, cpu: 0, result: r == 0 ? .ok : .error(Errno(rawValue: Int32(-r))), a: Int(command.rawValue))
        return r
    }

    func parse(_ b: [UInt8]) -> [String]? {
        let w = String(decoding: b, as: UTF8.self).split(separator: " ").map(String.init)
        return w.count >= 3 ? w : nil
    }

    func setOwner(_ cpu: Int, _ id: UInt32, _ name: String) {
        machine.record(HypervisorTrace.owner, cpu: cpu, a: cpu, b: Int(id), text: name)
    }

    func enable(_ b: [UInt8]) -> Int64 {
        guard let w = parse(b), w[0] == "SYSTEM", let cpus = CPUSet(rangeList: w[2]) else { return Errno.invalidArgument.negated }
        guard !enabled else { return Errno.busy.negated }
        guard online == cpus else { return Errno.invalidArgument.negated }
        enabled = true; systemCPUs = cpus; rootName = w[1]
        cells = [Cell(id: 0, name: w[1], cpus: cpus, state: .running, inmate: "linux")]
        for c in cpus { setOwner(c, 0, w[1]) }
        console += "Initializing Jailhouse hypervisor on CPU \(cpus.rangeList)\n"
        return 0
    }

    func disable() -> Int64 {
        guard enabled else { return Errno.invalidArgument.negated }
        for c in cells.dropFirst() {
            let r = destroy(.id(Int32(c.id)))
            if r != 0 { return r }
        }
        enabled = false; cells = []
        machine.record(FakeTrace.hypercall, cpu: 0, result: .ok, text: "JAILHOUSE_HC_DISABLE")
        return 0
    }

    func create(_ b: [UInt8]) -> Int64 {
        guard let w = parse(b), w[0] == "CELL", let cpus = CPUSet(rangeList: w[2]) else { return Errno.invalidArgument.negated }
        guard enabled else { return Errno.invalidArgument.negated }
        guard !cells.contains(where: { $0.name == w[1] }) else { return Errno.exists.negated }
        guard cpus.isSubset(of: cells[0].cpus) else { return Errno.busy.negated }
        var id: UInt32 = 0
        while cells.contains(where: { $0.id == id }) { id += 1 }
        var took: [Int] = []
        for c in cpus {
            if c == 0 { return rollback(took, .invalidArgument) }
            if online.contains(c) {
                do { try machine.check(.fakeCPUDown, cpu: c) } catch { return rollback(took, error) }
                machine.record(LinuxTrace.removeCPU, a: c)
                machine.advance(.ms(12))
                machine.record(LinuxTrace.removeCPUDone, result: .ok, a: c)
                online.remove(c); took.append(c)
            }
        }
        do { try machine.check(.fakeCellCreate) } catch { return rollback(took, error) }
        machine.record(FakeTrace.hypercall, cpu: 0, result: .ok, text: "JAILHOUSE_HC_CELL_CREATE")
        cells[0].cpus.subtract(cpus)
        cells.append(Cell(id: id, name: w[1], cpus: cpus, state: .shutDown, inmate: w[3]))
        for c in cpus { setOwner(c, id, w[1]) }
        return 0
    }

    func rollback(_ took: [Int], _ e: Errno) -> Int64 {
        for c in took {
            machine.record(LinuxTrace.addCPU, a: c)
            machine.advance(.ms(7))
            machine.record(LinuxTrace.addCPUDone, result: .ok, a: c)
            online.insert(c)
        }
        return e.negated
    }

    func find(_ sel: CellSelector) -> Int? {
        switch sel {
        case .id(let i): cells.firstIndex { Int64($0.id) == Int64(i) }
        case .name(let n): cells.firstIndex { $0.name == n }
        }
    }

    func start(_ sel: CellSelector) -> Int64 {
        guard enabled else { return Errno.invalidArgument.negated }
        guard let i = find(sel) else { return Errno.noEntry.negated }
        guard i != 0 else { return Errno.invalidArgument.negated }
        machine.record(FakeTrace.hypercall, cpu: 0, result: .ok, text: "JAILHOUSE_HC_CELL_START")
        cells[i].state = cells[i].inmate == "locking" ? .runningLocked : .running
        return 0
    }

    func setLoadable(_ sel: CellSelector) -> Int64 {
        guard enabled else { return Errno.invalidArgument.negated }
        guard let i = find(sel) else { return Errno.noEntry.negated }
        guard i != 0 else { return Errno.invalidArgument.negated }
        cells[i].state = .shutDown
        return 0
    }

    func destroy(_ sel: CellSelector) -> Int64 {
        guard enabled else { return Errno.invalidArgument.negated }
        guard let i = find(sel) else { return Errno.noEntry.negated }
        guard i != 0 else { return Errno.invalidArgument.negated }
        if cells[i].inmate == "locking" && !cells[i].denied && cells[i].state != .shutDown {
            cells[i].denied = true
            machine.record(FakeTrace.hypercall, cpu: 0, result: .error(.notPermitted), text: "JAILHOUSE_HC_CELL_DESTROY")
            return Errno.notPermitted.negated
        }
        machine.record(FakeTrace.hypercall, cpu: 0, result: .ok, text: "JAILHOUSE_HC_CELL_DESTROY")
        let c = cells.remove(at: i)
        cells[0].cpus.formUnion(c.cpus)
        for cpu in c.cpus {
            setOwner(cpu, 0, rootName)
            machine.record(LinuxTrace.addCPU, a: cpu)
            machine.advance(.ms(7))
            machine.record(LinuxTrace.addCPUDone, result: .ok, a: cpu)
            online.insert(cpu)
        }
        return 0
    }

    func readConsole() -> String { console }

    func sysfsRead(_ path: String) throws(Errno) -> String {
        let prefix = SysfsCells.cellsDirectory + "/"
        guard enabled, path.hasPrefix(prefix) else { throw Errno.noEntry }
        let parts = path.dropFirst(prefix.count).split(separator: "/")
        guard parts.count == 2, let id = UInt32(parts[0]), let c = cells.first(where: { $0.id == id }) else { throw Errno.noEntry }
        switch parts[1] {
        case "name": return c.name + "\n"
        case "state": return c.state.sysfsText + "\n"
        case "cpus_assigned_list": return c.cpus.rangeList + "\n"
        case "cpus_failed_list": return "\n"
        default: throw Errno.noEntry
        }
    }

    func sysfsList(_ path: String) throws(Errno) -> [String] {
        let prefix = SysfsCells.cellsDirectory + "/"
        if enabled, path.hasPrefix(prefix), let id = UInt32(path.dropFirst(prefix.count)), cells.contains(where: { $0.id == id }) {
            return ["cpus_assigned_list", "cpus_failed_list", "name", "state"]
        }
        guard path == SysfsCells.cellsDirectory else { throw Errno.noEntry }
        // The module is loaded, so the directory exists; it is empty while disabled.
        return cells.map { "\($0.id)" }.reversed()
    }

    func sysfsEntry(_ path: String) -> SysfsEntry? {
        if path == SysfsCells.cellsDirectory || (try? sysfsList(path)) != nil { return .directory }
        if (try? sysfsRead(path)) != nil { return .attribute(readable: true, writable: false) }
        return nil
    }

    /// Only `cpuN/online`, with the kernel's `0`/`1`.
    func sysfsWrite(_ path: String, _ value: String) -> Errno? {
        let prefix = "/sys/devices/system/cpu/cpu"
        guard path.hasPrefix(prefix), path.hasSuffix("/online"),
              let cpu = Int(path.dropFirst(prefix.count).dropLast("/online".count)), cpu < machine.cpuCount else { return .noEntry }
        switch value.first {
        case "0": return setCPU(cpu, online: false)
        case "1": return setCPU(cpu, online: true)
        default: return .invalidArgument
        }
    }

    /// CELL_START and CELL_DESTROY by id, reading `struct jailhouse_cell_id` from `memory`.
    func outsideIoctl(request: UInt32, argument: UInt64, processName: String,
                      memory: @escaping (UInt64, Int) -> [UInt8]?) throws(SimulationHang) -> Int64 {
        let command = IoctlCommand(rawValue: request)
        guard command == .cellStart || command == .cellDestroy else { return Errno.notTTY.negated }
        guard let b = memory(argument, IoctlLayout.cellIDSize), b.count == IoctlLayout.cellIDSize else {
            return Errno.badAddress.negated
        }
        let id = Int32(b[0]) | Int32(b[1]) << 8 | Int32(b[2]) << 16 | Int32(b[3]) << 24
        return command == .cellStart ? start(.id(id)) : destroy(.id(id))
    }

    func setCPU(_ cpu: Int, online on: Bool) -> Errno? {
        if cells.dropFirst().contains(where: { $0.cpus.contains(cpu) }) { return .busy }
        if on { online.insert(cpu) } else {
            if cpu == 0 { return .busy }
            online.remove(cpu)
        }
        machine.record(on ? FakeTrace.cpuUp : FakeTrace.cpuDown, cpu: cpu, result: .ok, a: cpu)
        machine.advance(.ms(5))
        return nil
    }

    func cpuStatus(_ cpu: Int) -> CPUStatus {
        let owner = enabled ? cells.first { $0.cpus.contains(cpu) } : nil
        let hv: String
        if !enabled { hv = "inactive" } else if owner?.id == 0 { hv = "running root" } else if owner?.state == .shutDown { hv = "parked" } else { hv = "running cell" }
        return CPUStatus(cpu: cpu, online: online.contains(cpu), hotplugState: online.contains(cpu) ? "online" : "offline",
                         owner: owner?.id, ownerName: owner?.name, hypervisorState: hv, failed: false)
    }

    func setInmate(_ kind: String, forCell id: UInt32) -> Bool {
        guard let i = cells.firstIndex(where: { $0.id == id }) else { return false }
        cells[i].inmate = kind
        return true
    }

    var dmesg: [String] { log }
}

/// The fake box's site handles (ids 48…63 are left to tests).
extension FaultSiteKey {
    static let fakeCPUDown = FaultSiteKey(48, "cpu_down", defaultErrno: .busy)
    static let fakeCellCreate = FaultSiteKey(49, "hc_cell_create", defaultErrno: .noMemory)
}
