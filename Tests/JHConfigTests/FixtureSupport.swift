import Foundation
@testable import JHConfig

/// Finds the repository's fixtures relative to this source file, so tests run from any
/// working directory.
enum FixturePaths {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let configs = repo.appendingPathComponent("Fixtures/configs")
    static let bad = repo.appendingPathComponent("Fixtures/bad")

    static func bytes(_ url: URL) throws -> [UInt8] { [UInt8](try Data(contentsOf: url)) }
    static func config(_ name: String) throws -> [UInt8] { try bytes(configs.appendingPathComponent(name)) }

    /// Every committed binary config (demos and synth examples), relative paths.
    static var allConfigBinaries: [String] {
        let fm = FileManager.default
        guard let e = fm.enumerator(atPath: configs.path) else { return [] }
        return e.compactMap { $0 as? String }.filter { $0.hasSuffix(".cell") }.sorted()
    }

    static let demoCells = ["tiny-demo", "apic-demo", "linux-x86-demo", "smp-demo", "pci-demo", "ivshmem-demo", "cpu0-demo",
                            "e1000-demo", "ioapic-demo"]
}

/// SplitMix64: a tiny seeded generator so property tests are deterministic.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

extension Array where Element == UInt8 {
    /// Writes a little-endian integer at `offset` (test mutations).
    mutating func poke<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        for i in 0 ..< MemoryLayout<T>.size { self[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }
    var hexString: String { map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }
}
