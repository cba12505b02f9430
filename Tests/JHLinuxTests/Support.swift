import JHABI
import JHMachine
@testable import JHLinux

/// A booted kernel on a fresh machine, with fault rules in the CLI syntax.
func makeKernel(cpus: Int = 4, seed: UInt64 = 1, executor: ExecutorKind = .inline, faults: [String] = [],
                bootCPUHotpluggable: Bool = false) throws -> Kernel {
    var injector = FaultInjector()
    for f in faults { injector.add(try FaultRule(parsing: f, catalog: LinuxFaultSites.all)) }
    let m = try Machine(cpuCount: cpus, seed: seed, executor: executor, faults: injector)
    return Kernel(machine: m, bootCPUHotpluggable: bootCPUHotpluggable)
}

extension Kernel {
    /// Trace events of the Linux layer with a given op.
    func events(_ op: String) -> [TraceEvent] {
        machine.trace.events.filter { $0.layer == .linux && $0.op == op }
    }
}

/// Every fallible step of a full teardown or bring-up, in order.
func fallibleStates(_ direction: CPUHPDirection) -> [CPUHPState] {
    let order = direction == .down ? CPUHPState.allCases.reversed() : Array(CPUHPState.allCases)
    return order.filter { $0.isFallible(direction) }
}
