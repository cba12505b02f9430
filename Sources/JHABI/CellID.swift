/// A cell id as the driver assigns it (lowest free non-negative integer; root is 0).
///
/// The wire form is a `u32` in the cell descriptor and an `s32` in
/// `struct jailhouse_cell_id`, where -1 means "look the cell up by name".
public struct CellID: RawRepresentable, Hashable, Comparable, Sendable, Codable,
    ExpressibleByIntegerLiteral, CustomStringConvertible
{
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ value: UInt32) { rawValue = value }
    public init(integerLiteral value: UInt32) { rawValue = value }

    /// The root cell's driver id.
    public static let root = CellID(0)
    /// `JAILHOUSE_CELL_ID_UNUSED` as it appears in `struct jailhouse_cell_id`.
    public static let unusedWireValue: Int32 = -1

    public static func < (a: CellID, b: CellID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
}

/// Length limits shared by the config format and the ioctl ABI.
public enum CellName {
    /// `JAILHOUSE_CELL_NAME_MAXLEN` = `JAILHOUSE_CELL_ID_NAMELEN`: 31 characters plus NUL.
    public static let maxLength = 31
    /// Size of the name field in bytes.
    public static let fieldSize = 32
}
