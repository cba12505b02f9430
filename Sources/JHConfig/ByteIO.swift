/// Bounds-checked little-endian reads over a configuration image.
///
/// Every load goes through `load(_:at:)`, which checks the range first and then uses
/// `loadUnaligned(fromByteOffset:as:)` + `T(littleEndian:)`: config structs are packed
/// (`__attribute__((packed))` in cell-config.h), so no field is guaranteed to be aligned,
/// and a hostile length must never make us read past the buffer.
struct ByteReader {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var count: Int { bytes.count }

    /// Loads a little-endian integer at `offset`.
    /// - Throws: `ConfigError` naming `structName`/`field` when the bytes are not there.
    func load<T: FixedWidthInteger>(_: T.Type, at offset: Int, _ structName: String,
                                    _ field: String) throws(ConfigError) -> T {
        let size = MemoryLayout<T>.size
        guard offset >= 0, offset <= bytes.count, bytes.count - offset >= size else {
            throw ConfigError(structName: structName, field: field, offset: offset,
                              message: "\(field) at offset \(offset) lies beyond the end of the \(bytes.count)-byte file")
        }
        return bytes.withUnsafeBytes { raw in
            T(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
    }

    /// Copies `length` raw bytes at `offset` (signatures, names, unions).
    func slice(at offset: Int, length: Int, _ structName: String,
               _ field: String) throws(ConfigError) -> [UInt8] {
        guard offset >= 0, length >= 0, offset <= bytes.count, bytes.count - offset >= length else {
            throw ConfigError(structName: structName, field: field, offset: offset,
                              message: "\(field) at offset \(offset) lies beyond the end of the \(bytes.count)-byte file")
        }
        return Array(bytes[offset ..< offset + length])
    }
}

/// Appends packed little-endian fields, the inverse of `ByteReader`.
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func put<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends exactly `count` bytes: `raw` cut or zero-padded to fit, so a field always
    /// keeps its C size whatever the caller stored.
    mutating func put(raw: [UInt8], count: Int) {
        if raw.count >= count {
            bytes.append(contentsOf: raw[0 ..< count])
        } else {
            bytes.append(contentsOf: raw)
            bytes.append(contentsOf: repeatElement(0, count: count - raw.count))
        }
    }
}

/// Reads fixed-width integers out of a small raw byte array (a C union kept as bytes).
/// Out-of-range reads give 0, because the array always has its C size.
extension Array where Element == UInt8 {
    func le<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var v: T = 0
        for i in 0 ..< MemoryLayout<T>.size where offset + i < count && offset + i >= 0 {
            v |= T(truncatingIfNeeded: self[offset + i]) << (8 * i)
        }
        return v
    }

    mutating func setLE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        for i in 0 ..< MemoryLayout<T>.size where offset + i < count && offset + i >= 0 {
            self[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i))
        }
    }

    var isAllZero: Bool { allSatisfy { $0 == 0 } }
}
