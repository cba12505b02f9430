import JHABI
import JHHypervisor
import JHLinux
import JHMachine

/// A whole simulated box: the machine, the root Linux kernel, the hypervisor and the
/// Jailhouse driver, wired together the way the real system is.
///
/// The only run-time wiring is Linux's AP bring-up: its INIT/SIPI goes through the
/// hypervisor, which refuses CPUs it has given to non-root cells.
public final class SimulatedBox: @unchecked Sendable {
    public let machine: Machine
    public let kernel: Kernel
    public let hypervisor: Hypervisor
    public let driver: JailhouseDriver

    public init(cpus: Int, seed: UInt64, profile: Profile = .upstream, executor: ExecutorKind = .dispatch,
                cost: CostModel = CostModel(), faults: [FaultRule] = []) throws(MachineError) {
        machine = try Machine(cpuCount: cpus, seed: seed, executor: executor, cost: cost, profile: profile,
                              faults: FaultInjector(rules: faults))
        kernel = Kernel(machine: machine)
        hypervisor = Hypervisor(machine: machine)
        kernel.startupIPI = { [weak hypervisor] cpu in hypervisor?.startupIPI(to: cpu) ?? true }
        driver = JailhouseDriver(kernel: kernel, hypervisor: hypervisor)
    }

    /// Every fault site of every layer, for parsing `--fault` rules.
    public static var faultCatalog: [FaultSiteInfo] {
        LinuxFaultSites.all + HypervisorFaultSites.all + DriverFaultSites.all
    }
}
