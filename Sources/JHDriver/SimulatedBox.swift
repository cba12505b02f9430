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
                cost: CostModel = CostModel(), faults: [FaultRule] = [],
                pciDevices: [PlatformDevice] = SimulatedBox.qemuQ35, traceLevel: TraceLevel = .full,
                kernelVersion: KernelVersion = .current) throws(MachineError) {
        machine = try Machine(cpuCount: cpus, seed: seed, executor: executor, cost: cost, profile: profile,
                              faults: FaultInjector(rules: faults), traceLevel: traceLevel)
        kernel = Kernel(machine: machine, version: kernelVersion)
        // The board's PCI functions and the Linux drivers that bind them at boot.
        for name in Set(pciDevices.compactMap(\.driver)).sorted() {
            let ids = pciDevices.filter { $0.driver == name }.map {
                PCIDeviceID(vendor: UInt32($0.vendor), device: UInt32($0.device))
            }
            try? kernel.pci.registerDriver(name: name, ids: ids, probe: { _ throws(Errno) in })
        }
        for d in pciDevices {
            try? kernel.pci.addDevice(PCIDevice(address: PCIAddress(bdf: d.bdf), vendor: d.vendor,
                                                device: d.device, classCode: d.classCode))
        }
        hypervisor = Hypervisor(machine: machine)
        kernel.startupIPI = { [weak hypervisor] cpu in hypervisor?.startupIPI(to: cpu) ?? true }
        driver = JailhouseDriver(kernel: kernel, hypervisor: hypervisor)
        kernel.onCPUOnline = { [weak driver] cpu in driver?.cpuCameOnline(cpu) }
    }

    /// A PCI function on the simulated board, with the Linux driver that claims it.
    public struct PlatformDevice: Hashable, Sendable {
        public var bdf: UInt16
        public var vendor: UInt16
        public var device: UInt16
        public var classCode: UInt32
        public var driver: String?
        public init(bdf: UInt16, vendor: UInt16, device: UInt16, classCode: UInt32, driver: String?) {
            self.bdf = bdf; self.vendor = vendor; self.device = device; self.classCode = classCode; self.driver = driver
        }
    }

    /// The physical functions of QEMU's q35 board that the qemu-x86 fixture lists.
    public static let qemuQ35: [PlatformDevice] = [
        PlatformDevice(bdf: 0x00 << 3, vendor: 0x8086, device: 0x29c0, classCode: 0x060000, driver: nil),
        PlatformDevice(bdf: 0x01 << 3, vendor: 0x1234, device: 0x1111, classCode: 0x030000, driver: "bochs-drm"),
        PlatformDevice(bdf: 0x02 << 3, vendor: 0x8086, device: 0x10d3, classCode: 0x020000, driver: "e1000e"),
        PlatformDevice(bdf: 0x1b << 3, vendor: 0x8086, device: 0x293e, classCode: 0x040300, driver: "snd_hda_intel"),
        PlatformDevice(bdf: 0x1e << 3, vendor: 0x8086, device: 0x244e, classCode: 0x060400, driver: nil),
        PlatformDevice(bdf: 0x1f << 3, vendor: 0x8086, device: 0x2918, classCode: 0x060100, driver: "lpc_ich"),
        PlatformDevice(bdf: 0x1f << 3 | 2, vendor: 0x8086, device: 0x2922, classCode: 0x010601, driver: "ahci"),
        PlatformDevice(bdf: 0x1f << 3 | 3, vendor: 0x8086, device: 0x2930, classCode: 0x0c0500, driver: "i801_smbus"),
    ]

    /// Every fault site of every layer, for parsing `--fault` rules.
    public static var faultCatalog: [FaultSiteInfo] {
        LinuxFaultSites.all + HypervisorFaultSites.all + DriverFaultSites.all
    }
}
