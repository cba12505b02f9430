import JHABI
import JHLinux
import JHMachine

/// A PCI function as configs name it: domain and bus/device/function.
public struct PCIAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var domain: UInt16
    public var bdf: UInt16
    public init(domain: UInt16, bdf: UInt16) { self.domain = domain; self.bdf = bdf }
    public static func < (a: PCIAddress, b: PCIAddress) -> Bool { (a.domain, a.bdf) < (b.domain, b.bdf) }
    public var description: String {
        hex(domain, 4) + ":" + hex(bdf >> 8, 2) + ":" + hex((bdf >> 3) & 0x1f, 2) + "." + String(bdf & 7)
    }
}

/// `JAILHOUSE_PCI_ACTION_*`.
enum PCIAction {
    case add, del, claim, release
}

extension JailhouseDriver {
    /// Mirrors `jailhouse_pci_register` in driver/pci.c: registers `jailhouse-pci-stub`,
    /// a driver with no static ids whose probe accepts only devices on the claimed list
    /// (since eea6a715, a dynamic id no longer grabs every device with the same ids).
    func pciRegisterStub() {
        kernel.pci.registerDriver(Self.stubDriverName) { [weak self] device in
            guard let self else { return false }
            return self.claimedDevices.contains(PCIAddress(domain: device.domain, bdf: device.bdf))
        }
    }

    /// Mirrors `jailhouse_pci_do_all_devices` in driver/pci.c for one device type.
    /// - Returns: the devices CLAIM bound to the stub (so a fixed-profile rollback can
    ///   release exactly those).
    @discardableResult
    func pciDoAllDevices(_ cell: DriverCell, type: PCIDeviceType, action: PCIAction) -> [PCIAddress] {
        var touched: [PCIAddress] = []
        for dev in cell.pciDevices where dev.type == type {
            let address = PCIAddress(domain: dev.domain, bdf: dev.bdf)
            switch action {
            case .claim: if pciClaim(address) { touched.append(address) }
            case .release: pciRelease([address])
            case .add: kernel.pci.rescan(domain: dev.domain, bdf: dev.bdf)
            case .del: kernel.pci.remove(domain: dev.domain, bdf: dev.bdf)
            }
        }
        return touched
    }

    /// The CLAIM half of `jailhouse_pci_claim_release`: a device Linux knows and the stub
    /// does not hold yet goes on the claimed list, loses its driver and gets the stub.
    func pciClaim(_ address: PCIAddress) -> Bool {
        guard let device = kernel.pci.lookup(domain: address.domain, bdf: address.bdf) else {
            return false  // missing devices are skipped silently
        }
        if device.driver == Self.stubDriverName { return false }
        claimedDevices.append(address)
        let previous = device.driver
        kernel.pci.unbind(domain: address.domain, bdf: address.bdf)
        kernel.pci.addDynamicID(driver: Self.stubDriverName, vendor: device.vendor, device: device.device)
        machine.record(.driver, "pci_claim", "\(address) from=\(previous ?? "none") to=\(Self.stubDriverName)",
                       mirrors: "jailhouse_pci_claim_release (driver/pci.c)")
        return true
    }

    /// The RELEASE half: unbind from the stub (the device is left with no driver) and
    /// drop it from the claimed list.
    func pciRelease(_ addresses: [PCIAddress]) {
        for address in addresses {
            if let device = kernel.pci.lookup(domain: address.domain, bdf: address.bdf),
               device.driver == Self.stubDriverName {
                kernel.pci.unbind(domain: address.domain, bdf: address.bdf)
            }
            if let i = claimedDevices.firstIndex(of: address) {
                claimedDevices.remove(at: i)
                machine.record(.driver, "pci_release", "\(address)", mirrors: "jailhouse_pci_claim_release (driver/pci.c)")
            }
        }
    }

    /// Mirrors `jailhouse_pci_virtual_root_devices_add`: rescan the slot of every IVSHMEM
    /// device of the root config so Linux discovers it.
    func pciVirtualRootDevicesAdd(_ root: DescriptorView) {
        for dev in root.pciDevices(limit: 1 << 16) where dev.type == .ivshmem {
            kernel.pci.rescan(domain: dev.domain, bdf: dev.bdf)
        }
    }

    /// Mirrors `jailhouse_pci_virtual_root_devices_remove`: remove every root IVSHMEM
    /// device from Linux (nothing emulates them once the hypervisor is gone).
    func pciVirtualRootDevicesRemove() {
        guard let root = rootCell else { return }
        for dev in root.pciDevices where dev.type == .ivshmem {
            kernel.pci.remove(domain: dev.domain, bdf: dev.bdf)
        }
    }
}
