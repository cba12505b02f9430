import JHABI

/// Byte images of the ioctl argument structs (driver/jailhouse.h), naturally aligned and
/// little-endian as on x86-64. User programs (the CLI, scenarios, tests) write these into
/// a simulated process's memory and pass the address, exactly like tools/jailhouse.c.
public enum IoctlArgs {
    /// `struct jailhouse_cell_create` {u64 config_address; u32 config_size; u32 padding}.
    public static func cellCreate(configAddress: UInt64, size: UInt32) -> [UInt8] {
        var b = [UInt8]()
        b.appendLE(configAddress)
        b.appendLE(size)
        b.appendLE(UInt32(0))
        return b
    }

    /// `struct jailhouse_cell_id` {s32 id; u32 padding; char name[32]}; id -1 means by name.
    public static func cellID(id: Int32, name: String = "") -> [UInt8] {
        var b = [UInt8]()
        b.reserveCapacity(8 + CellName.fieldSize)
        b.appendLE(UInt32(bitPattern: id))
        b.appendLE(UInt32(0))
        b += name.utf8.prefix(CellName.fieldSize)
        b += repeatElement(0, count: 8 + CellName.fieldSize - b.count)
        return b
    }

    /// One `struct jailhouse_preload_image`.
    public struct PreloadImage: Hashable, Sendable {
        public var sourceAddress: UInt64
        public var size: UInt64
        public var targetAddress: UInt64
        public init(sourceAddress: UInt64, size: UInt64, targetAddress: UInt64) {
            self.sourceAddress = sourceAddress; self.size = size; self.targetAddress = targetAddress
        }
    }

    /// `struct jailhouse_cell_load` with its trailing image array.
    public static func cellLoad(cellID: [UInt8], images: [PreloadImage]) -> [UInt8] {
        var b = cellID
        b.appendLE(UInt32(images.count))
        b.appendLE(UInt32(0))
        for i in images {
            b.appendLE(i.sourceAddress)
            b.appendLE(i.size)
            b.appendLE(i.targetAddress)
            b.appendLE(UInt64(0))
        }
        return b
    }
}

/// A decoded `struct jailhouse_cell_id`, as the driver sees it after `copy_from_user`.
struct CellIDArg {
    var id: Int32
    /// The name bytes; the driver forces byte 31 to NUL before use.
    var nameBytes: [UInt8]

    init(_ bytes: [UInt8]) {
        id = Int32(bitPattern: bytes.loadLE(UInt32.self, at: 0))
        nameBytes = Array(bytes[8..<40])
        nameBytes[CellName.maxLength] = 0
    }

    /// The C string up to its first NUL.
    var name: String { cString(nameBytes) }
}

/// The bytes up to the first NUL, decoded leniently (a cell name is arbitrary bytes).
func cString(_ bytes: [UInt8]) -> String {
    let end = bytes.firstIndex(of: 0) ?? bytes.count
    return String(decoding: bytes[..<end], as: UTF8.self)
}

extension Array where Element == UInt8 {
    mutating func appendLE<T: FixedWidthInteger>(_ v: T) {
        var x = v.littleEndian
        Swift.withUnsafeBytes(of: &x) { append(contentsOf: $0) }
    }

    /// Little-endian load that never traps: bytes past the end read as zero (the driver
    /// reads what lies in memory; callers check lengths where the C code does).
    func loadLE<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        var v: T = 0
        for i in 0..<MemoryLayout<T>.size where offset + i >= 0 && offset + i < count {
            v |= T(self[offset + i]) << (8 * i)
        }
        return v
    }

    /// Little-endian store; bytes past the end are dropped.
    mutating func storeLE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        for i in 0..<MemoryLayout<T>.size where offset + i >= 0 && offset + i < count {
            self[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i))
        }
    }
}
