import JHABI
import JHLinux
import JHMachine

/// What tools/jailhouse.c does in user space, for one simulated process: put the
/// argument structs and file contents into the process's memory, open /dev/jailhouse
/// and issue the ioctl.
public struct JailhouseTool {
    public let box: SimulatedBox
    public let pid: PID
    public let credentials: Credentials

    public init(box: SimulatedBox, pid: PID, credentials: Credentials = .privileged) {
        self.box = box; self.pid = pid; self.credentials = credentials
    }

    /// A new process (named like the tool) on `cpu`.
    public init(box: SimulatedBox, name: String = "jailhouse", cpu: CPUID = 0, credentials: Credentials = .privileged) {
        self.init(box: box, pid: box.kernel.spawnProcess(name: name, cpu: cpu), credentials: credentials)
    }

    /// Opens the device and issues one ioctl whose argument is `argument` placed in user
    /// memory (or `rawArgument` as the pointer value when given).
    /// - Returns: 0 or -errno. Opening without CAP_SYS_ADMIN gives -EPERM.
    public func ioctl(_ command: IoctlCommand, argument: [UInt8]? = nil, rawArgument: UInt64? = nil) throws(SimulationHang) -> Int64 {
        let file: DeviceFile
        do {
            file = try box.driver.open(pid: pid, credentials: credentials)
        } catch {
            return error.negated
        }
        var address = rawArgument ?? 0
        if let argument { address = place(argument) }
        defer { if argument != nil { unmap(address) } }
        return try box.driver.ioctl(file, command, address)
    }

    /// Gives a buffer from `place` back once the call that used it returned, as the tool
    /// frees what it read (`free(config)` in tools/jailhouse.c): a long-lived tool keeps
    /// no memory per call.
    public func unmap(_ address: UInt64) {
        box.kernel.unmapUser(pid, address)
    }

    /// Puts a buffer into the process's memory the way malloc does: inside whole mapped
    /// pages, so reading a little past its end (as the driver does with a short file)
    /// finds the rest of the page, not a fault.
    public func place(_ bytes: [UInt8]) -> UInt64 {
        let page = 4096
        let size = bytes.isEmpty ? page : (bytes.count + page - 1) / page * page
        var padded = [UInt8]()
        padded.reserveCapacity(size)
        padded += bytes
        padded += repeatElement(0, count: size - bytes.count)
        return box.kernel.mapUser(pid, padded)
    }

    /// `jailhouse enable SYSCONFIG`.
    public func enable(_ systemConfig: [UInt8]) throws(SimulationHang) -> Int64 {
        try ioctl(.enable, argument: systemConfig)
    }

    /// `jailhouse disable`.
    public func disable() throws(SimulationHang) -> Int64 {
        try ioctl(.disable, rawArgument: 0)
    }

    /// `jailhouse cell create CELLCONFIG`: the file's bytes and size.
    public func cellCreate(_ config: [UInt8]) throws(SimulationHang) -> Int64 {
        let address = place(config)
        defer { unmap(address) }
        return try ioctl(.cellCreate, argument: IoctlArgs.cellCreate(configAddress: address, size: UInt32(config.count)))
    }

    /// How a cell is named on the command line (`parse_cell_id`).
    public enum CellRef: Hashable, Sendable {
        case id(UInt32)
        case name(String)

        /// tools/jailhouse.c `parse_cell_id` rules: a full, non-overflowing strtoll(…, 0)
        /// parse is stored into the `__s32` id (wrapping like C) and is an id if that
        /// stored value is ≥ 0; anything else is a name (truncated to 31 characters);
        /// `--name` forces a name. So `4294967296` is id 0 and `2147483648` a name, and
        /// an empty argument is id 0 (`strtoll("")` consumes everything and returns 0).
        public init(argument: String, forceName: Bool = false) {
            let parsed: Int64? = argument.isEmpty ? 0 : parseCInteger(argument)
            if !forceName, let v = parsed, Int32(truncatingIfNeeded: v) >= 0 {
                self = .id(UInt32(Int32(truncatingIfNeeded: v)))
            } else {
                self = .name(String(decoding: Array(argument.utf8.prefix(CellName.maxLength)), as: UTF8.self))
            }
        }

        var argumentBytes: [UInt8] {
            switch self {
            case .id(let id): IoctlArgs.cellID(id: Int32(bitPattern: id))
            case .name(let n): IoctlArgs.cellID(id: CellID.unusedWireValue, name: n)
            }
        }
    }

    /// `jailhouse cell start`.
    public func cellStart(_ cell: CellRef) throws(SimulationHang) -> Int64 {
        try ioctl(.cellStart, argument: cell.argumentBytes)
    }

    /// `jailhouse cell destroy`.
    public func cellDestroy(_ cell: CellRef) throws(SimulationHang) -> Int64 {
        try ioctl(.cellDestroy, argument: cell.argumentBytes)
    }

    /// One image for `cell load`: its bytes and the cell-virtual target address.
    public struct Image: Hashable, Sendable {
        public var bytes: [UInt8]
        public var target: UInt64
        public init(bytes: [UInt8], target: UInt64 = 0) { self.bytes = bytes; self.target = target }
        /// `-s STRING`: loaded with its trailing NUL.
        public init(string: String, target: UInt64 = 0) { self.init(bytes: Array(string.utf8) + [0], target: target) }
    }

    /// `jailhouse cell load` (and, with no images, `cell shutdown`).
    public func cellLoad(_ cell: CellRef, images: [Image]) throws(SimulationHang) -> Int64 {
        let descriptors = images.map { img in
            IoctlArgs.PreloadImage(sourceAddress: place(img.bytes), size: UInt64(img.bytes.count),
                                   targetAddress: img.target)
        }
        defer { for d in descriptors { unmap(d.sourceAddress) } }
        return try ioctl(.cellLoad, argument: IoctlArgs.cellLoad(cellID: cell.argumentBytes, images: descriptors))
    }
}

/// `strtoll(s, &end, 0)` with a full-parse check: `0x` hex, leading-`0` octal, decimal,
/// an optional sign. Returns nil unless the whole string is one number that fits.
public func parseCInteger(_ text: String) -> Int64? {
    var s = Substring(text)
    while let f = s.first, f == " " || f == "\t" || f == "\n" { s.removeFirst() }
    var negative = false
    if s.first == "+" || s.first == "-" { negative = s.first == "-"; s.removeFirst() }
    var radix = 10
    if s.hasPrefix("0x") || s.hasPrefix("0X") {
        radix = 16; s = s.dropFirst(2)
    } else if s.count > 1, s.first == "0" {
        radix = 8; s = s.dropFirst()
    }
    guard !s.isEmpty, let v = UInt64(s, radix: radix) else { return nil }
    if negative { return v <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- v) : nil }
    return v <= UInt64(Int64.max) ? Int64(v) : nil
}
