import JHABI
import JHMachine

/// The errnos a fault at a site can plausibly carry, for campaigns and `--errnos`
/// sweeps. A site's default errno comes first; the others are what the mirrored C code
/// can really get there (hotplug callbacks return -EBUSY, -ENOMEM, -EINVAL…; allocators
/// only -ENOMEM). Sites not listed get just their default.
public enum SiteErrnos {
    static let table: [String: [Errno]] = [
        "cpu_down": [.busy, .noMemory, .invalidArgument],
        "cpu_up": [.noMemory, .busy, .ioError],
        "cpu_up_bringup": [.ioError],
        "cpuhp_rollback": [.busy, .noMemory],
        "copy_from_user": [.badAddress],
        "copy_to_user": [.badAddress],
        "mutex_lock_interruptible": [.interrupted],
        "kmalloc": [.noMemory],
        "sysfs_create": [.noMemory, .exists],
        "pci_bind": [.noDevice, .noMemory, .busy],
        "request_firmware": [.noEntry, .noMemory],
        "ioremap": [.invalidArgument, .noMemory],
        "hv_cpu_init": [.ioError, .noMemory, .invalidArgument],
        "hv_unit_init": [.noDevice, .noMemory, .invalidArgument],
        "hv_unit_cell_init": [.noMemory, .invalidArgument, .busy],
        "hv_paging_unmap": [.noMemory, .invalidArgument],
        "hv_init_early": [.noMemory, .invalidArgument],
    ]

    /// The plausible errnos of `site`, default first.
    public static func valid(_ info: FaultSiteInfo) -> [Errno] {
        var list = [info.defaultErrno]
        for e in table[info.name] ?? [] where !list.contains(e) { list.append(e) }
        return list
    }
}
