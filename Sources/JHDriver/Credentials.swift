import CLibcap
import JHABI

/// The capability sets of a simulated process, held as libcap text and interpreted by
/// libcap itself (`cap_from_text`, `cap_get_flag`, `cap_to_text`), never by hand.
///
/// Real Jailhouse gets its access control from /dev/jailhouse being a root-only device
/// node; jhsim makes the rule explicit: opening the device needs CAP_SYS_ADMIN in the
/// caller's effective set.
public struct Credentials: Hashable, Sendable, CustomStringConvertible {
    /// libcap's canonical text form, e.g. `=ep` or `cap_sys_admin=ep`.
    public let text: String
    /// Whether CAP_SYS_ADMIN is in the effective set.
    public let hasSysAdmin: Bool

    /// A fully privileged process (root with every capability): the default caller.
    public static let privileged = try! Credentials(text: "=ep")

    /// Parses a libcap text form (see cap_from_text(3)), e.g. `=`, `cap_sys_admin=ep`,
    /// `all=ep cap_sys_admin-e`.
    public init(text: String) throws(CredentialsError) {
        guard let caps = cap_from_text(text) else {
            throw CredentialsError(text: text)
        }
        defer { cap_free(UnsafeMutableRawPointer(caps)) }
        var value = CAP_CLEAR
        guard cap_get_flag(caps, CAP_SYS_ADMIN, CAP_EFFECTIVE, &value) == 0 else {
            throw CredentialsError(text: text)
        }
        hasSysAdmin = value == CAP_SET
        if let t = cap_to_text(caps, nil) {
            self.text = String(cString: t)
            cap_free(UnsafeMutableRawPointer(t))
        } else {
            self.text = text
        }
    }

    public var description: String { text }
}

/// A capability text libcap could not parse.
public struct CredentialsError: Error, Hashable, Sendable, CustomStringConvertible {
    public let text: String
    public var description: String {
        "'\(text)' is not a capability set in libcap text form (for example '=', '=ep' or 'cap_sys_admin=ep')"
    }
}

/// The real process's own privileges: jhsim simulates privileged operations and needs
/// none itself, so the CLI drops every capability it holds at start.
public enum HostPrivileges {
    /// The calling thread's current capability sets in libcap text form.
    public static func current() -> String {
        guard let caps = cap_get_proc() else { return "?" }
        defer { cap_free(UnsafeMutableRawPointer(caps)) }
        guard let t = cap_to_text(caps, nil) else { return "?" }
        defer { cap_free(UnsafeMutableRawPointer(t)) }
        return String(cString: t)
    }

    /// Clears every capability set of the calling thread (`cap_set_proc` with an empty
    /// set). Call it first thing in `main`, before any other thread exists, so every
    /// thread created later inherits the empty sets.
    /// - Returns: the sets held before, or nil when dropping failed.
    @discardableResult
    public static func dropAll() -> String? {
        let before = current()
        guard let empty = cap_init() else { return nil }
        defer { cap_free(UnsafeMutableRawPointer(empty)) }
        return cap_set_proc(empty) == 0 ? before : nil
    }
}
