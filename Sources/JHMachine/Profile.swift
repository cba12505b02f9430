/// A known deviation of upstream Jailhouse (siemens/jailhouse e57d1eff) from what it
/// evidently intends (jailhouse-behaviour.md §6.2). The `upstream` profile reproduces
/// each one bug-for-bug; the `fixed` profile corrects it. Numbers follow §6.2.
public enum Quirk: String, CaseIterable, Sendable, Codable, Hashable {
    /// 1: CELL_CREATE with a foreign architecture logs an error but returns 0 and creates nothing.
    case archMismatchReturnsSuccess = "arch-mismatch-returns-success"
    /// 2: PCI devices claimed for a cell stay on the stub when the CELL_CREATE hypercall fails.
    case pciClaimLeaksOnFailedCreate = "pci-claim-leaks-on-failed-create"
    /// 3: the create rollback brings admin-offlined CPUs online, and a failed `add_cpu`
    ///    leaves the CPU's bit in `offlined_cpus`.
    case createRollbackOnlinesAllCPUs = "create-rollback-onlines-all-cpus"
    /// 4: a failing disable has already destroyed cells and removed root IVSHMEM devices.
    case disableNotSideEffectFree = "disable-not-side-effect-free"
    /// 5: a failed `add_cpu` on destroy is only logged; the CPU stays offline, in root,
    ///    outside `offlined_cpus`, and blocks disable.
    case destroyAddCPUFailureOnlyLogged = "destroy-add-cpu-failure-only-logged"
    /// 6: when CELL_START fails after the prologue, the target CPUs stay suspended.
    case startErrorLeavesTargetSuspended = "start-error-leaves-target-suspended"
    /// 7: neither the driver nor the hypervisor checks config_size against the size the
    ///    config's own counts imply, so truncated configs are read past their end.
    case noConfigLengthCheck = "no-config-length-check"
    /// 9: the sysfs error paths of `jailhouse_sysfs_cell_create` release the wrong object
    ///    (a `statistics` failure frees a pointer inside the cell, a root `cpuN` failure
    ///    frees the cell_cpu twice and then dereferences the NULL `root_cell`): an oops.
    case sysfsErrorPathBadRelease = "sysfs-error-path-bad-release"
    /// 11: the hypervisor takes the root cell id from the system config, which the driver
    ///     never rewrites (its own root id is always 0).
    case rootIDFromSystemConfig = "root-id-from-system-config"
    /// 12: FAILED_COMM_REV (and RUNNING_LOCKED) do not end the comm-region message wait.
    case commRevDoesNotShortCircuit = "comm-rev-does-not-short-circuit"
    /// 13: unknown ioctls return -EINVAL rather than -ENOTTY.
    case unknownIoctlIsEINVAL = "unknown-ioctl-is-einval"
    /// 14: `ioapic_cell_init` rejects pin_base ≠ 0 after taking its page and earlier
    ///     chips' pins, and returns without `ioapic_cell_exit`: both leak.
    case ioapicPinBaseLeaks = "ioapic-pin-base-leaks"
    /// 15: a failing `jailhouse_cell_prepare_root` leaves `root_cell` as an ERR_PTR; the
    ///     next enable dereferences it in `jailhouse_sysfs_cell_create`: an oops.
    case prepareRootLeavesErrPtr = "prepare-root-leaves-err-ptr"
    /// 16: with `pci_is_virtual` and no CONFIG_OF_OVERLAY (x86), enable only warns that the
    ///     virtual host controller cannot be added, and no root IVSHMEM device appears.
    case virtualPCIHostNeedsOverlay = "virtual-pci-host-needs-overlay"

    /// The §6.2 item number.
    public var number: Int {
        switch self {
        case .archMismatchReturnsSuccess: 1
        case .pciClaimLeaksOnFailedCreate: 2
        case .createRollbackOnlinesAllCPUs: 3
        case .disableNotSideEffectFree: 4
        case .destroyAddCPUFailureOnlyLogged: 5
        case .startErrorLeavesTargetSuspended: 6
        case .noConfigLengthCheck: 7
        case .sysfsErrorPathBadRelease: 9
        case .rootIDFromSystemConfig: 11
        case .commRevDoesNotShortCircuit: 12
        case .unknownIoctlIsEINVAL: 13
        case .ioapicPinBaseLeaks: 14
        case .prepareRootLeavesErrPtr: 15
        case .virtualPCIHostNeedsOverlay: 16
        }
    }

    /// One line for `jhsim quirks`.
    public var summary: String {
        switch self {
        case .archMismatchReturnsSuccess: "cell create with a foreign architecture returns 0 and creates nothing"
        case .pciClaimLeaksOnFailedCreate: "PCI claims are not released when the CELL_CREATE hypercall fails"
        case .createRollbackOnlinesAllCPUs: "create rollback onlines admin-offlined CPUs; failed add_cpu leaves offlined_cpus stale"
        case .disableNotSideEffectFree: "a failing disable has already destroyed cells and removed IVSHMEM devices"
        case .destroyAddCPUFailureOnlyLogged: "destroy only logs a failed add_cpu; the CPU stays offline and blocks disable"
        case .startErrorLeavesTargetSuspended: "a failed cell start leaves the cell's CPUs suspended"
        case .noConfigLengthCheck: "config_size is never checked against the config's computed size"
        case .sysfsErrorPathBadRelease: "a failing sysfs statistics/cpuN object is released as a cell: kernel oops"
        case .rootIDFromSystemConfig: "the hypervisor's root id comes from the system config, not the driver"
        case .commRevDoesNotShortCircuit: "FAILED_COMM_REV does not end a comm-region message wait"
        case .unknownIoctlIsEINVAL: "unknown ioctls return EINVAL instead of ENOTTY"
        case .ioapicPinBaseLeaks: "an irqchip with pin_base != 0 leaks the IOAPIC page and pins of the failed create"
        case .prepareRootLeavesErrPtr: "a failed root cell setup leaves root_cell an ERR_PTR; the next enable oopses"
        case .virtualPCIHostNeedsOverlay: "x86 without CONFIG_OF_OVERLAY: a virtual PCI host gets no root IVSHMEM devices"
        }
    }
}

extension Quirk {
    /// How to make it happen in jhsim, for `jhsim quirks` and the docs.
    public var trigger: String {
        switch self {
        case .archMismatchReturnsSuccess: "cell create with a cell config whose architecture byte is not x86 (edit a YAML source: architecture: arm64)"
        case .pciClaimLeaksOnFailedCreate: "cell create pci-demo --fault hv_page_alloc:state=cell:nth=1 (the device stays on jailhouse-pci-stub)"
        case .createRollbackOnlinesAllCPUs: "cpu offline 2, then cell create linux-x86-demo --fault cpu_down:cpu=3:nth=1:errno=EBUSY"
        case .disableNotSideEffectFree: "cell create tiny-demo, cpu offline 1, then disable (EBUSY, yet tiny-demo is gone)"
        case .destroyAddCPUFailureOnlyLogged: "cell create tiny-demo, cell destroy tiny-demo --fault cpu_up:cpu=2:nth=1, then disable"
        case .startErrorLeavesTargetSuspended: "cell create tiny-demo, cell shutdown tiny-demo, cell start tiny-demo --fault hv_paging_unmap:state=start:nth=1"
        case .noConfigLengthCheck: "cell create with a config file cut short (e.g. head -c 200 tiny-demo.cell)"
        case .sysfsErrorPathBadRelease: "enable --fault sysfs_create:state=/sys/devices/jailhouse/cells/0/statistics/cpu1:nth=1"
        case .rootIDFromSystemConfig: "enable a system config whose rootCell has a non-zero id, then create a cell with that id"
        case .commRevDoesNotShortCircuit: "start apic-demo with the comm-rev-mismatch inmate, then cell destroy apic-demo"
        case .unknownIoctlIsEINVAL: "jhsim ioctl 0x1234 (any request number the driver does not know)"
        case .ioapicPinBaseLeaks: "cell create with an irqchip whose pinBase is not 0 (mem_pool_used grows by one page)"
        case .prepareRootLeavesErrPtr: "enable --fault cell_kzalloc:nth=1, then enable again"
        case .virtualPCIHostNeedsOverlay: "enable a system config with pciIsVirtual: 1 (no root IVSHMEM device appears)"
        }
    }
}

/// Which quirks a run reproduces.
public struct Profile: Hashable, Sendable, Codable {
    public var name: String
    public var quirks: Set<Quirk>
    public init(name: String, quirks: Set<Quirk>) { self.name = name; self.quirks = quirks }

    /// Bug-for-bug siemens/jailhouse e57d1eff: what learners see by default.
    public static let upstream = Profile(name: "upstream", quirks: Set(Quirk.allCases))
    /// Every quirk corrected.
    public static let fixed = Profile(name: "fixed", quirks: [])

    public static func named(_ name: String) -> Profile? {
        switch name {
        case "upstream": return .upstream
        case "fixed": return .fixed
        default:
            // `upstream-without-N`: upstream with quirk N alone corrected. The fault tools'
            // `--compare-profiles` uses it to find the quirk behind a difference.
            let prefix = "upstream-without-"
            guard name.hasPrefix(prefix), let n = Int(name.dropFirst(prefix.count)),
                  let q = Quirk.allCases.first(where: { $0.number == n }) else { return nil }
            return Profile(name: name, quirks: upstream.quirks.subtracting([q]))
        }
    }

    public func has(_ q: Quirk) -> Bool { quirks.contains(q) }
}
