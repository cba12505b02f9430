import JHABI
import JHHypervisor
import JHLinux
import JHMachine

extension JailhouseDriver {
    /// Mirrors `jailhouse_cmd_cell_create` in driver/cell.c, step by step
    /// (jailhouse-behaviour.md §3.5), with both rollback labels.
    ///
    /// On a Linux 5.6 box it is the seed's version of the function: `cpu_down`/`cpu_up`
    /// instead of `remove_cpu`/`add_cpu` (15169df2) and no architecture check (79304da4).
    ///
    /// - Throws: -EFAULT, -ENOMEM, -EINVAL (size, signature, revision, CPU 0, not
    ///   enabled), -EINTR, -EEXIST, -EBUSY (CPU not in root), `remove_cpu`/`cpu_down`
    ///   errors and the CELL_CREATE hypercall's error. In the upstream profile an
    ///   architecture mismatch returns 0 and creates nothing (quirk 1).
    func cmdCellCreate(_ file: DeviceFile, _ arg: UInt64) throws(DriverFailure) {
        // copy_from_user(&cell_params, arg, sizeof(cell_params))
        let params: [UInt8]
        do { params = try copyFromUser(file, arg, IoctlLayout.cellCreateSize) } catch { throw .errno(.badAddress) }
        let configAddress = params.loadLE(UInt64.self, at: 0)
        let configSize = params.loadLE(UInt32.self, at: 8)

        // config = kmalloc(config_size, GFP_USER | __GFP_NOWARN)
        let config: UInt64
        do { config = try kernel.kmalloc(Int(configSize), tag: "cell config", noWarn: true) } catch { throw .errno(.noMemory) }
        defer { kernel.kfree(config) }  // kfree_config_out, on every path

        let user: [UInt8]
        do { user = try copyFromUser(file, configAddress, Int(configSize)) } catch { throw .errno(.badAddress) }
        kernel.writeKernel(config, user)
        let desc = DescriptorView { [kernel] off, n in kernel.readKernel(config &+ UInt64(off), count: n) }

        guard Int(configSize) >= ConfigFormat.cellDescriptorSize, desc.signature == ConfigFormat.cellSignature else {
            log(.err, "jailhouse: Not a cell configuration")
            throw .errno(.invalidArgument)
        }
        guard desc.revision == ConfigFormat.revision else {
            log(.err, "jailhouse: Configuration revision mismatch")
            throw .errno(.invalidArgument)
        }
        // The seed's driver (Linux 5.6 era, before 79304da4) has no architecture check:
        // a foreign config goes on to the hypervisor, which does not look at the byte.
        if kernel.version.driverChecksArchitecture, desc.architecture != .x86 {
            log(.err, "jailhouse: Configuration architecture mismatch")
            if machine.profile.has(.archMismatchReturnsSuccess) {
                // err is still 0 here in the C code: the ioctl "succeeds" with no cell.
                return
            }
            throw .errno(.invalidArgument)
        }
        if !machine.profile.has(.noConfigLengthCheck), UInt64(configSize) < desc.configSize {
            log(.err, "jailhouse: Cell configuration is truncated (\(configSize) of \(desc.configSize) bytes)")
            throw .errno(.invalidArgument)
        }

        kernel.writeKernel(config &+ UInt64(8 + CellName.maxLength), [0])
        if desc.flags.contains(.virtualConsoleActive) {
            let flags = desc.flags.union(.virtualConsolePermitted)
            kernel.writeKernel(config &+ 44, withUnsafeBytes(of: flags.rawValue.littleEndian, Array.init))
        }

        do { try lock(file) } catch { throw .errno(.interrupted) }
        defer { unlock(file) }  // unlock_out
        guard enabled, let root = rootCell else {
            machine.record(DriverTrace.notEnabled, result: .error(.invalidArgument))
            throw .errno(.invalidArgument)
        }

        if let existing = findCell(CellIDArg(IoctlArgs.cellID(id: CellID.unusedWireValue, name: desc.name))) {
            machine.record(DriverTrace.findCellExists, result: .error(.exists), a: Int(existing.id.rawValue), text: existing.name)
            throw .errno(.exists)
        }

        let cell: DriverCell
        do { cell = try cellCreate(desc) } catch { throw .errno(error) }

        // config->id = cell->id: the hypervisor sees the driver's id.
        kernel.writeKernel(config &+ 40, withUnsafeBytes(of: cell.id.rawValue.littleEndian, Array.init))

        guard cell.cpusAssigned.isSubset(of: root.cpusAssigned) else {
            machine.record(DriverTrace.cpumaskSubset, result: .error(.busy), text: root.cpusAssigned.rangeList, set: cell.cpusAssigned)
            cellDelete(cell)  // error_cell_delete
            throw .errno(.busy)
        }

        // Take each CPU of the new cell away from Linux and from the root's set.
        var takenDown = CPUSet()
        var failure: Errno? = nil
        for cpu in cell.cpusAssigned {
            if cpu == 0 {
                machine.record(DriverTrace.cpuZero, result: .error(.invalidArgument))
                log(.err, "Cannot assign CPU 0 to other cells")
                failure = .invalidArgument
                break
            }
            if kernel.online.contains(cpu) {
                if kernel.version.driverUsesCPUDownUp {
                    // The seed's cpu_down(cpu): 0 also for an offline CPU, and the device
                    // is bypassed (sysfs cpuN/online goes on reading 1).
                    do { try kernel.cpuDownExported(cpu) } catch {
                        machine.record(DriverTrace.cpuDownFailed, result: .error(error), a: cpu)
                        failure = error
                        break
                    }
                } else {
                    do throws(Errno) {
                        // remove_cpu returns 1 when the device is already offline; C's `if (err)`
                        // takes the error path then. That happens only to a CPU a failed hotplug
                        // rollback left between states (in cpu_online_mask, device offline);
                        // the simulator reports it as EBUSY rather than the positive 1.
                        if try kernel.removeCPU(cpu) == .alreadyInState { throw Errno.busy }
                    } catch {
                        machine.record(DriverTrace.removeCPUFailed, result: .error(error), a: cpu)
                        failure = error
                        break
                    }
                }
                offlinedCPUs.insert(cpu)
                takenDown.insert(cpu)
                machine.record(DriverTrace.offlinedCPUs, a: cpu, set: offlinedCPUs)
            } else {
                // The quiet branch: an admin-offlined CPU is neither taken down nor noted.
                machine.record(DriverTrace.cpuAlreadyOffline, a: cpu)
            }
            root.cpusAssigned.remove(cpu)
            machine.record(DriverTrace.rootCPUClear, a: cpu, set: root.cpusAssigned)
        }

        var claimed: [PCIAddress] = []
        if failure == nil {
            claimed = pciDoAllDevices(cell, type: .device, action: .claim)
            let result = try hypercall(file, .cellCreate, kernel.physicalAddress(ofKernel: config) ?? 0)
            if result < 0 {
                let e = Errno(rawValue: Int32(truncatingIfNeeded: -result))
                machine.record(DriverTrace.hypercallFailed, result: .error(e), text: HypercallCode.cellCreate.name)
                failure = e
            }
        }

        if let failure {
            errorCPUOnline(cell, takenDown: takenDown, claimed: claimed)
            cellDelete(cell)  // error_cell_delete
            throw .errno(failure)
        }

        cellRegister(cell)
        log(.info, LogLine(Self.createdCellMessage, string: cell.name))
    }

    /// The `error_cpu_online` rollback of `jailhouse_cmd_cell_create`: every CPU of the
    /// new cell goes back to the root's set; offline ones are brought up with `add_cpu`.
    ///
    /// Upstream (quirk 3) brings up *every* offline CPU of the set — also those the admin
    /// had offlined before — and leaves a CPU whose `add_cpu` failed in `offlined_cpus`.
    /// The fixed profile revives only CPUs this request took down and keeps
    /// `offlined_cpus` exact. Upstream also leaves the PCI claims in place (quirk 2).
    func errorCPUOnline(_ cell: DriverCell, takenDown: CPUSet, claimed: [PCIAddress]) {
        guard let root = rootCell else { return }
        let upstream = machine.profile.has(.createRollbackOnlinesAllCPUs)
        for cpu in cell.cpusAssigned {
            let shouldRevive = upstream ? !kernel.online.contains(cpu) : takenDown.contains(cpu)
            if shouldRevive {
                let ok = (try? bringUp(cpu)) != nil
                machine.record(kernel.version.driverUsesCPUDownUp ? DriverTrace.cpuUpRollback : DriverTrace.addCPURollback,
                              result: ok ? .ok : .error(.ioError), a: cpu)
                // Fixed: a CPU whose add_cpu failed stays owed to Linux (as on destroy),
                // so disable brings it back instead of stranding it.
                if ok || (!upstream && kernel.online.contains(cpu)) {
                    offlinedCPUs.remove(cpu)
                    machine.record(DriverTrace.offlinedCPUsClear, a: cpu, set: offlinedCPUs)
                } else if offlinedCPUs.contains(cpu) {
                    machine.record(DriverTrace.addCPURollbackFailed, a: cpu, set: offlinedCPUs)
                }
            }
            root.cpusAssigned.insert(cpu)
            machine.record(DriverTrace.rootCPUSet, a: cpu, set: root.cpusAssigned)
        }
        if !machine.profile.has(.pciClaimLeaksOnFailedCreate) {
            pciRelease(claimed)
        }
    }
}
