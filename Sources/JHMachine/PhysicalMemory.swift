/// The machine's physical memory: a sparse set of 4 KiB frames, zero until written.
///
/// The hypervisor reads cell configs from it by guest-physical address (as the real one
/// maps the driver's kernel copy), inmates' images land in it, and comm regions live in it.
public struct PhysicalMemory: Sendable {
    public static let pageSize: UInt64 = 4096
    private var frames: [UInt64: [UInt8]] = [:]
    private static let zeroFrame = [UInt8](repeating: 0, count: Int(pageSize))

    public init() {}

    /// Number of frames that hold data.
    public var residentFrames: Int { frames.count }

    /// Walks `[address, address + count)` one frame at a time: the frame number, the
    /// offset in it, how many bytes of the range it holds, and how many came before.
    private static func forEachFrame(_ address: UInt64, _ count: Int,
                                     _ body: (_ frame: UInt64, _ offset: Int, _ length: Int, _ done: Int) -> Void) {
        var done = 0
        while done < count {
            let a = address &+ UInt64(done)
            let offset = Int(a % pageSize)
            let length = min(count - done, Int(pageSize) - offset)
            body(a / pageSize, offset, length, done)
            done += length
        }
    }

    public func read(_ address: UInt64, count: Int) -> [UInt8] {
        let n = max(0, count)
        return [UInt8](unsafeUninitializedCapacity: n) { out, initialized in
            out.initialize(repeating: 0)
            Self.forEachFrame(address, n) { frame, off, len, done in
                frames[frame]?.withUnsafeBufferPointer { page in
                    for k in 0..<len { out[done + k] = page[off + k] }
                }
            }
            initialized = n
        }
    }

    /// Writes bytes in place: a frame is copied only when it first comes into being.
    public mutating func write(_ address: UInt64, _ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { src in
            Self.forEachFrame(address, src.count) { frame, off, n, done in
                frames[frame, default: Self.zeroFrame].withUnsafeMutableBufferPointer { page in
                    for k in 0..<n { page[off + k] = src[done + k] }
                }
            }
        }
    }

    /// Forgets the contents of a range (frees fully covered frames, zeroes partial ones).
    public mutating func zero(_ address: UInt64, count: Int) {
        Self.forEachFrame(address, count) { frame, off, n, _ in
            if n == Int(Self.pageSize) {
                frames[frame] = nil
            } else if frames[frame] != nil {
                frames[frame]!.withUnsafeMutableBufferPointer { page in
                    for k in 0..<n { page[off + k] = 0 }
                }
            }
        }
    }

    /// A little-endian 32-bit word (comm-region fields), without building arrays.
    public func readU32(_ address: UInt64) -> UInt32 {
        let off = Int(address % Self.pageSize)
        guard off <= Int(Self.pageSize) - 4 else {
            return read(address, count: 4).enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
        }
        guard let page = frames[address / Self.pageSize] else { return 0 }
        return page.withUnsafeBufferPointer { p in
            UInt32(p[off]) | UInt32(p[off + 1]) << 8 | UInt32(p[off + 2]) << 16 | UInt32(p[off + 3]) << 24
        }
    }
    public mutating func writeU32(_ address: UInt64, _ v: UInt32) {
        let off = Int(address % Self.pageSize)
        guard off <= Int(Self.pageSize) - 4 else {
            write(address, (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) })
            return
        }
        frames[address / Self.pageSize, default: Self.zeroFrame].withUnsafeMutableBufferPointer { p in
            for k in 0..<4 { p[off + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) }
        }
    }
}
