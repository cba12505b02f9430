import Foundation
import JHABI
import Testing
@testable import JHConfig

/// Random mutations of valid configs never crash the decoder, the checker or the source
/// printer, and whatever decodes re-encodes to the bytes it came from.
@Suite("Mutation properties")
struct PropertyTests {
    static let seeds: [[UInt8]] = [BuiltinConfigs.qemuX86] + BuiltinConfigs.cellNames.compactMap { BuiltinConfigs.cell(named: $0) }

    /// One mutation chosen by the generator; header counts are hit often on purpose.
    static func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var b = input
        let isSystem = b.starts(with: ConfigFormat.systemSignature)
        let desc = isSystem ? SystemConfig.rootCellOffset : 0
        for _ in 0 ..< Int.random(in: 1 ... 4, using: &rng) {
            switch Int.random(in: 0 ..< 8, using: &rng) {
            case 0 where !b.isEmpty:                    // flip one bit anywhere
                let i = Int.random(in: 0 ..< b.count, using: &rng)
                b[i] ^= 1 << UInt8.random(in: 0 ..< 8, using: &rng)
            case 1 where b.count >= desc + 80:          // a header count gets a random value
                let field = desc + 48 + 4 * Int.random(in: 0 ..< 8, using: &rng)
                let v: UInt32 = [0, 1, 2, 7, 0xff, 0x1000, 0x7fff_ffff, 0xffff_ffff, UInt32.random(in: 0 ... .max, using: &rng)]
                    .randomElement(using: &rng) ?? 0
                b.poke(v, at: field)
            case 2:                                     // truncate
                b = Array(b.prefix(Int.random(in: 0 ... b.count, using: &rng)))
            case 3:                                     // append garbage
                b += (0 ..< Int.random(in: 1 ... 64, using: &rng)).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }
            case 4 where !b.isEmpty:                    // random byte
                b[Int.random(in: 0 ..< b.count, using: &rng)] = UInt8.random(in: 0 ... 255, using: &rng)
            case 5 where b.count >= 8:                  // revision / architecture bytes
                b[Int.random(in: 5 ..< 8, using: &rng)] = UInt8.random(in: 0 ... 255, using: &rng)
            case 6 where b.count > 16:                  // overwrite a random u64 (addresses, sizes, flags)
                b.poke(UInt64.random(in: 0 ... .max, using: &rng), at: Int.random(in: 0 ..< b.count - 8, using: &rng))
            default:                                    // the CPU bitmap size
                if b.count >= desc + 52 {
                    b.poke(UInt32([0, 1, 4, 8, 4096, 4097, 0xffff_ffff].randomElement(using: &rng) ?? 8), at: desc + 48)
                }
            }
        }
        return b
    }

    @Test("10,000 seeded random mutations never crash decode, check or print, and decodable inputs round-trip")
    func mutationsNeverCrash() throws {
        var rng = SplitMix64(seed: 0x6a68_7369_6d00_0014)   // "jhsim", rev 14
        var decoded = 0
        for i in 0 ..< 10_000 {
            let input = Self.mutate(Self.seeds[i % Self.seeds.count], &rng)
            let (config, findings) = ConfigChecker.check(file: "case-\(i)", bytes: input)
            if let config {
                decoded += 1
                let size = (try? config.encodedSizeChecked()) ?? -1
                #expect(config.encode() == Array(input.prefix(size)), "case \(i)")
                #expect(!findings.contains { $0.severity == .error && $0.field == "signature" })
                if i % 20 == 0 {   // the source printer and parser on a sample
                    #expect(try ConfigSource.parse(ConfigSource.yaml(config)).encode() == config.encode(), "case \(i)")
                    _ = ConfigText.render(config)
                }
            } else {
                #expect(findings.count == 1 && findings[0].severity == .error, "case \(i)")
            }
            _ = try? CellConfig.computedSize(ofHeader: input)
            _ = try? SystemConfig.computedSize(ofHeader: input)
        }
        // Most mutations keep the file decodable; both paths must be exercised.
        #expect(decoded > 1000 && decoded < 10_000)
    }

    @Test("random bytes of every length up to 600 never crash the decoder")
    func randomBytes() {
        var rng = SplitMix64(seed: 42)
        for n in 0 ..< 600 {
            var b = (0 ..< n).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }
            if n >= 5 && n % 2 == 0 { b.replaceSubrange(0 ..< 5, with: n % 4 == 0 ? ConfigFormat.cellSignature : ConfigFormat.systemSignature) }
            if n >= 8 { b.poke(UInt16(14), at: 6) }
            _ = ConfigChecker.check(file: "r", bytes: b)
        }
    }
}
