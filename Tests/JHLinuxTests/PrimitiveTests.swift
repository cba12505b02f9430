import Testing
import JHABI
import JHMachine
@testable import JHLinux

@Suite struct CpumaskTests {
    @Test func linuxFormats() {
        // The examples of Documentation/sysfs-entries.txt and lib/vsprintf.c.
        let s: CPUSet = [2, 3]
        #expect(s.hexMask(nrCPUIDs: 4) == "c")
        #expect(CPUSet([0, 2, 3]).rangeList == "0,2-3")
        #expect(CPUSet([0, 1]).rangeList == "0-1")
        #expect(CPUSet().rangeList == "" && CPUSet().sysfsList() == "\n")
        #expect(CPUSet().hexMask(nrCPUIDs: 4) == "0" && CPUSet().sysfsMask(nrCPUIDs: 4) == "0\n")
        #expect(CPUSet([0, 40]).hexMask(nrCPUIDs: 64) == "00000100,00000001")
        #expect(CPUSet(range: 0..<8).hexMask(nrCPUIDs: 8) == "ff")
    }

    @Test func kernelNamedOperations() {
        var a: CPUSet = [0, 1, 2]
        let b: CPUSet = [2, 3]
        #expect(a.and(b) == [2] && a.or(b) == [0, 1, 2, 3] && a.andnot(b) == [0, 1])
        #expect(CPUSet([2]).subset(of: b) && !a.subset(of: b))
        a.set(5); a.clear(0); a.set(-1)
        #expect(a == [1, 2, 5] && a.test(5) && !a.test(0) && a.weight == 3)
        #expect(Array(CPUSet([9, 3, 70, 1])) == [1, 3, 9, 70])
    }
}

@Suite struct KmallocTests {
    @Test func accountingAndLeakList() throws {
        let k = try makeKernel()
        let a = try k.kmalloc(100, tag: "cell_create:config")
        let b = try k.kzalloc(4096, tag: "cell")
        #expect(k.kmallocStats.liveObjects == 2 && k.kmallocStats.liveBytes == 4196)
        #expect(k.liveAllocations.map(\.tag) == ["cell_create:config", "cell"])
        #expect(k.liveAllocations.first?.allocatedSize == 128)
        k.kfree(a)
        #expect(k.liveAllocations.map(\.tag) == ["cell"])
        k.kfree(b)
        #expect(k.kmallocStats.liveObjects == 0 && k.kmallocStats.liveBytes == 0)
        #expect(k.kmallocStats.totalAllocations == 2 && k.kmallocStats.totalFrees == 2 && k.kmallocStats.peakBytes == 4196)
    }

    @Test func addressesAreInTheHeapWindowAndReadableByPhysicalAddress() throws {
        let k = try makeKernel()
        let va = try k.kmalloc(488, tag: "config")
        let pa = try #require(k.physicalAddress(ofKernel: va))
        #expect(va == pa + Kernel.pageOffset && Kernel.heapWindow.contains(pa))
        #expect(pa + 488 <= 0x3a00_0000)
        #expect(pa % 512 == 0)
        k.writeKernel(va, Array("JHSYS".utf8))
        #expect(k.machine.memory.read(pa, count: 5) == Array("JHSYS".utf8))
        #expect(k.readKernel(va + 1, count: 2) == Array("HS".utf8))
        #expect(k.allocation(containing: va + 100)?.tag == "config")
        #expect(k.physicalAddress(ofKernel: 0x1000) == nil)
    }

    @Test func freedMemoryIsReusedDeterministically() throws {
        let k = try makeKernel()
        let a = try k.kmalloc(64, tag: "a")
        let b = try k.kmalloc(64, tag: "b")
        k.writeKernel(a, [1, 2, 3])
        k.kfree(a)
        let c = try k.kmalloc(60, tag: "c")
        #expect(c == a && b == a + 64)
        #expect(k.readKernel(c, count: 3) == [0, 0, 0])
    }

    @Test func absurdSizesFailWithENOMEM() throws {
        let k = try makeKernel()
        #expect(throws: Errno.noMemory) { try k.kmalloc(Kernel.kmallocMaxSize + 1, tag: "huge") }
        #expect(throws: Errno.noMemory) { try k.kmalloc(-1, tag: "negative") }
        #expect(throws: Errno.noMemory) { try k.kmalloc(Int.max, tag: "max", noWarn: true) }
        let big = try k.kmalloc(Kernel.kmallocMaxSize, tag: "4MiB")
        #expect(k.liveAllocations.first?.allocatedSize == 1 << 22)
        #expect(k.physicalAddress(ofKernel: big)! % (1 << 22) == 0)
        #expect(k.kmallocStats.failedAllocations == 3)
        #expect(k.dmesg(maxLevel: .warning).count == 2)
    }

    @Test func zeroSizeAndInvalidFrees() throws {
        let k = try makeKernel()
        #expect(try k.kmalloc(0, tag: "zero") == Kernel.zeroSizePointer)
        #expect(k.kmallocStats.liveObjects == 0)
        k.kfree(0); k.kfree(Kernel.zeroSizePointer)
        let a = try k.kmalloc(8, tag: "x")
        k.kfree(a); k.kfree(a)
        #expect(k.kmallocStats.invalidFrees == 1)
    }

    @Test func injectedFailure() throws {
        let k = try makeKernel(faults: ["kmalloc:nth=2"])
        _ = try k.kmalloc(8, tag: "first")
        #expect(throws: Errno.noMemory) { try k.kmalloc(8, tag: "second") }
        #expect(k.kmallocStats.liveObjects == 1 && k.kmallocStats.failedAllocations == 1)
    }
}

@Suite struct UserMemoryTests {
    @Test func copyFromUserReadsMappedBytes() throws {
        let k = try makeKernel()
        let pid = k.spawnProcess(name: "jailhouse")
        let a = k.mapUser(pid, [1, 2, 3, 4, 5])
        let b = k.mapUser(pid, [9])
        #expect(a == Kernel.userMapBase && b == a + 2 * 4096)
        #expect(try k.copyFromUser(pid, a + 1, count: 3) == [2, 3, 4])
        #expect(try k.copyFromUser(pid, a, count: 0) == [])
    }

    @Test func holesAndShortRangesFault() throws {
        let k = try makeKernel()
        let pid = k.spawnProcess(name: "p")
        let a = k.mapUser(pid, [1, 2, 3, 4])
        #expect(throws: Errno.badAddress) { try k.copyFromUser(pid, a, count: 5) }
        #expect(throws: Errno.badAddress) { try k.copyFromUser(pid, 0, count: 1) }
        #expect(throws: Errno.badAddress) { try k.copyFromUser(pid, a + 4096, count: 1) }
        #expect(throws: Errno.badAddress) { try k.copyFromUser(pid, a, count: -1) }
        #expect(throws: Errno.badAddress) { try k.copyFromUser(PID(rawValue: 1), a, count: 1) }
        #expect(k.mapUser(PID(rawValue: 1), [1]) == 0)
    }

    @Test func adjacentMappingsAreContiguous() throws {
        let k = try makeKernel()
        let pid = k.spawnProcess(name: "p")
        let a = k.mapUser(pid, [1, 2, 3])
        try k.mapUser(pid, [4, 5], at: a + 3)
        #expect(try k.copyFromUser(pid, a + 1, count: 4) == [2, 3, 4, 5])
        #expect(throws: Errno.exists) { try k.mapUser(pid, [0], at: a + 4) }
        #expect(throws: Errno.invalidArgument) { try k.mapUser(pid, [0], at: Kernel.userSpaceEnd) }
        #expect(throws: Errno.noProcess) { try k.mapUser(PID(rawValue: 7), [0], at: 0x1000) }
        try k.writeUser(pid, a + 2, [7, 8])
        #expect(try k.readUser(pid, a, count: 5) == [1, 2, 7, 8, 5])
        #expect(throws: Errno.badAddress) { try k.writeUser(pid, a + 4, [0, 0]) }
    }

    @Test func copyIntoKernelAndBack() throws {
        let k = try makeKernel()
        let pid = k.spawnProcess(name: "p")
        let u = k.mapUser(pid, Array("JHCLL".utf8))
        let kbuf = try k.kmalloc(5, tag: "buf")
        try k.copyFromUser(pid, u, count: 5, toKernel: kbuf)
        #expect(k.readKernel(kbuf, count: 5) == Array("JHCLL".utf8))
        try k.copyToUser(pid, u, [0x41])
        #expect(try k.readUser(pid, u, count: 2) == [0x41, 0x48])
    }

    @Test func injectedCopyFaults() throws {
        let k = try makeKernel(faults: ["copy_from_user", "copy_to_user:nth=1"])
        let pid = k.spawnProcess(name: "p")
        let u = k.mapUser(pid, [1])
        #expect(throws: Errno.badAddress) { try k.copyFromUser(pid, u, count: 1) }
        #expect(throws: Errno.badAddress) { try k.copyToUser(pid, u, [2]) }
        try k.copyToUser(pid, u, [3])
    }
}

@Suite struct PrintkTests {
    @Test func dmesgFormatAndLevels() throws {
        let k = try makeKernel()
        k.machine.wait(until: VirtualTime(nanoseconds: 1_234_567_890))
        k.printk(.info, "jailhouse: Created Jailhouse cell \"apic-demo\"")
        k.printk(.err, "jailhouse: CPU 0 cannot be assigned")
        #expect(k.dmesg().suffix(2) == ["[    1.234567] jailhouse: Created Jailhouse cell \"apic-demo\"",
                                        "[    1.234567] jailhouse: CPU 0 cannot be assigned"])
        #expect(k.dmesg(maxLevel: .err) == ["[    1.234567] jailhouse: CPU 0 cannot be assigned"])
        k.machine.wait(until: VirtualTime(nanoseconds: 123_456_000_000))
        k.printk(.debug, "x")
        #expect(k.dmesg().last == "[  123.456000] x")
        #expect(LogLevel.err.cName == "KERN_ERR" && LogLevel.err.rawValue == 3)
    }

    @Test func ringIsBounded() throws {
        let k = try makeKernel()
        k.log = PrintkBuffer(capacityBytes: 200)
        for i in 0..<50 { k.printk(.info, "line \(i)") }
        #expect(k.log.usedBytes <= 200 && k.log.dropped > 0)
        #expect(k.dmesg().last?.hasSuffix("line 49") == true)
        #expect(k.log.records.first!.seq == UInt64(k.log.dropped))
    }
}

@Suite struct SysfsTests {
    @Test func createReadWriteListMoveRemove() throws {
        let k = try makeKernel()
        let fs = k.sysfs
        try fs.mkdir("/sys/devices/jailhouse")
        try fs.mkdir("/sys/devices/jailhouse/cells")
        var enabled = false
        try fs.createFile("/sys/devices/jailhouse/enabled", show: { () throws(Errno) in enabled ? "1\n" : "0\n" })
        #expect(try fs.read("/sys/devices/jailhouse/enabled") == "0\n")
        enabled = true
        #expect(try fs.read("/sys/devices/jailhouse/enabled") == "1\n")
        try fs.mkdir("/sys/devices/jailhouse/cells/0")
        try fs.mkdir("/sys/devices/jailhouse/cells/0/statistics")
        try fs.mkdir("/sys/devices/jailhouse/cells/0/statistics/cpu2")
        try fs.mkdir("/sys/devices/jailhouse/cells/1")
        try fs.mkdir("/sys/devices/jailhouse/cells/1/statistics")
        try fs.move("/sys/devices/jailhouse/cells/0/statistics/cpu2", to: "/sys/devices/jailhouse/cells/1/statistics/cpu2")
        #expect(try fs.list("/sys/devices/jailhouse/cells/1/statistics") == ["cpu2"])
        #expect(try fs.list("/sys/devices/jailhouse/cells/0/statistics") == [])
        #expect(try fs.list("/sys/devices/jailhouse") == ["cells", "enabled"])
        try fs.remove("/sys/devices/jailhouse/cells/1")
        #expect(!fs.exists("/sys/devices/jailhouse/cells/1/statistics/cpu2"))
        #expect(fs.walk("/sys/devices/jailhouse").count == 5)
    }

    @Test func errors() throws {
        let k = try makeKernel()
        let fs = k.sysfs
        #expect(throws: Errno.noEntry) { try fs.read("/sys/nope") }
        #expect(throws: Errno.noEntry) { try fs.mkdir("/sys/a/b") }
        #expect(throws: Errno.exists) { try fs.mkdir("/sys/devices") }
        #expect(throws: Errno.isDirectory) { try fs.read("/sys/devices") }
        #expect(throws: Errno.accessDenied) { try fs.write("/sys/devices/system/cpu/online", "0") }
        #expect(throws: Errno.notDirectory) { try fs.list("/sys/devices/system/cpu/online") }
        #expect(throws: Errno.noEntry) { try fs.remove("/sys/none") }
        #expect(throws: Errno.noEntry) { try fs.move("/sys/none", to: "/sys/x") }
        #expect(throws: Errno.exists) { try fs.move("/sys/devices", to: "/sys/bus") }
        #expect(throws: Errno.invalidArgument) { try fs.move("/sys/devices", to: "/sys/devices/system/x") }
        #expect(throws: Errno.accessDenied) {
            try fs.createFile("/sys/wo", show: nil, store: { (_: String) throws(Errno) in })
            _ = try fs.read("/sys/wo")
        }
    }

    @Test func injectedCreateFailure() throws {
        let k = try makeKernel(faults: ["sysfs_create:nth=2"])
        try k.sysfs.mkdir("/sys/a")
        #expect(throws: Errno.noMemory) { try k.sysfs.createFile("/sys/a/f", show: { () throws(Errno) in "" }) }
        #expect(!k.sysfs.exists("/sys/a/f"))
    }

    @Test func cpuDirectoriesSortByteWise() throws {
        let k = try makeKernel(cpus: 12)
        let l = try k.sysfs.list("/sys/devices/system/cpu")
        #expect(l.prefix(4) == ["cpu0", "cpu1", "cpu10", "cpu11"])
        #expect(l.contains("online") && l.contains("possible") && l.contains("offline"))
    }
}

@Suite struct PCIBusTests {
    let nic = PCIDevice(address: PCIAddress(bus: 0, device: 0x19, function: 0), vendor: 0x8086, device: 0x153a, classCode: 0x020000)
    let ahci = PCIDevice(address: PCIAddress(bus: 0, device: 0x1f, function: 2), vendor: 0x8086, device: 0x8c02, classCode: 0x010601)

    @Test func addressFormatting() {
        #expect(nic.address.description == "0000:00:19.0" && nic.address.bdf == 0xc8)
        #expect(PCIAddress(domain: 1, bdf: 0x0112).description == "0001:01:02.2")
    }

    @Test func driversBindMatchingDevices() throws {
        let k = try makeKernel()
        try k.pci.addDevice(nic)
        try k.pci.addDevice(ahci)
        try k.pci.registerDriver(name: "e1000e", ids: [PCIDeviceID(vendor: 0x8086, device: 0x153a)], probe: { (_: PCIDevice) throws(Errno) in })
        #expect(k.pci.lookup(domain: 0, bdf: 0xc8)?.driver == "e1000e")
        #expect(k.pci.lookup(domain: 0, bdf: ahci.address.bdf)?.driver == nil)
        #expect(try k.sysfs.read("/sys/bus/pci/devices/0000:00:19.0/driver") == "e1000e\n")
        #expect(try k.sysfs.read("/sys/bus/pci/devices/0000:00:19.0/class") == "0x020000\n")
        #expect(k.pci.lookup(domain: 1, bdf: 0xc8) == nil)
        #expect(throws: Errno.busy) { try k.pci.registerDriver(name: "e1000e", ids: [], probe: { (_: PCIDevice) throws(Errno) in }) }
    }

    /// The generic steps of the Jailhouse driver's CLAIM and RELEASE.
    @Test func claimThroughAStubAndRelease() throws {
        let k = try makeKernel()
        try k.pci.addDevice(nic)
        var removed: [PCIAddress] = []
        try k.pci.registerDriver(name: "e1000e", ids: [PCIDeviceID(vendor: 0x8086, device: 0x153a)],
                                 probe: { (_: PCIDevice) throws(Errno) in }, remove: { removed.append($0.address) })
        var claimed: Set<PCIAddress> = []
        try k.pci.registerDriver(name: "jailhouse-pci-stub", ids: [], probe: { (d: PCIDevice) throws(Errno) in
            guard claimed.contains(d.address) else { throw .noDevice }
        })
        // CLAIM
        claimed.insert(nic.address)
        try k.pci.unbind(nic.address)
        #expect(removed == [nic.address])
        try k.pci.addDynamicID(driver: "jailhouse-pci-stub", PCIDeviceID(vendor: 0x8086, device: 0x153a))
        #expect(k.pci.lookup(domain: 0, bdf: nic.address.bdf)?.driver == "jailhouse-pci-stub")
        #expect(k.pci.devices(boundTo: "jailhouse-pci-stub").count == 1)
        // RELEASE: the device is left without a driver.
        try k.pci.unbind(nic.address)
        claimed.remove(nic.address)
        #expect(k.pci.lookup(domain: 0, bdf: nic.address.bdf)?.driver == nil)
        #expect(throws: Errno.noEntry) { try k.sysfs.read("/sys/bus/pci/devices/0000:00:19.0/driver") }
        // The stub refuses unclaimed devices; the admin rebinds the original driver.
        #expect(throws: Errno.noDevice) { try k.pci.bind(nic.address, driver: "jailhouse-pci-stub") }
        try k.pci.bind(nic.address, driver: "e1000e")
        #expect(k.pci.lookup(domain: 0, bdf: nic.address.bdf)?.driver == "e1000e")
        #expect(throws: Errno.noDevice) { try k.pci.bind(nic.address, driver: "e1000e") }
        #expect(throws: Errno.noDevice) { try k.pci.unbind(ahci.address) }
    }

    @Test func dynamicIDErrorsAndProbeFaults() throws {
        let k = try makeKernel(faults: ["pci_bind:nth=1:errno=EIO"])
        try k.pci.registerDriver(name: "e1000e", ids: [PCIDeviceID(vendor: 0x8086, device: 0x153a)], probe: { (_: PCIDevice) throws(Errno) in })
        #expect(throws: Errno.exists) { try k.pci.addDynamicID(driver: "e1000e", PCIDeviceID(vendor: 0x8086, device: 0x153a)) }
        #expect(throws: Errno.noDevice) { try k.pci.addDynamicID(driver: "none", PCIDeviceID(vendor: 1, device: 2)) }
        try k.pci.addDevice(nic)    // the first probe is injected to fail with EIO
        #expect(k.pci.lookup(domain: 0, bdf: nic.address.bdf)?.driver == nil)
        #expect(k.dmesg(maxLevel: .warning).contains { $0.contains("failed with error -5") })
        try k.pci.bind(nic.address, driver: "e1000e")
        try k.pci.removeDevice(nic.address)
        #expect(k.pci.allDevices.isEmpty && !k.sysfs.exists("/sys/bus/pci/devices/0000:00:19.0"))
        #expect(throws: Errno.exists) { try k.pci.addDevice(ahci); try k.pci.addDevice(ahci) }
    }
}

@Suite struct FaultCatalogTests {
    @Test func everySiteIsListedOnceAndParses() throws {
        let names = LinuxFaultSites.all.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(names.contains("cpu_down") && names.contains("cpu_up_bringup") && names.contains("mutex_lock_interruptible"))
        for info in LinuxFaultSites.all {
            let rule = try FaultRule(parsing: info.perCPU ? "\(info.name):cpu=1" : info.name, catalog: LinuxFaultSites.all)
            #expect(rule.errno == info.defaultErrno && !info.meaning.isEmpty)
        }
        #expect(LinuxFaultSites.all.first { $0.name == "mutex_lock_interruptible" }?.defaultErrno == .interrupted)
    }
}
