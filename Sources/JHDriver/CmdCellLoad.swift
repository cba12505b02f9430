import JHABI
import JHConfig
import JHHypervisor
import JHLinux
import JHMachine

extension JailhouseDriver {
    /// Mirrors `jailhouse_cmd_cell_load` in driver/cell.c: SET_LOADABLE, then each image
    /// in order. There is no rollback: images loaded before a failure stay loaded.
    ///
    /// - Throws: -EFAULT, -EINTR, -EINVAL (not enabled, root cell, no suitable region),
    ///   -ENOENT, -EBUSY (mapping the target fails) and the hypercall's error.
    func cmdCellLoad(_ file: DeviceFile, _ arg: UInt64) throws(DriverFailure) {
        let header: [UInt8]
        do { header = try copyFromUser(file, arg, IoctlLayout.cellLoadHeaderSize) } catch { throw .errno(.badAddress) }
        let id = CellIDArg(Array(header[0..<IoctlLayout.cellIDSize]))
        let count = header.loadLE(UInt32.self, at: 40)

        let cell: DriverCell
        do { cell = try cellManagementPrologue(id, file) } catch { throw .errno(error) }
        defer { unlock(file) }

        let result = try hypercall(file, .cellSetLoadable, UInt64(cell.id.rawValue))
        if result != 0 { throw .errno(Errno(rawValue: Int32(truncatingIfNeeded: -result))) }

        var image = arg &+ UInt64(IoctlLayout.cellLoadHeaderSize)
        for _ in 0..<count {
            do { try loadImage(cell, file, image) } catch { throw .errno(error) }
            image &+= UInt64(IoctlLayout.preloadImageSize)
        }
    }

    /// Mirrors `load_image` in driver/cell.c: the first region containing the target
    /// decides; it must hold the whole image and be both WRITE and LOADABLE.
    func loadImage(_ cell: DriverCell, _ file: DeviceFile, _ address: UInt64) throws(Errno) {
        let b: [UInt8]
        do { b = try copyFromUser(file, address, IoctlLayout.preloadImageSize) } catch { throw .badAddress }
        let source = b.loadLE(UInt64.self, at: 0)
        let size = b.loadLE(UInt64.self, at: 8)
        let target = b.loadLE(UInt64.self, at: 16)
        if size == 0 { return }

        guard let region = cell.memoryRegions.first(where: {
            target >= $0.virtStart && target &- $0.virtStart < $0.size
        }) else {
            machine.record(DriverTrace.loadImageNoRegion, result: .error(.invalidArgument), a: Int(bitPattern: UInt(target)))
            throw .invalidArgument
        }
        let offset = target - region.virtStart
        let required: MemoryFlags = [.write, .loadable]
        guard size <= region.size - offset, region.flags.isSuperset(of: required) else {
            machine.record(DriverTrace.loadImageTooBig, result: .error(.invalidArgument), a: Int(bitPattern: UInt(target)),
                           b: Int(bitPattern: UInt(size)), c: Int(bitPattern: UInt(region.virtStart)))
            throw .invalidArgument
        }
        let phys = region.physStart &+ offset
        do {
            try machine.check(.ioremap)
        } catch {
            log(.err, "jailhouse: Unable to map cell RAM at \(hex(phys, 8)) for image loading")
            throw .busy
        }
        guard size <= 1 << 28 else { throw .badAddress }
        let data: [UInt8]
        do { data = try copyFromUser(file, source, Int(size)) } catch { throw .badAddress }
        machine.memory.write(phys, data)
        machine.advance(machine.cost.pageMap * Int((size + 4095) / 4096))
        machine.record(DriverTrace.loadImage, result: .ok, a: Int(bitPattern: UInt(size)), b: Int(bitPattern: UInt(target)),
                       c: Int(bitPattern: UInt(phys)), text: cell.name)
    }
}
