import JHABI

/// One IOMMU unit: `struct jailhouse_iommu` (cell-config.h), 28 packed bytes.
/// The trailing 12-byte union (amd / tipvu) is kept raw so any image round-trips; the
/// typed views read and write it.
public struct IOMMUUnit: Hashable, Sendable {
    public var type: IOMMUType
    public var base: UInt64
    public var size: UInt32
    /// The 12-byte union at offset 16.
    public var unionBytes: [UInt8]

    public init(type: IOMMUType = .unused, base: UInt64 = 0, size: UInt32 = 0,
                unionBytes: [UInt8] = [UInt8](repeating: 0, count: 12)) {
        self.type = type; self.base = base; self.size = size
        self.unionBytes = (unionBytes + [UInt8](repeating: 0, count: 12)).prefix(12).map { $0 }
    }

    public static let size = 28
    public var isEmpty: Bool { self == IOMMUUnit() }

    /// AMD view: `amd.bdf`, `amd.base_cap`, `amd.msi_cap`, `amd.features`.
    public var amdBDF: UInt16 { get { unionBytes.le(UInt16.self, at: 0) } set { unionBytes.setLE(newValue, at: 0) } }
    public var amdBaseCap: UInt8 { get { unionBytes[0 + 2] } set { unionBytes[2] = newValue } }
    public var amdMSICap: UInt8 { get { unionBytes[3] } set { unionBytes[3] = newValue } }
    public var amdFeatures: UInt32 { get { unionBytes.le(UInt32.self, at: 4) } set { unionBytes.setLE(newValue, at: 4) } }
    /// TI PVU view: `tipvu.tlb_base`, `tipvu.tlb_size`.
    public var pvuTLBBase: UInt64 { get { unionBytes.le(UInt64.self, at: 0) } set { unionBytes.setLE(newValue, at: 0) } }
    public var pvuTLBSize: UInt32 { get { unionBytes.le(UInt32.self, at: 8) } set { unionBytes.setLE(newValue, at: 8) } }

    static func decode(_ r: ByteReader, at o: Int, _ s: String) throws(ConfigError) -> IOMMUUnit {
        IOMMUUnit(type: IOMMUType(rawValue: try r.load(UInt32.self, at: o, s, "type")),
                  base: try r.load(UInt64.self, at: o + 4, s, "base"),
                  size: try r.load(UInt32.self, at: o + 12, s, "size"),
                  unionBytes: try r.slice(at: o + 16, length: 12, s, "amd/tipvu"))
    }

    func encode(into w: inout ByteWriter) {
        w.put(type.rawValue); w.put(base); w.put(size); w.put(raw: unionBytes, count: 12)
    }
}

/// x86 member of the platform_info arch union (cell-config.h, `platform_info.x86`).
public struct X86PlatformInfo: Hashable, Sendable {
    public var pmTimerAddress: UInt16 = 0
    public var apicMode: APICMode = .auto
    /// The padding byte after `apic_mode`.
    public var padding: UInt8 = 0
    public var vtdInterruptLimit: UInt32 = 0
    /// 0 = let the driver fill in the running kernel's value at enable.
    public var tscKHz: UInt32 = 0
    public var apicKHz: UInt32 = 0
    public init(pmTimerAddress: UInt16 = 0, apicMode: APICMode = .auto, vtdInterruptLimit: UInt32 = 0,
                tscKHz: UInt32 = 0, apicKHz: UInt32 = 0) {
        self.pmTimerAddress = pmTimerAddress; self.apicMode = apicMode
        self.vtdInterruptLimit = vtdInterruptLimit; self.tscKHz = tscKHz; self.apicKHz = apicKHz
    }
}

/// ARM member of the platform_info arch union (cell-config.h, `platform_info.arm`).
public struct ARMPlatformInfo: Hashable, Sendable {
    public var maintenanceIRQ: UInt8 = 0
    public var gicVersion: UInt8 = 0
    public var padding: UInt16 = 0
    public var gicdBase: UInt64 = 0
    public var giccBase: UInt64 = 0
    public var gichBase: UInt64 = 0
    public var gicvBase: UInt64 = 0
    public var gicrBase: UInt64 = 0
    public init() {}
}

/// Machine facts for the hypervisor: `platform_info` inside `struct jailhouse_system`
/// (cell-config.h), 280 packed bytes at offset 76 of the system header.
public struct PlatformInfo: Hashable, Sendable {
    public var pciMMConfigBase: UInt64 = 0
    public var pciMMConfigEndBus: UInt8 = 0
    /// ARM: create a virtual PCI host through a device-tree overlay.
    public var pciIsVirtual: UInt8 = 0
    /// 0xffff = let the guest choose.
    public var pciDomain: UInt16 = 0
    /// Always `JAILHOUSE_MAX_IOMMU_UNITS` (8) entries.
    public var iommuUnits: [IOMMUUnit] = Array(repeating: IOMMUUnit(), count: ConfigFormat.maxIOMMUUnits)
    /// The 44-byte x86/arm union, kept raw; `x86` and `arm` are typed views of it.
    public var archBytes: [UInt8] = [UInt8](repeating: 0, count: PlatformInfo.archUnionSize)

    public init() {}

    public static let size = 280
    /// Size of the x86/arm union (the arm member is the larger).
    public static let archUnionSize = 44

    public var x86: X86PlatformInfo {
        get {
            var v = X86PlatformInfo(pmTimerAddress: archBytes.le(UInt16.self, at: 0),
                                    apicMode: APICMode(rawValue: archBytes.le(UInt8.self, at: 2)),
                                    vtdInterruptLimit: archBytes.le(UInt32.self, at: 4),
                                    tscKHz: archBytes.le(UInt32.self, at: 8), apicKHz: archBytes.le(UInt32.self, at: 12))
            v.padding = archBytes.le(UInt8.self, at: 3)
            return v
        }
        set {
            archBytes.setLE(newValue.pmTimerAddress, at: 0); archBytes.setLE(newValue.apicMode.rawValue, at: 2)
            archBytes.setLE(newValue.padding, at: 3); archBytes.setLE(newValue.vtdInterruptLimit, at: 4)
            archBytes.setLE(newValue.tscKHz, at: 8); archBytes.setLE(newValue.apicKHz, at: 12)
        }
    }

    public var arm: ARMPlatformInfo {
        get {
            var v = ARMPlatformInfo()
            v.maintenanceIRQ = archBytes.le(UInt8.self, at: 0); v.gicVersion = archBytes.le(UInt8.self, at: 1)
            v.padding = archBytes.le(UInt16.self, at: 2)
            v.gicdBase = archBytes.le(UInt64.self, at: 4); v.giccBase = archBytes.le(UInt64.self, at: 12)
            v.gichBase = archBytes.le(UInt64.self, at: 20); v.gicvBase = archBytes.le(UInt64.self, at: 28)
            v.gicrBase = archBytes.le(UInt64.self, at: 36)
            return v
        }
        set {
            archBytes.setLE(newValue.maintenanceIRQ, at: 0); archBytes.setLE(newValue.gicVersion, at: 1)
            archBytes.setLE(newValue.padding, at: 2)
            archBytes.setLE(newValue.gicdBase, at: 4); archBytes.setLE(newValue.giccBase, at: 12)
            archBytes.setLE(newValue.gichBase, at: 20); archBytes.setLE(newValue.gicvBase, at: 28)
            archBytes.setLE(newValue.gicrBase, at: 36)
        }
    }

    static func decode(_ r: ByteReader, at o: Int) throws(ConfigError) -> PlatformInfo {
        let s = "platform info"
        var p = PlatformInfo()
        p.pciMMConfigBase = try r.load(UInt64.self, at: o, s, "pci_mmconfig_base")
        p.pciMMConfigEndBus = try r.load(UInt8.self, at: o + 8, s, "pci_mmconfig_end_bus")
        p.pciIsVirtual = try r.load(UInt8.self, at: o + 9, s, "pci_is_virtual")
        p.pciDomain = try r.load(UInt16.self, at: o + 10, s, "pci_domain")
        for i in 0 ..< ConfigFormat.maxIOMMUUnits {
            p.iommuUnits[i] = try IOMMUUnit.decode(r, at: o + 12 + IOMMUUnit.size * i, "iommu unit \(i)")
        }
        p.archBytes = try r.slice(at: o + 12 + IOMMUUnit.size * 8, length: archUnionSize, s, "x86/arm")
        return p
    }

    func encode(into w: inout ByteWriter) {
        w.put(pciMMConfigBase); w.put(pciMMConfigEndBus); w.put(pciIsVirtual); w.put(pciDomain)
        for i in 0 ..< ConfigFormat.maxIOMMUUnits {
            (i < iommuUnits.count ? iommuUnits[i] : IOMMUUnit()).encode(into: &w)
        }
        w.put(raw: archBytes, count: Self.archUnionSize)
    }
}
