/// A Linux error number, as the kernel and the Jailhouse hypervisor use it.
///
/// Modelled on swift-system's `Errno`, but it carries the **Linux** values (the
/// hypervisor uses the same numbers, hypervisor/include/jailhouse/entry.h), not the
/// host's, so a trace reads the same on any machine. Negative values appear only at the
/// ABI edge (`-rawValue` in an ioctl or hypercall result).
public struct Errno: RawRepresentable, Error, Hashable, Sendable, Codable, Comparable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// Operation not permitted. The corresponding C error is `EPERM`.
    public static let notPermitted = Errno(rawValue: 1)
    /// No such file or directory (or cell). The corresponding C error is `ENOENT`.
    public static let noEntry = Errno(rawValue: 2)
    /// Interrupted system call. The corresponding C error is `EINTR`.
    public static let interrupted = Errno(rawValue: 4)
    /// I/O error. The corresponding C error is `EIO`.
    public static let ioError = Errno(rawValue: 5)
    /// Argument list too long. The corresponding C error is `E2BIG`.
    public static let tooBig = Errno(rawValue: 7)
    /// Try again. The corresponding C error is `EAGAIN`.
    public static let again = Errno(rawValue: 11)
    /// Out of memory. The corresponding C error is `ENOMEM`.
    public static let noMemory = Errno(rawValue: 12)
    /// Bad address. The corresponding C error is `EFAULT`.
    public static let badAddress = Errno(rawValue: 14)
    /// Device or resource busy. The corresponding C error is `EBUSY`.
    public static let busy = Errno(rawValue: 16)
    /// File exists. The corresponding C error is `EEXIST`.
    public static let exists = Errno(rawValue: 17)
    /// No such device. The corresponding C error is `ENODEV`.
    public static let noDevice = Errno(rawValue: 19)
    /// Invalid argument. The corresponding C error is `EINVAL`.
    public static let invalidArgument = Errno(rawValue: 22)
    /// Not a typewriter (unknown ioctl). The corresponding C error is `ENOTTY`.
    public static let notTTY = Errno(rawValue: 25)
    /// Result out of range. The corresponding C error is `ERANGE`.
    public static let outOfRange = Errno(rawValue: 34)
    /// Function not implemented. The corresponding C error is `ENOSYS`.
    public static let noSys = Errno(rawValue: 38)
    /// Connection timed out. The corresponding C error is `ETIMEDOUT`.
    public static let timedOut = Errno(rawValue: 110)

    /// Every errno this simulator knows by name, in numeric order.
    public static let known: [Errno] = [
        .notPermitted, .noEntry, .interrupted, .ioError, .tooBig, .again, .noMemory,
        .badAddress, .busy, .exists, .noDevice, .invalidArgument, .notTTY, .outOfRange,
        .noSys, .timedOut,
    ]

    /// The C macro name, e.g. `EBUSY`; `E<n>` for numbers without a name here.
    public var name: String {
        switch rawValue {
        case 1: "EPERM"
        case 2: "ENOENT"
        case 4: "EINTR"
        case 5: "EIO"
        case 7: "E2BIG"
        case 11: "EAGAIN"
        case 12: "ENOMEM"
        case 14: "EFAULT"
        case 16: "EBUSY"
        case 17: "EEXIST"
        case 19: "ENODEV"
        case 22: "EINVAL"
        case 25: "ENOTTY"
        case 34: "ERANGE"
        case 38: "ENOSYS"
        case 110: "ETIMEDOUT"
        default: "E\(rawValue)"
        }
    }

    /// The glibc `strerror` text, so CLI failures read like `perror` output.
    public var message: String {
        switch rawValue {
        case 1: "Operation not permitted"
        case 2: "No such file or directory"
        case 4: "Interrupted system call"
        case 5: "Input/output error"
        case 7: "Argument list too long"
        case 11: "Resource temporarily unavailable"
        case 12: "Cannot allocate memory"
        case 14: "Bad address"
        case 16: "Device or resource busy"
        case 17: "File exists"
        case 19: "No such device"
        case 22: "Invalid argument"
        case 25: "Inappropriate ioctl for device"
        case 34: "Numerical result out of range"
        case 38: "Function not implemented"
        case 110: "Connection timed out"
        default: "Unknown error \(rawValue)"
        }
    }

    /// The largest errno a kernel function can return (`MAX_ERRNO` in include/linux/err.h):
    /// return values in -4095…-1 are errors, anything more negative is not.
    public static let maxValue: Int32 = 4095

    /// Parses `EBUSY`, `ebusy` or `16`. Numbers must lie in 1…``maxValue``: a larger one
    /// is no errno at all (the system-call edge would treat `-99999` as a successful
    /// return), so a fault rule asking for it would make a failing primitive look like
    /// success.
    public init?(name: String) {
        if let n = Int32(name) {
            guard (1...Errno.maxValue).contains(n) else { return nil }
            self.init(rawValue: n)
            return
        }
        let upper = name.uppercased()
        guard let e = Errno.known.first(where: { $0.name == upper }) else { return nil }
        self = e
    }

    /// The value as a kernel function returns it: `-errno`.
    public var negated: Int64 { -Int64(rawValue) }

    /// Decodes a kernel-style return value: negative means an error.
    public static func fromReturn(_ value: Int64) -> Errno? {
        value < 0 && value >= -4095 ? Errno(rawValue: Int32(-value)) : nil
    }

    public static func < (lhs: Errno, rhs: Errno) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Lets `catch Errno.busy` work.
    public static func ~= (lhs: Errno, rhs: any Error) -> Bool {
        (rhs as? Errno) == lhs
    }
}

extension Errno: CustomStringConvertible {
    public var description: String { name }
}
