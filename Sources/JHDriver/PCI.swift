import JHABI
import JHLinux
import JHMachine

/// `JAILHOUSE_PCI_ACTION_*`.
enum PCIAction {
    case add, del, claim, release
}

extension JailhouseDriver {
    /// Mirrors `jailhouse_pci_register` in driver/pci.c: registers `jailhouse-pci-stub`,
    /// a driver with no static ids whose probe accepts only devices on the claimed list
    /// (since eea6a715, a dynamic id no longer grabs every device with the same ids).
    func pciRegisterStub() {
        // A fresh kernel has no driver of that name, so registration cannot collide.
        try? kernel.pci.registerDriver(name: Self.stubDriverName, ids: [], probe: { [weak self] device throws(Errno) in
            guard let self, self.claimedDevices.contains(device.address) else { throw .noDevice }
        })
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
            case .add: pciAddDevice(address)
            case .del: pciRemoveDevice(address)
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
        if previous != nil { try? kernel.pci.unbind(address) }
        do {
            try kernel.pci.addDynamicID(driver: Self.stubDriverName,
                                        PCIDeviceID(vendor: UInt32(device.vendor), device: UInt32(device.device)))
        } catch {
            log(.warning, "jailhouse-pci-stub \(address): failed to add dynamic id (\(error.negated))")
        }
        if kernel.pci.lookup(domain: address.domain, bdf: address.bdf)?.driver == nil {
            // The dynamic id already existed (an earlier claim of the same model):
            // pci_add_dynid does not re-attach, so bind explicitly as driver_attach would.
            try? kernel.pci.bind(address, driver: Self.stubDriverName)
        }
        machine.record(DriverTrace.pciClaim, a: address.driverTraceValue, text: previous ?? "none")
        return true
    }

    /// The RELEASE half: unbind from the stub (the device is left with no driver) and
    /// drop it from the claimed list.
    func pciRelease(_ addresses: [PCIAddress]) {
        for address in addresses {
            if let device = kernel.pci.lookup(domain: address.domain, bdf: address.bdf),
               device.driver == Self.stubDriverName {
                try? kernel.pci.unbind(address)
            }
            if let i = claimedDevices.firstIndex(of: address) {
                claimedDevices.remove(at: i)
                machine.record(DriverTrace.pciRelease, a: address.driverTraceValue)
            }
        }
    }

    /// Mirrors `jailhouse_pci_virtual_root_devices_add`: rescan the slot of every IVSHMEM
    /// device of the root config so Linux discovers it. With a virtual PCI host
    /// (`pci_is_virtual`) the host controller needs a device-tree overlay first; x86
    /// kernels lack CONFIG_OF_OVERLAY, so upstream warns and adds nothing (quirk 16;
    /// fixed acts as if the host controller were there).
    func pciVirtualRootDevicesAdd(_ root: DescriptorView, pciIsVirtual: Bool) {
        if pciIsVirtual && machine.profile.has(.virtualPCIHostNeedsOverlay) {
            log(.warning, "jailhouse: CONFIG_OF_OVERLAY disabled")
            log(.warning, "jailhouse: failed to add virtual host controller")
            return
        }
        for dev in root.pciDevices(limit: 1 << 16) where dev.type == .ivshmem {
            pciAddDevice(PCIAddress(domain: dev.domain, bdf: dev.bdf))
        }
    }

    /// Mirrors `jailhouse_pci_virtual_root_devices_remove`: remove every root IVSHMEM
    /// device from Linux (nothing emulates them once the hypervisor is gone).
    func pciVirtualRootDevicesRemove() {
        guard let root = rootCell else { return }
        for dev in root.pciDevices where dev.type == .ivshmem {
            pciRemoveDevice(PCIAddress(domain: dev.domain, bdf: dev.bdf))
        }
    }

    /// Mirrors `jailhouse_pci_add_device`: rescanning the slot makes Linux discover the
    /// virtual ivshmem function the hypervisor now emulates (Siemens 110a:4106).
    func pciAddDevice(_ address: PCIAddress) {
        guard kernel.pci.lookup(domain: address.domain, bdf: address.bdf) == nil else { return }
        try? kernel.pci.addDevice(PCIDevice(address: address, vendor: 0x110a, device: 0x4106, classCode: 0xff0000))
    }

    /// Mirrors `jailhouse_pci_remove_device`.
    func pciRemoveDevice(_ address: PCIAddress) {
        try? kernel.pci.removeDevice(address)
    }
}
