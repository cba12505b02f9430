#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Number parsing exactly as tools/jailhouse.c does it, by calling the C library's own
/// `strtoll` with base 0 (so `0x10`, `020` and `16` all mean sixteen).
public enum CNumber {
    /// `strtoll(s, &end, 0)` that must consume the whole string (`*end == 0`) without
    /// overflowing (`errno == 0`), as `parse_cell_id` requires; nil otherwise. Like C,
    /// an empty string parses as 0.
    public static func strtoll(_ s: String) -> Int64? {
        s.withCString { p -> Int64? in
            var end: UnsafeMutablePointer<CChar>? = nil
            errno = 0
            let v = cStrtoll(p, &end, 0)
            guard let end, end.pointee == 0, errno == 0 else { return nil }
            return Int64(v)
        }
    }

    /// `cell load -a ADDR` as tools/jailhouse.c parses it: `strtoll(s, &endp, 0)`, and
    /// `help()` (a usage error, exit 1) when `errno` is set or `*endp != 0`; nil then.
    /// The value is reinterpreted as the u64 the C code stores into `target_address`,
    /// so `-1` is 0xffff_ffff_ffff_ffff. Like C, an empty string parses as 0.
    public static func address(_ s: String) -> UInt64? {
        s.withCString { p -> UInt64? in
            var end: UnsafeMutablePointer<CChar>? = nil
            errno = 0
            let v = cStrtoll(p, &end, 0)
            guard let end, end.pointee == 0, errno == 0 else { return nil }
            return UInt64(bitPattern: v)
        }
    }

    /// A strict number for jhsim's own options (`--cpus`, `--seed`, `--last`): base-0
    /// syntax, whole string, non-negative.
    public static func unsigned(_ s: String) -> UInt64? {
        guard !s.isEmpty, !s.hasPrefix("-"), !s.hasPrefix("+"), !s.hasPrefix(" ") else { return nil }
        return s.withCString { p -> UInt64? in
            var end: UnsafeMutablePointer<CChar>? = nil
            errno = 0
            let v = strtoull(p, &end, 0)
            guard let end, end.pointee == 0, errno == 0 else { return nil }
            return UInt64(v)
        }
    }
}

private func cStrtoll(_ p: UnsafePointer<CChar>, _ end: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ base: Int32) -> Int64 {
    Int64(strtoll(p, end, base))
}
