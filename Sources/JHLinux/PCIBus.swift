import JHABI
import JHMachine

/// A PCI function's address: domain (segment) plus bus/device/function packed as
/// Jailhouse does (`bdf` = bus << 8 | devfn, devfn = device << 3 | function).
public struct PCIAddress: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var domain: UInt16
    public var bdf: UInt16
    public init(domain: UInt16 = 0, bdf: UInt16) { self.domain = domain; self.bdf = bdf }
    public init(domain: UInt16 = 0, bus: UInt8, device: UInt8, function: UInt8) {
        self.domain = domain
        bdf = UInt16(bus) << 8 | UInt16(device & 0x1f) << 3 | UInt16(function & 7)
    }
    public var bus: UInt8 { UInt8(bdf >> 8) }
    public var devfn: UInt8 { UInt8(bdf & 0xff) }
    public static func < (a: PCIAddress, b: PCIAddress) -> Bool { (a.domain, a.bdf) < (b.domain, b.bdf) }
    /// `pci_name()`: `0000:00:1b.0`.
    public var description: String {
        func hex(_ v: Int, _ w: Int) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(hex(Int(domain), 4)):\(hex(Int(bus), 2)):\(hex(Int(devfn >> 3), 2)).\(devfn & 7)"
    }
}

/// One entry of a driver's id table (`struct pci_device_id`, vendor/device/class only).
public struct PCIDeviceID: Hashable, Sendable, Codable {
    /// `PCI_ANY_ID`.
    public static let any: UInt32 = 0xffff_ffff
    public var vendor: UInt32
    public var device: UInt32
    public var classCode: UInt32
    public var classMask: UInt32
    public init(vendor: UInt32, device: UInt32, classCode: UInt32 = 0, classMask: UInt32 = 0) {
        self.vendor = vendor; self.device = device; self.classCode = classCode; self.classMask = classMask
    }
    /// Mirrors `pci_match_one_device` (drivers/pci/pci.h).
    public func matches(_ d: PCIDevice) -> Bool {
        (vendor == Self.any || vendor == UInt32(d.vendor)) &&
            (device == Self.any || device == UInt32(d.device)) &&
            (d.classCode ^ classCode) & classMask == 0
    }
}

/// A PCI function Linux knows about.
public struct PCIDevice: Hashable, Sendable {
    public var address: PCIAddress
    public var vendor: UInt16
    public var device: UInt16
    /// 24-bit class code (class, subclass, prog-if).
    public var classCode: UInt32
    /// The bound driver's name, if any.
    public internal(set) var driver: String?
    public init(address: PCIAddress, vendor: UInt16, device: UInt16, classCode: UInt32) {
        self.address = address; self.vendor = vendor; self.device = device; self.classCode = classCode
    }
}

/// A probe method: accept the device (return) or refuse it (throw; ENODEV/ENXIO are
/// silent refusals, anything else is logged like `really_probe` does).
public typealias PCIProbe = (PCIDevice) throws(Errno) -> Void

/// The PCI bus: devices, drivers with static and dynamic (`new_id`) id tables, binding.
///
/// Generic on purpose: the Jailhouse driver layer builds its `jailhouse-pci-stub` and
/// its claimed-device list on top (CLAIM = unbind + add a dynamic id to the stub, whose
/// probe accepts only claimed devices; RELEASE = unbind from the stub).
public final class PCIBus: @unchecked Sendable {
    struct Driver {
        var name: String
        var ids: [PCIDeviceID]
        var dynamicIDs: [PCIDeviceID] = []
        var probe: PCIProbe
        var remove: (PCIDevice) -> Void
    }
    private unowned let kernel: Kernel
    private var devices: [PCIAddress: PCIDevice] = [:]
    /// In registration order: the first matching driver gets a new device.
    private var drivers: [Driver] = []

    init(kernel: Kernel) { self.kernel = kernel }

    private var machine: Machine { kernel.machine }

    /// Every device, in address order.
    public var allDevices: [PCIDevice] { devices.keys.sorted().map { devices[$0]! } }
    /// Registered driver names, in registration order.
    public var driverNames: [String] { drivers.map(\.name) }

    /// Mirrors `pci_get_domain_bus_and_slot` (drivers/pci/search.c).
    public func lookup(domain: UInt16, bdf: UInt16) -> PCIDevice? {
        devices[PCIAddress(domain: domain, bdf: bdf)]
    }

    /// The devices bound to a driver, in address order.
    public func devices(boundTo driver: String) -> [PCIDevice] {
        allDevices.filter { $0.driver == driver }
    }

    /// Adds a device and offers it to the drivers. Mirrors `pci_bus_add_device` →
    /// `device_attach`.
    /// - Throws: `EEXIST` if the address is taken.
    public func addDevice(_ device: PCIDevice) throws(Errno) {
        guard devices[device.address] == nil else { throw .exists }
        var d = device
        d.driver = nil
        devices[d.address] = d
        let path = "/sys/bus/pci/devices/\(d.address)"
        kernel.sysfs.mkdirs(path)
        let a = d.address
        try? kernel.sysfs.createFile(path + "/vendor", show: { () throws(Errno) in "0x" + Self.hex(Int(device.vendor), 4) + "\n" }, checked: false)
        try? kernel.sysfs.createFile(path + "/device", show: { () throws(Errno) in "0x" + Self.hex(Int(device.device), 4) + "\n" }, checked: false)
        try? kernel.sysfs.createFile(path + "/class", show: { () throws(Errno) in "0x" + Self.hex(Int(device.classCode), 6) + "\n" }, checked: false)
        try? kernel.sysfs.createFile(path + "/driver", show: { [unowned self] () throws(Errno) in
            guard let n = devices[a]?.driver else { throw .noEntry }
            return n + "\n"
        }, checked: false)
        kernel.record(LinuxTrace.pciAddDevice, a: a.traceValue, b: Int(device.vendor), c: Int(device.device))
        attachAny(a)
    }

    /// Removes a device (unbinding it first). Mirrors `pci_stop_and_remove_bus_device`.
    /// - Throws: `ENODEV` if there is no such device.
    public func removeDevice(_ address: PCIAddress) throws(Errno) {
        guard devices[address] != nil else { throw .noDevice }
        if devices[address]?.driver != nil { try unbind(address) }
        devices[address] = nil
        try? kernel.sysfs.remove("/sys/bus/pci/devices/\(address)")
        kernel.record(LinuxTrace.pciRemoveDevice, a: address.traceValue)
    }

    /// Registers a driver and binds it to every unbound device it matches. Mirrors
    /// `pci_register_driver` → `driver_register` → `driver_attach`.
    /// - Throws: `EBUSY` if a driver of that name exists (driver_register).
    public func registerDriver(name: String, ids: [PCIDeviceID], probe: @escaping PCIProbe,
                               remove: @escaping (PCIDevice) -> Void = { _ in }) throws(Errno) {
        guard !drivers.contains(where: { $0.name == name }) else { throw .busy }
        drivers.append(Driver(name: name, ids: ids, probe: probe, remove: remove))
        kernel.sysfs.mkdirs("/sys/bus/pci/drivers/\(name)")
        kernel.record(LinuxTrace.pciRegisterDriver, a: ids.count, text: name)
        attachDriver(name)
    }

    /// Unbinds every device from a driver and forgets it. Mirrors `pci_unregister_driver`.
    public func unregisterDriver(name: String) {
        guard let i = drivers.firstIndex(where: { $0.name == name }) else { return }
        for d in devices(boundTo: name) { try? unbind(d.address) }
        drivers.remove(at: i)
        try? kernel.sysfs.remove("/sys/bus/pci/drivers/\(name)")
        kernel.record(LinuxTrace.pciUnregisterDriver, text: name)
    }

    /// Whether a driver's ids (dynamic first, then static) match a device. Mirrors
    /// `pci_match_device`.
    public func driver(_ name: String, matches address: PCIAddress) -> Bool {
        guard let drv = drivers.first(where: { $0.name == name }), let d = devices[address] else { return false }
        return (drv.dynamicIDs + drv.ids).contains { $0.matches(d) }
    }

    /// Adds a dynamic id and binds the driver to every unbound device it now matches.
    /// Mirrors writing `new_id` (`new_id_store` → `pci_add_dynid` → `driver_attach`).
    /// - Throws: `ENODEV` for an unknown driver, `EEXIST` if the static table already
    ///   matches that id.
    public func addDynamicID(driver name: String, _ id: PCIDeviceID) throws(Errno) {
        guard let i = drivers.firstIndex(where: { $0.name == name }) else { throw .noDevice }
        let probeDevice = PCIDevice(address: PCIAddress(bdf: 0), vendor: UInt16(truncatingIfNeeded: id.vendor),
                                    device: UInt16(truncatingIfNeeded: id.device), classCode: id.classCode)
        if drivers[i].ids.contains(where: { $0.matches(probeDevice) }) { throw .exists }
        drivers[i].dynamicIDs.append(id)
        kernel.record(LinuxTrace.pciAddDynID, a: Int(id.vendor & 0xffff), b: Int(id.device & 0xffff), text: name)
        attachDriver(name)
    }

    /// Removes a dynamic id (`remove_id`). Bound devices stay bound.
    /// - Throws: `ENODEV` if the driver or the id is unknown.
    public func removeDynamicID(driver name: String, _ id: PCIDeviceID) throws(Errno) {
        guard let i = drivers.firstIndex(where: { $0.name == name }),
              let k = drivers[i].dynamicIDs.firstIndex(of: id) else { throw .noDevice }
        drivers[i].dynamicIDs.remove(at: k)
    }

    /// Binds an unbound device to a named driver, like writing its address to the
    /// driver's `bind` file. Mirrors `bind_store` → `device_driver_attach` → `really_probe`.
    /// - Throws: `ENODEV` if the device or driver is unknown, the device is already bound
    ///   or the driver's ids do not match; the probe's error (or `pci_bind` injected).
    public func bind(_ address: PCIAddress, driver name: String) throws(Errno) {
        guard let d = devices[address], d.driver == nil, driver(name, matches: address) else { throw .noDevice }
        try probe(address, driverIndex: drivers.firstIndex { $0.name == name }!)
    }

    /// Unbinds a device from its driver, like writing to the driver's `unbind` file.
    /// Mirrors `device_release_driver`; the device is left without a driver.
    /// - Throws: `ENODEV` if the device is unknown or has no driver.
    public func unbind(_ address: PCIAddress) throws(Errno) {
        guard let d = devices[address], let name = d.driver else { throw .noDevice }
        if let drv = drivers.first(where: { $0.name == name }) { drv.remove(d) }
        devices[address]?.driver = nil
        kernel.record(LinuxTrace.pciUnbind, a: address.traceValue, text: name)
    }

    private func probe(_ address: PCIAddress, driverIndex i: Int) throws(Errno) {
        let drv = drivers[i]
        let d = devices[address]!
        do {
            try machine.check(.pciBind, detail: drv.name)
            try drv.probe(d)
        } catch {
            if error != .noDevice && error != Errno(rawValue: 6) {
                kernel.printk(.warning, "\(drv.name) \(address): probe with driver \(drv.name) failed with error \(error.negated)")
            }
            kernel.record(LinuxTrace.pciProbe, result: .error(error), a: address.traceValue, text: drv.name)
            throw error
        }
        devices[address]?.driver = drv.name
        kernel.record(LinuxTrace.pciProbe, result: .ok, a: address.traceValue, text: drv.name)
    }

    /// Offers an unbound device to every matching driver in registration order until one
    /// accepts it (`device_attach`).
    private func attachAny(_ address: PCIAddress) {
        for i in drivers.indices where devices[address]?.driver == nil && driver(drivers[i].name, matches: address) {
            try? probe(address, driverIndex: i)
        }
    }

    /// Offers every unbound matching device to one driver (`driver_attach`).
    private func attachDriver(_ name: String) {
        guard let i = drivers.firstIndex(where: { $0.name == name }) else { return }
        for a in devices.keys.sorted() where devices[a]?.driver == nil && driver(name, matches: a) {
            try? probe(a, driverIndex: i)
        }
    }

    static func hex(_ v: Int, _ w: Int) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, w - s.count)) + s
    }
}
