import Foundation
import JHABI
import JHMachine

// The integration with the lower layers: JHLinux, JHHypervisor and JHDriver through the
// driver layer's `SimulatedBox` and `JailhouseTool`, and the JHConfig built-ins. It is
// the only file of JHLab that names their types.

import JHConfig
import JHDriver
import JHHypervisor
import JHLinux

/// The real box: the driver layer's `SimulatedBox` seen through `JailhouseBox`.
final class StandardBox: JailhouseBox {
    let sim: SimulatedBox
    var machine: Machine { sim.machine }

    init(_ p: BoxParameters) throws {
        guard let profile = Profile.named(p.profile) else { throw LabError("unknown profile '\(p.profile)'") }
        sim = try SimulatedBox(cpus: p.cpus, seed: p.seed, profile: profile, executor: p.executor,
                               cost: try p.costModel(), kernelVersion: p.kernel)
    }

    func ioctl(_ command: IoctlCommand, _ payload: IoctlPayload, signalAfter: VirtualDuration?,
               credentials: String?) throws(SimulationHang) -> Int64 {
        let pid = sim.kernel.spawnProcess(name: "jailhouse", cpu: 0)
        defer { sim.kernel.exitProcess(pid) }
        if let signalAfter { sim.kernel.sendSignal(pid, at: machine.now + signalAfter) }
        // The runner validated the text before the lab was touched.
        let creds = credentials.flatMap { try? Credentials(text: $0) } ?? .privileged
        let tool = JailhouseTool(box: sim, pid: pid, credentials: creds)
        func ref(_ c: CellSelector) -> JailhouseTool.CellRef {
            switch c {
            case .id(let i): .id(UInt32(bitPattern: i))
            case .name(let n): .name(n)
            }
        }
        switch payload {
        case .systemConfig(let bytes): return try tool.enable(bytes)
        case .none: return try tool.ioctl(command, rawArgument: 0)
        case .cellConfig(let bytes): return try tool.cellCreate(bytes)
        case .cellID(let c):
            return command == .cellStart ? try tool.cellStart(ref(c)) : try tool.cellDestroy(ref(c))
        case .cellLoad(let c, let images):
            return try tool.cellLoad(ref(c), images: images.map { JailhouseTool.Image(bytes: Array($0.bytes), target: $0.target) })
        }
    }

    func readConsole() -> String { sim.hypervisor.console }

    func sysfsRead(_ path: String) throws(Errno) -> String { try sim.kernel.sysfs.read(path) }
    func sysfsList(_ path: String) throws(Errno) -> [String] { try sim.kernel.sysfs.list(path) }

    func sysfsEntry(_ path: String) -> SysfsEntry? {
        switch sim.kernel.sysfs.entry(path) {
        case nil: nil
        case .directory: .directory
        case .attribute(let r, let w): .attribute(readable: r, writable: w)
        }
    }

    func sysfsWrite(_ path: String, _ value: String) -> Errno? {
        do {
            try sim.kernel.sysfs.write(path, value)
            return nil
        } catch {
            return error
        }
    }

    func outsideIoctl(request: UInt32, argument: UInt64, processName: String,
                      memory: @escaping (UInt64, Int) -> [UInt8]?) throws(SimulationHang) -> Int64 {
        let pid = sim.kernel.spawnProcess(name: processName, cpu: 0)
        defer { sim.kernel.exitProcess(pid) }
        sim.kernel.attachOutsideMemory(pid, memory)
        return try JailhouseTool(box: sim, pid: pid).ioctl(IoctlCommand(rawValue: request), rawArgument: argument)
    }

    func setCPU(_ cpu: Int, online: Bool) -> Errno? {
        do {
            try sim.kernel.sysfs.write("/sys/devices/system/cpu/cpu\(cpu)/online", online ? "1" : "0")
            return nil
        } catch {
            return error
        }
    }

    func cpuStatus(_ cpu: Int) -> CPUStatus {
        let owner = sim.hypervisor.owner(of: cpu)
        let name = owner.flatMap { id in sim.hypervisor.cells.first { $0.id == id }?.name }
        let state = sim.hypervisor.cpuState(cpu)
        return CPUStatus(cpu: cpu, online: sim.kernel.cpuOnline(cpu), hotplugState: sim.kernel.cpuStatus(cpu),
                         owner: owner, ownerName: name, hypervisorState: Self.words(state),
                         failed: state == .failed, onlineFile: sim.kernel.onlineFile(cpu))
    }

    /// Short table words for the hypervisor's per-CPU states.
    static func words(_ s: HVCPUState) -> String {
        switch s {
        case .inactive: "inactive"
        case .runningRoot: "running root"
        case .suspended: "suspended"
        case .parked: "parked"
        case .runningCell: "running cell"
        case .failed: "failed"
        }
    }

    func setInmate(_ kind: String, forCell id: UInt32) -> Bool {
        guard let k = InmateKind(rawValue: kind) else { return false }
        sim.hypervisor.setInmate(k, forCell: id)
        return true
    }

    var dmesg: [String] { sim.kernel.dmesg() }
    var oops: KernelOops? { sim.kernel.oops }
}

extension BoxFactory {
    /// The real box: JHLinux + JHHypervisor + JHDriver on a JHMachine, with the
    /// embedded fixtures of JHConfig.
    public static let standard: BoxFactory = BoxFactory(
        make: { try StandardBox($0) },
        builtinSystemConfig: { cpus in cpus == BoxParameters.defaultCPUs ? ("qemu-x86", BuiltinConfigs.qemuX86) : nil },
        builtinCellConfig: { BuiltinConfigs.cell(named: $0) },
        builtinCellNames: BuiltinConfigs.cellNames,
        faultCatalog: SimulatedBox.faultCatalog,
        inmateKinds: InmateKind.allCases.map(\.rawValue),
        describeCellConfig: { bytes in
            guard let c = try? CellConfig.decode(bytes) else { return nil }
            return (c.name, c.cpus)
        },
        parseCredentials: { text in
            guard let c = try? Credentials(text: text) else { return nil }
            return (c.text, c.hasSysAdmin)
        })
}

extension LabSession {
    /// The driver layer's box behind this session, for tools that check its invariants
    /// between commands (JHFaults); nil for a box from another factory (test doubles).
    public var simulatedBox: SimulatedBox? { (box as? StandardBox)?.sim }
}
