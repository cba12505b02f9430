import JHABI
import JHConfig
import JHHypervisor
import JHLinux
import JHMachine

extension JailhouseDriver {
    /// Mirrors `get_max_cpus` in driver/main.c: scans the root CPU bitmap in user memory
    /// from its last byte down; the result is the highest set CPU + 1.
    func maxCPUs(cpuSetSize: UInt32, _ file: DeviceFile, _ arg: UInt64) throws(Errno) -> Int {
        let bitmapAddress = arg &+ UInt64(ConfigFormat.systemHeaderSize)
        var index = Int(cpuSetSize)
        while index > 0 {
            index -= 1
            let byte = try copyFromUser(file, bitmapAddress &+ UInt64(index), 1)[0]
            if byte != 0 {
                return index * 8 + (8 - byte.leadingZeroBitCount)
            }
        }
        throw .invalidArgument
    }

    /// Mirrors `jailhouse_cmd_enable` in driver/main.c.
    ///
    /// - Throws: -ENODEV (no VT-x), -EFAULT, -EINVAL (signature, revision, architecture
    ///   unless the box runs the seed's Linux 5.6 driver, empty CPU set, sizes), -EINTR, -EBUSY (already enabled), firmware errors, and
    ///   whatever the hypervisor's per-CPU entry returns.
    func cmdEnable(_ file: DeviceFile, _ arg: UInt64) throws(DriverFailure) {
        pendingHang = nil
        do {
            try enable(file, arg)
        } catch {
            if let h = pendingHang {
                pendingHang = nil
                throw .hang(h)
            }
            throw .errno(error)
        }
    }

    private func enable(_ file: DeviceFile, _ arg: UInt64) throws(Errno) {
        // The firmware name follows the CPU's virtualisation extension; the simulated
        // machine is an Intel x86 with VMX, so it is always jailhouse-intel.bin.
        let header = try copyFromUser(file, arg, ConfigFormat.systemHeaderSize)
        guard Array(header[0..<5]) == ConfigFormat.systemSignature else {
            log(.err, "jailhouse: Not a system configuration")
            throw .invalidArgument
        }
        guard header.loadLE(UInt16.self, at: 6) == ConfigFormat.revision else {
            log(.err, "jailhouse: Configuration revision mismatch")
            throw .invalidArgument
        }
        // The seed's driver (before 79304da4) checks no architecture byte.
        if kernel.version.driverChecksArchitecture, Architecture(rawValue: header[5]) != .x86 {
            log(.err, "jailhouse: Configuration architecture mismatch")
            throw .invalidArgument
        }
        let rootOffset = ConfigFormat.systemHeaderSize - ConfigFormat.cellDescriptorSize
        var headerCopy = header
        headerCopy[rootOffset + 8 + CellName.maxLength] = 0
        let rootHeader = DescriptorView { off, n in
            (0..<n).map { off + $0 < ConfigFormat.cellDescriptorSize ? headerCopy[rootOffset + off + $0] : 0 }
        }
        let maxCPUs = try maxCPUs(cpuSetSize: rootHeader.cpuSetSize, file, arg)

        try lock(file)
        defer { unlock(file) }
        guard !enabled else {
            machine.record(DriverTrace.alreadyEnabled, result: .error(.busy))
            throw .busy
        }
        moduleReferences += 1
        var keepModuleReference = false
        defer { if !keepModuleReference { moduleReferences -= 1 } }

        do {
            try machine.check(.vmxFeatureControl)
        } catch {
            log(.err, "jailhouse: VT-x disabled by Firmware/BIOS")
            throw error
        }
        do {
            try machine.check(.requestFirmware)
        } catch {
            log(.err, "jailhouse: Missing hypervisor image jailhouse-intel.bin")
            throw error
        }
        let firmware = Hypervisor.firmware
        let hvMem = (phys: header.loadLE(UInt64.self, at: 12), size: header.loadLE(UInt64.self, at: 12 + 16))
        guard firmware.signature == Array("JAILHOUS".utf8), firmware.imageSize < hvMem.size else {
            throw .invalidArgument
        }
        let coreAndPerCPU = firmware.coreSize &+ UInt64(maxCPUs) &* firmware.perCPUSize
        let configSize = UInt64(ConfigFormat.systemHeaderSize - ConfigFormat.cellDescriptorSize) + rootHeader.configSize
        guard coreAndPerCPU < hvMem.size, configSize < hvMem.size - coreAndPerCPU else {
            throw .invalidArgument
        }

        // jailhouse_firmware_free: drop what a previous enable left behind.
        firmwareFree()
        do {
            try machine.check(.requestMemRegion)
        } catch {
            log(.err, "jailhouse: request_mem_region failed for hypervisor memory.")
            log(.notice, "jailhouse: Did you reserve the memory with \"memmap=\" or \"mem=\"?")
            throw .invalidArgument
        }
        hypervisorWindow = hvMem
        do {
            try machine.check(.ioremap)
        } catch {
            log(.err, "jailhouse: Unable to map RAM reserved for hypervisor at \(hex(hvMem.phys, 8))")
            hypervisorWindow = nil
            throw .invalidArgument
        }
        // Copy the image to the start of the window and clear the rest.
        machine.memory.zero(hvMem.phys, count: Int(min(hvMem.size, 1 << 30)))
        machine.memory.write(hvMem.phys, firmware.signature)
        coreAndPerCPUSize = coreAndPerCPU
        do {
            try machine.check(.sysfsCore)
        } catch {
            firmwareFree()
            throw error
        }
        sysfsCoreSize = firmware.coreSize

        let configAddress = hvMem.phys &+ coreAndPerCPU
        let config: [UInt8]
        do {
            config = try copyFromUser(file, arg, Int(configSize))
        } catch {
            firmwareFree()
            throw .badAddress
        }
        var configCopy = config
        configCopy[rootOffset + 8 + CellName.maxLength] = 0
        // CONFIG_X86: clock rates the config leaves 0 come from the running kernel
        // (platform_info.x86.tsc_khz at 320, apic_khz at 324), before the hypervisor sees them.
        if configCopy.count >= 328 {
            if configCopy.loadLE(UInt32.self, at: 320) == 0 { configCopy.storeLE(kernel.tscKHz, at: 320) }
            if configCopy.loadLE(UInt32.self, at: 324) == 0 {
                configCopy.storeLE(kernel.lapicTimerPeriod / (1000 / Kernel.hz), at: 324)
            }
        }
        machine.memory.write(configAddress, configCopy)
        consoleAvailable = SystemFlags(rawValue: header.loadLE(UInt32.self, at: 8)).contains(.virtualDebugConsole)

        let rootDescriptor = DescriptorView { [machine] off, n in
            machine.memory.read(configAddress &+ UInt64(rootOffset + off), count: n)
        }
        // jailhouse_cell_prepare_root: on failure upstream leaves root_cell = ERR_PTR
        // (quirk 15), which the next enable dereferences; fixed leaves it NULL.
        let root: DriverCell
        do {
            root = try cellCreate(rootDescriptor)
        } catch {
            rootCellErrPtr = machine.profile.has(.prepareRootLeavesErrPtr) ? error : nil
            firmwareFree()
            throw error
        }
        rootCell = root
        rootCellErrPtr = nil

        // on_each_cpu(enter_hypervisor): every online CPU enters; one at or above
        // max_cpus returns -EINVAL without entering, and the others spin forever in
        // `entry` waiting for `entered_cpus` to reach `online_cpus`.
        let online = kernel.online
        let beyond = CPUSet(online.filter { $0 >= maxCPUs })
        if !beyond.isEmpty {
            let spinning = CPUSet(online.filter { $0 < maxCPUs })
            machine.record(DriverTrace.enterBeyondMaxCPUs, result: .error(.invalidArgument), a: maxCPUs, set: beyond)
            pendingHang = SimulationHang(
                waiter: "jailhouse enable: on_each_cpu(enter_hypervisor) waiting for call_done; cpus \(spinning.rangeList) spin in entry (hypervisor/setup.c)",
                reason: "cpus \(beyond.rangeList) are at or above max_cpus (\(maxCPUs)) and return -EINVAL without entering, so entered_cpus never reaches online_cpus (\(online.count))",
                machine: machine)
            throw .invalidArgument
        }
        let results = hypervisor.enable(cpus: online, configAddress: configAddress, maxCPUs: maxCPUs)
        if let error = collectErrorCode(results, step: DriverTrace.enterHypervisor, cpus: online) {
            cellDelete(root)
            rootCell = nil
            firmwareFree()
            throw error
        }

        cellRegister(root)
        pciVirtualRootDevicesAdd(rootDescriptor, pciIsVirtual: header[85] != 0)
        enabled = true
        keepModuleReference = true
        log(.info, "The Jailhouse is opening.")
    }

    /// The `error_code` the per-CPU IPI handlers leave behind (the last non-zero result;
    /// the hypervisor returns the same error on every CPU), recorded as one step.
    func collectErrorCode(_ results: [Int64], step: TraceKind, cpus: CPUSet) -> Errno? {
        let code = results.last { $0 != 0 } ?? 0
        let error = code == 0 ? nil : Errno(rawValue: Int32(truncatingIfNeeded: -code))
        machine.record(step, result: error.map { .error($0) } ?? .ok, set: cpus)
        return error
    }

    /// Mirrors `jailhouse_firmware_free` in driver/main.c.
    func firmwareFree() {
        if sysfsCoreSize != nil { sysfsCoreSize = nil }
        hypervisorWindow = nil
    }
}
