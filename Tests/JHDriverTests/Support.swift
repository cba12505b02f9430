import JHABI
import JHConfig
@testable import JHDriver
import JHHypervisor
import JHLinux
import JHMachine
import Testing

/// A box with one privileged `jailhouse` process, and the fixtures by name.
struct Rig {
    let box: SimulatedBox
    let tool: JailhouseTool

    init(cpus: Int = 4, seed: UInt64 = 1, profile: Profile = .upstream, executor: ExecutorKind = .inline,
         faults: [String] = [], traceLevel: TraceLevel = .full, kernel: KernelVersion = .current) throws {
        let rules = try faults.map { try FaultRule(parsing: $0, catalog: SimulatedBox.faultCatalog) }
        box = try SimulatedBox(cpus: cpus, seed: seed, profile: profile, executor: executor, faults: rules,
                               traceLevel: traceLevel, kernelVersion: kernel)
        tool = JailhouseTool(box: box)
    }

    var driver: JailhouseDriver { box.driver }
    var kernel: Kernel { box.kernel }
    var hv: Hypervisor { box.hypervisor }
    var machine: Machine { box.machine }

    static func cell(_ name: String) -> [UInt8] {
        guard let c = BuiltinConfigs.cell(named: name) else { fatalError("no fixture \(name)") }
        return c
    }

    @discardableResult
    func enable() throws -> Int64 { checked(try tool.enable(BuiltinConfigs.qemuX86)) }
    @discardableResult
    func create(_ name: String) throws -> Int64 { checked(try tool.cellCreate(Self.cell(name))) }
    @discardableResult
    func start(_ name: String) throws -> Int64 { checked(try tool.cellStart(.name(name))) }
    @discardableResult
    func destroy(_ name: String) throws -> Int64 { checked(try tool.cellDestroy(.name(name))) }
    @discardableResult
    func shutdown(_ name: String) throws -> Int64 { checked(try tool.cellLoad(.name(name), images: [])) }
    @discardableResult
    func disable() throws -> Int64 { checked(try tool.disable()) }

    /// Creates apic-demo and starts it with the `locking` inmate (like upstream's
    /// apic-demo: RUNNING_LOCKED while it runs, denies the first shutdown request).
    /// - Returns: the start's result.
    @discardableResult
    func createAndStartLockingApicDemo() throws -> Int64 {
        #expect(try create("apic-demo") == 0)
        guard let id = driver.cells.last(where: { $0.name == "apic-demo" })?.id.rawValue else { return -1 }
        hv.setInmate(.locking, forCell: id)
        return try start("apic-demo")
    }

    /// Every operation in these tests is followed by the §8 invariant check.
    func checked(_ result: Int64, sourceLocation: SourceLocation = #_sourceLocation) -> Int64 {
        let violations = box.invariantViolations()
        #expect(violations.isEmpty, "invariants after an operation returning \(result): \(violations)",
                sourceLocation: sourceLocation)
        return result
    }

    /// Adds a fault rule to the running plan.
    func inject(_ rule: String) throws {
        machine.faults.add(try FaultRule(parsing: rule, catalog: SimulatedBox.faultCatalog))
    }

    /// Everything a failed operation must leave as it was (jailhouse-behaviour.md §8).
    func snapshot() -> Snapshot { BoxSnapshot(box) }
}

typealias Snapshot = BoxSnapshot

extension Errno {
    /// The ioctl return value for this errno.
    var ret: Int64 { negated }
}
