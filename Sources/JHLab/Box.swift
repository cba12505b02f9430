import Foundation
import JHABI
import JHMachine

/// Which cell a command names, as tools/jailhouse.c `parse_cell_id` decides it: a
/// non-negative number that parses completely is an id, anything else a name.
public enum CellSelector: Hashable, Sendable, Codable, CustomStringConvertible {
    case id(Int32)
    case name(String)

    /// The cell-id argument rules of `parse_cell_id`: `--name X` forces a name; an
    /// argument that `strtoll(…, 0)` parses completely and without overflow is stored
    /// into the `__s32` id, wrapping like the C assignment, and the sign test runs on
    /// that stored value: so `4294967296` is id 0, while `2147483648` (stored as
    /// −2147483648) and `99999999999999999999` (`ERANGE`) are names. Anything else is
    /// a name, truncated to 31 characters.
    public static func parse(_ args: inout ArraySlice<String>) -> CellSelector? {
        guard let first = args.popFirst() else { return nil }
        if first == "--name" {
            guard let n = args.popFirst() else { return nil }
            return .name(truncatedName(n))
        }
        if let v = CNumber.strtoll(first), Int32(truncatingIfNeeded: v) >= 0 {
            return .id(Int32(truncatingIfNeeded: v))
        }
        return .name(truncatedName(first))
    }

    static func truncatedName(_ s: String) -> String {
        let bytes = Array(s.utf8.prefix(CellName.maxLength))
        return String(decoding: bytes, as: UTF8.self)
    }

    public var description: String {
        switch self {
        case .id(let i): "\(i)"
        case .name(let n): n
        }
    }
}

/// One image of `jailhouse cell load`: the bytes and the cell-virtual target address.
public struct PreloadImage: Hashable, Sendable, Codable {
    public var bytes: Data
    public var target: UInt64
    public init(bytes: Data, target: UInt64) { self.bytes = bytes; self.target = target }
}

/// What a command hands the driver through `ioctl(2)`; the box turns it into argument
/// structs in the calling process's user memory.
public enum IoctlPayload: Hashable, Sendable {
    /// JAILHOUSE_ENABLE: a pointer to the whole system config image.
    case systemConfig([UInt8])
    /// JAILHOUSE_DISABLE: no argument.
    case none
    /// JAILHOUSE_CELL_CREATE: `struct jailhouse_cell_create` over the config image.
    case cellConfig([UInt8])
    /// JAILHOUSE_CELL_START / _DESTROY: `struct jailhouse_cell_id`.
    case cellID(CellSelector)
    /// JAILHOUSE_CELL_LOAD: `struct jailhouse_cell_load` plus images (none = shutdown).
    case cellLoad(CellSelector, [PreloadImage])
}

/// What `stat` finds at a sysfs path.
public enum SysfsEntry: Hashable, Sendable {
    case directory
    /// An attribute: `readable` if it has a `show` method, `writable` if it has `store`.
    case attribute(readable: Bool, writable: Bool)
}

/// One CPU as `jhsim cpus` shows it, gathered from every layer.
public struct CPUStatus: Hashable, Sendable, Codable {
    public var cpu: Int
    /// Linux's view: is the CPU in `cpu_online_mask`?
    public var online: Bool
    /// The Linux hotplug state name (e.g. `online`, `offline`).
    public var hotplugState: String
    /// The owning cell id in the hypervisor, nil when it is not enabled.
    public var owner: UInt32?
    public var ownerName: String?
    /// What `/sys/devices/system/cpu/cpuN/online` reads (nil: no such file, as for CPU 0
    /// on x86). The seed's Linux 5.6 driver leaves it stale: 1 for a CPU it took down.
    public var onlineFile: Bool?
    /// The hypervisor's per-CPU state (`inactive`, `running root`, `parked`, …).
    public var hypervisorState: String
    /// Whether the hypervisor marked the CPU failed.
    public var failed: Bool

    public init(cpu: Int, online: Bool, hotplugState: String, owner: UInt32?, ownerName: String?,
                hypervisorState: String, failed: Bool, onlineFile: Bool? = nil) {
        self.cpu = cpu; self.online = online; self.hotplugState = hotplugState
        self.onlineFile = onlineFile
        self.owner = owner; self.ownerName = ownerName
        self.hypervisorState = hypervisorState; self.failed = failed
    }
}

/// The parameters a box is built from. Together with the command log they determine
/// everything: a lab is these plus its log.
public struct BoxParameters: Hashable, Sendable, Codable {
    public var cpus: Int
    public var seed: UInt64
    public var profile: String
    public var executor: ExecutorKind
    /// Cost-model overrides as `name=nanoseconds`, in the order given (`lab init --cost`).
    public var costOverrides: [String] = []
    /// The root cell's Linux and with it the driver path (`lab init --kernel 5.6`).
    public var kernel: KernelVersion = .current

    /// The default lab: the built-in qemu-x86 machine's 4 CPUs.
    public static let defaultCPUs = 4

    public init(cpus: Int = BoxParameters.defaultCPUs, seed: UInt64 = 0, profile: String = "upstream",
                executor: ExecutorKind = .dispatch) {
        self.cpus = cpus; self.seed = seed; self.profile = profile; self.executor = executor
    }

    private enum CodingKeys: String, CodingKey { case cpus, seed, profile, executor, costOverrides, kernel }

    /// Labs written before `--cost` existed have no `costOverrides`, and those written
    /// before `--kernel` no `kernel`: they run the current driver path, as they did.
    /// A kernel value this jhsim does not know is an error, not a silent default.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cpus = try c.decode(Int.self, forKey: .cpus)
        seed = try c.decode(UInt64.self, forKey: .seed)
        profile = try c.decode(String.self, forKey: .profile)
        executor = try c.decode(ExecutorKind.self, forKey: .executor)
        costOverrides = try c.decodeIfPresent([String].self, forKey: .costOverrides) ?? []
        kernel = try c.decodeIfPresent(KernelVersion.self, forKey: .kernel) ?? .current
    }

    /// Writes `kernel` only when it is not the default, so a default lab's file reads as
    /// it did before the option existed.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(cpus, forKey: .cpus)
        try c.encode(seed, forKey: .seed)
        try c.encode(profile, forKey: .profile)
        try c.encode(executor, forKey: .executor)
        try c.encode(costOverrides, forKey: .costOverrides)
        if kernel != .current { try c.encode(kernel, forKey: .kernel) }
    }

    /// `, kernel 5.6` for the one-line descriptions of a box; empty for the default.
    public var kernelNote: String { kernel == .current ? "" : ", kernel \(kernel.rawValue)" }

    /// The cost model with the overrides applied.
    /// - Throws: a message naming the bad override and the valid names.
    func costModel() throws(UsageError) -> CostModel {
        var cost = CostModel()
        for o in costOverrides {
            let kv = o.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, let ns = CNumber.unsigned(kv[1]) else {
                throw UsageError(message: "bad --cost '\(o)'; expected NAME=NANOSECONDS")
            }
            guard cost.set(kv[0], nanoseconds: ns) else {
                let valid = CostModel.names.map(\.0).joined(separator: ", ")
                throw UsageError(message: "unknown cost '\(kv[0])'; valid names: \(valid)")
            }
        }
        return cost
    }
}

/// A whole simulated box: a machine with Linux, the hypervisor and the Jailhouse driver.
///
/// The lab talks to the lower layers only through this protocol, so its views,
/// persistence and CLI are testable on their own and the integration lives in one file.
public protocol JailhouseBox: AnyObject {
    var machine: Machine { get }
    /// Issues one ioctl on `/dev/jailhouse` from a fresh privileged process, the way
    /// tools/jailhouse.c does. Returns 0 or -errno.
    /// - Parameter signalAfter: deliver a signal to the process this long after the
    ///   ioctl starts (to interrupt `mutex_lock_interruptible`), if set.
    /// - Parameter credentials: the process's capability sets in libcap text form
    ///   (`--caps`); nil runs it fully privileged.
    func ioctl(_ command: IoctlCommand, _ payload: IoctlPayload, signalAfter: VirtualDuration?,
               credentials: String?) throws(SimulationHang) -> Int64
    /// `read()` on the device: the hypervisor console.
    func readConsole() -> String
    /// A sysfs read, e.g. `/sys/devices/jailhouse/cells/1/name`.
    func sysfsRead(_ path: String) throws(Errno) -> String
    /// A sysfs directory listing (any order).
    func sysfsList(_ path: String) throws(Errno) -> [String]
    /// What is at a sysfs path: a directory or an attribute (with its read and write
    /// methods), nil when nothing is.
    func sysfsEntry(_ path: String) -> SysfsEntry?
    /// A sysfs write, like `write(2)` on the opened attribute: the attribute's `store`
    /// method gets `value`. Returns nil on success, else the errno.
    func sysfsWrite(_ path: String, _ value: String) -> Errno?
    /// Issues one ioctl on `/dev/jailhouse` from a real program outside the simulation
    /// (through libjhsim-preload): a fresh process named `processName` whose memory
    /// `memory` reads, so the driver's `copy_from_user` of `argument` and of every
    /// pointer in it reads the real program's bytes. Returns 0 or -errno.
    func outsideIoctl(request: UInt32, argument: UInt64, processName: String,
                      memory: @escaping (UInt64, Int) -> [UInt8]?) throws(SimulationHang) -> Int64
    /// Admin CPU hotplug (`echo 0|1 > /sys/devices/system/cpu/cpuN/online`).
    func setCPU(_ cpu: Int, online: Bool) -> Errno?
    func cpuStatus(_ cpu: Int) -> CPUStatus
    /// Chooses the inmate behaviour of a cell by hypervisor id; false for a bad kind.
    func setInmate(_ kind: String, forCell id: UInt32) -> Bool
    /// The kernel log.
    var dmesg: [String] { get }
    /// The first kernel oops, once the simulated kernel had one (the box is dead then).
    var oops: KernelOops? { get }
}

extension JailhouseBox {
    public var oops: KernelOops? { nil }
}

/// What the lab needs from the lower layers besides a box: built-in configs and catalogs.
public struct BoxFactory: Sendable {
    public var make: @Sendable (BoxParameters) throws -> any JailhouseBox
    /// The built-in system config for a machine with this many CPUs, if there is one.
    public var builtinSystemConfig: @Sendable (Int) -> (name: String, bytes: [UInt8])?
    /// A built-in cell config by name (`tiny-demo`, …).
    public var builtinCellConfig: @Sendable (String) -> [UInt8]?
    public var builtinCellNames: [String]
    /// Every fault site of every layer, in layer order.
    public var faultCatalog: [FaultSiteInfo]
    /// Inmate kinds `cell start --inmate` accepts.
    public var inmateKinds: [String]
    /// Reads a cell config's name and CPU set (for messages and the timeline legend).
    public var describeCellConfig: @Sendable ([UInt8]) -> (name: String, cpus: CPUSet)?
    /// Parses a libcap capability text: nil when it is not one, else its canonical form
    /// and whether CAP_SYS_ADMIN is effective.
    public var parseCredentials: @Sendable (String) -> (canonical: String, sysAdmin: Bool)?
    /// Configs made in memory for one run (`quirks --show` edits built-ins as a quirk's
    /// trigger says), found by name where a built-in would be; the lab has none.
    public var handMadeConfigs: [String: [UInt8]] = [:]

    public init(make: @escaping @Sendable (BoxParameters) throws -> any JailhouseBox,
                builtinSystemConfig: @escaping @Sendable (Int) -> (name: String, bytes: [UInt8])?,
                builtinCellConfig: @escaping @Sendable (String) -> [UInt8]?,
                builtinCellNames: [String], faultCatalog: [FaultSiteInfo], inmateKinds: [String],
                describeCellConfig: @escaping @Sendable ([UInt8]) -> (name: String, cpus: CPUSet)?,
                parseCredentials: @escaping @Sendable (String) -> (canonical: String, sysAdmin: Bool)? = {
                    $0 == "=" ? ("=", false) : ($0, true)
                }) {
        self.make = make
        self.builtinSystemConfig = builtinSystemConfig
        self.builtinCellConfig = builtinCellConfig
        self.builtinCellNames = builtinCellNames
        self.faultCatalog = faultCatalog
        self.inmateKinds = inmateKinds
        self.describeCellConfig = describeCellConfig
        self.parseCredentials = parseCredentials
    }
}
