import JHABI
import JHHypervisor
import JHMachine

extension JailhouseDriver {
    /// Mirrors `jailhouse_cmd_cell_start` in driver/cell.c: prologue, CELL_START, unlock.
    /// There is no driver-side state change.
    ///
    /// - Throws: -EFAULT, -EINTR, -EINVAL, -ENOENT and the hypercall's error.
    func cmdCellStart(_ file: DeviceFile, _ arg: UInt64) throws(DriverFailure) {
        let bytes: [UInt8]
        do { bytes = try copyFromUser(file, arg, IoctlLayout.cellIDSize) } catch { throw .errno(.badAddress) }
        let cell: DriverCell
        do { cell = try cellManagementPrologue(CellIDArg(bytes), file) } catch { throw .errno(error) }
        defer { unlock(file) }
        let result = try hypercall(file, .cellStart, UInt64(cell.id.rawValue))
        if result != 0 { throw .errno(Errno(rawValue: Int32(truncatingIfNeeded: -result))) }
    }
}
