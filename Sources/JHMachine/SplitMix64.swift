/// The seeded random number generator every random choice in a run draws from.
///
/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and its whole state is one word,
/// so a run is reproduced from its seed alone. Never seed from the wall clock.
public struct SplitMix64: RandomNumberGenerator, Sendable, Hashable, Codable {
    public private(set) var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// An independent generator for a sub-component, so adding draws in one place does
    /// not shift the random stream of another.
    public mutating func fork() -> SplitMix64 { SplitMix64(seed: next()) }
}
