/// The machine's physical memory: a sparse set of 4 KiB frames, zero until written.
///
/// The hypervisor reads cell configs from it by guest-physical address (as the real one
/// maps the driver's kernel copy), inmates' images land in it, and comm regions live in it.
public struct PhysicalMemory: Sendable {
    public static let pageSize: UInt64 = 4096
    private var frames: [UInt64: [UInt8]] = [:]

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
        var out = [UInt8](repeating: 0, count: max(0, count))
        Self.forEachFrame(address, out.count) { frame, off, n, done in
            if let page = frames[frame] {
                for k in 0..<n { out[done + k] = page[off + k] }
            }
        }
        return out
    }

    public mutating func write(_ address: UInt64, _ bytes: [UInt8]) {
        Self.forEachFrame(address, bytes.count) { frame, off, n, done in
            var page = frames[frame] ?? [UInt8](repeating: 0, count: Int(Self.pageSize))
            for k in 0..<n { page[off + k] = bytes[done + k] }
            frames[frame] = page
        }
    }

    /// Forgets the contents of a range (frees fully covered frames, zeroes partial ones).
    public mutating func zero(_ address: UInt64, count: Int) {
        Self.forEachFrame(address, count) { frame, off, n, _ in
            if n == Int(Self.pageSize) {
                frames[frame] = nil
            } else if var page = frames[frame] {
                for k in 0..<n { page[off + k] = 0 }
                frames[frame] = page
            }
        }
    }

    public func readU32(_ address: UInt64) -> UInt32 {
        read(address, count: 4).enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
    }
    public mutating func writeU32(_ address: UInt64, _ v: UInt32) {
        write(address, (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) })
    }
}
