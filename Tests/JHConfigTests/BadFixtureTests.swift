import Foundation
import JHABI
import Testing
@testable import JHConfig

/// The malformed configs under Fixtures/bad and the exact error each must give.
///
/// The table below is the source of truth: each entry says how the file is made from a
/// good fixture and which error `ConfigChecker` must report first. With
/// `JHSIM_REGENERATE_FIXTURES=1` the `regenerate` test writes the binaries and
/// Fixtures/bad/expected.tsv (file, struct, field, offset, message); otherwise the tests
/// check that the committed files still match the table and give their errors.
struct BadFixture: Sendable, CustomStringConvertible {
    var file: String
    var structName: String
    var field: String
    var offset: Int?
    var message: String
    var make: @Sendable () -> [UInt8]
    var description: String { file }

    static func from(_ base: [UInt8], _ edit: @escaping @Sendable (inout [UInt8]) -> Void) -> @Sendable () -> [UInt8] {
        { var b = base; edit(&b); return b }
    }
}

enum BadFixtures {
    static let tiny = BuiltinConfigs.tinyDemo          // 228 bytes: desc 0, cpus 132, mem 140, cache 204, pio 216
    static let qemu = BuiltinConfigs.qemuX86           // root desc 356, cpus 488, mem 496 (17 regions)
    static let pci = BuiltinConfigs.pciDemo            // 312 bytes: mem 140, pio 236, pci 248, caps 304
    static let linux = BuiltinConfigs.linuxX86Demo     // 692 bytes: mem 140, cache 524, irq 536, pio 568, pci 580

    static func truncated(_ file: String, _ base: [UInt8], at n: Int, _ s: String, _ field: String, offset: Int,
                          count: Int, complete: Int) -> BadFixture {
        BadFixture(file: file, structName: s, field: field, offset: offset,
                   message: "file ends at byte \(n), inside the \(s) array at offset \(offset) (\(field) = \(count), only \(complete) complete); "
                       + "the header's counts need \(base.count) bytes",
                   make: { Array(base.prefix(n)) })
    }

    static let all: [BadFixture] = [
        BadFixture(file: "empty.cell", structName: "cell descriptor", field: "signature", offset: 0,
                   message: "file is 0 bytes, too short for the 5-byte signature at offset 0 (expected \"JHCLL\")", make: { [] }),
        BadFixture(file: "short-signature.cell", structName: "cell descriptor", field: "signature", offset: 0,
                   message: "file is 3 bytes, too short for the 5-byte signature at offset 0 (expected \"JHCLL\")",
                   make: { Array("JHC".utf8) }),
        BadFixture(file: "wrong-signature.cell", structName: "cell descriptor", field: "signature", offset: 0,
                   message: "signature \"XXXXX\" at offset 0, expected \"JHCLL\"",
                   make: BadFixture.from(tiny) { b in b.replaceSubrange(0 ..< 5, with: Array("XXXXX".utf8)) }),
        BadFixture(file: "old-cell-signature.cell", structName: "cell descriptor", field: "signature", offset: 0,
                   message: "signature \"JHCELL\" at offset 0 is the 6-byte cell signature of revisions 1–13 (this file says revision 13), "
                       + "expected \"JHCLL\": rebuild the config for revision 14",
                   make: BadFixture.from(tiny) { b in b.replaceSubrange(0 ..< 6, with: Array("JHCELL".utf8)); b.poke(UInt16(13), at: 6) }),
        BadFixture(file: "old-system-signature.cell", structName: "system header", field: "signature", offset: 0,
                   message: "signature \"JHSYST\" at offset 0 is the 6-byte system signature of revisions 1–13 (this file says revision 13), "
                       + "expected \"JHSYS\": rebuild the config for revision 14",
                   make: BadFixture.from(qemu) { b in b.replaceSubrange(0 ..< 6, with: Array("JHSYST".utf8)); b.poke(UInt16(13), at: 6) }),
        BadFixture(file: "pre-rev1-signature.cell", structName: "cell descriptor", field: "signature", offset: 0,
                   message: "signature \"JAILCELL\" at offset 0 is the 8-byte cell signature from before revision 1, expected \"JHCLL\"",
                   make: BadFixture.from(tiny) { b in b.replaceSubrange(0 ..< 8, with: Array("JAILCELL".utf8)) }),
        BadFixture(file: "wrong-revision.cell", structName: "cell descriptor", field: "revision", offset: 6,
                   message: "revision 13 at offset 6, expected 14 (revision 14 moved to 5-byte signatures and added the architecture byte)",
                   make: BadFixture.from(tiny) { b in b.poke(UInt16(13), at: 6) }),
        BadFixture(file: "future-revision.cell", structName: "cell descriptor", field: "revision", offset: 6,
                   message: "revision 15 at offset 6, expected 14 (this simulator knows revisions up to 14)",
                   make: BadFixture.from(tiny) { b in b.poke(UInt16(15), at: 6) }),
        BadFixture(file: "system-wrong-revision.cell", structName: "system header", field: "revision", offset: 6,
                   message: "revision 12 at offset 6, expected 14 (revision 14 moved to 5-byte signatures and added the architecture byte)",
                   make: BadFixture.from(qemu) { b in b.poke(UInt16(12), at: 6) }),
        BadFixture(file: "truncated-header.cell", structName: "cell descriptor", field: "size", offset: 100,
                   message: "file is 100 bytes, shorter than the 132-byte cell descriptor", make: { Array(tiny.prefix(100)) }),
        BadFixture(file: "system-truncated-header.cell", structName: "system header", field: "size", offset: 400,
                   message: "file is 400 bytes, shorter than the 488-byte system header", make: { Array(qemu.prefix(400)) }),
        truncated("truncated-cpu-set.cell", tiny, at: 136, "CPU set", "cpu_set_size", offset: 132, count: 8, complete: 4),
        truncated("truncated-memory-regions.cell", tiny, at: 182, "memory regions", "num_memory_regions", offset: 140, count: 2, complete: 1),
        truncated("truncated-cache-regions.cell", tiny, at: 210, "cache regions", "num_cache_regions", offset: 204, count: 1, complete: 0),
        truncated("truncated-pio-regions.cell", tiny, at: 226, "PIO regions", "num_pio_regions", offset: 216, count: 3, complete: 2),
        truncated("truncated-irqchips.cell", linux, at: 550, "irqchips", "num_irqchips", offset: 536, count: 1, complete: 0),
        truncated("truncated-pci-devices.cell", pci, at: 280, "PCI devices", "num_pci_devices", offset: 248, count: 1, complete: 0),
        truncated("truncated-pci-caps.cell", pci, at: 308, "PCI capabilities", "num_pci_caps", offset: 304, count: 1, complete: 0),
        truncated("system-truncated-root-arrays.cell", qemu, at: 672, "memory regions", "num_memory_regions",
                  offset: 496, count: 17, complete: 5),
        BadFixture(file: "truncated-stream-ids.cell", structName: "stream ids", field: "num_stream_ids", offset: 228,
                   message: "file ends at byte 228, inside the stream ids array at offset 228 (num_stream_ids = 2, only 0 complete); "
                       + "the header's counts need 236 bytes",
                   make: BadFixture.from(tiny) { b in b.poke(UInt32(2), at: 76) }),
        BadFixture(file: "huge-memory-regions.cell", structName: "memory regions", field: "num_memory_regions", offset: 140,
                   message: "file ends at byte 228, inside the memory regions array at offset 140 (num_memory_regions = 1048576, only 2 complete); "
                       + "the header's counts need 33554596 bytes",
                   make: BadFixture.from(tiny) { b in b.poke(UInt32(0x10_0000), at: 52) }),
        BadFixture(file: "overflow-memory-regions.cell", structName: "cell descriptor", field: "num_memory_regions", offset: 52,
                   message: "num_memory_regions 134217728 at offset 52 makes the size formula overflow: 4294967436 bytes or more "
                       + "do not fit the 32-bit result of jailhouse_cell_config_size()",
                   make: BadFixture.from(tiny) { b in b.poke(UInt32(0x800_0000), at: 52) }),
        BadFixture(file: "overflow-pci-devices.cell", structName: "cell descriptor", field: "num_pci_devices", offset: 68,
                   message: "num_pci_devices 4294967295 at offset 68 makes the size formula overflow: 240518168748 bytes or more "
                       + "do not fit the 32-bit result of jailhouse_cell_config_size()",
                   make: BadFixture.from(tiny) { b in b.poke(UInt32.max, at: 68) }),
        BadFixture(file: "system-overflow-root-counts.cell", structName: "root cell descriptor", field: "num_stream_ids", offset: 432,
                   message: "num_stream_ids 4294967295 at offset 432 makes the size formula overflow: 17179870560 bytes or more "
                       + "do not fit the 32-bit result of jailhouse_cell_config_size()",
                   make: BadFixture.from(qemu) { b in b.poke(UInt32.max, at: 356 + 76) }),
        BadFixture(file: "cpu-set-size-zero.cell", structName: "cell descriptor", field: "cpu_set_size", offset: 48,
                   message: "cpu_set_size 0 at offset 48: the cell has no CPU bitmap",
                   make: BadFixture.from(tiny) { b in b.poke(UInt32(0), at: 48) }),
        BadFixture(file: "cpu-set-size-huge.cell", structName: "cell descriptor", field: "cpu_set_size", offset: 48,
                   message: "cpu_set_size 4104 at offset 48 exceeds 4096 bytes, the hypervisor's limit",
                   make: {
                       var c = (try? CellConfig.decode(tiny)) ?? CellConfig(name: "broken")
                       c.cpuSetSize = 4104
                       return c.encode()
                   }),
        BadFixture(file: "empty-cpu-set.cell", structName: "CPU set", field: "cpu bitmap", offset: 132,
                   message: "the CPU bitmap at offset 132 is empty: the cell has no CPU",
                   make: BadFixture.from(tiny) { b in b[132] = 0 }),
        BadFixture(file: "system-empty-root-cpus.cell", structName: "CPU set", field: "cpu bitmap", offset: 488,
                   message: "the CPU bitmap at offset 488 is empty: the cell has no CPU",
                   make: BadFixture.from(qemu) { b in b[488] = 0 }),
        BadFixture(file: "unterminated-name.cell", structName: "cell descriptor", field: "name", offset: 8,
                   message: "name at offset 8 fills all 32 bytes with no room for its NUL (at most 31 characters)",
                   make: BadFixture.from(tiny) { b in b.replaceSubrange(8 ..< 40, with: [UInt8](repeating: 0x41, count: 32)) }),
        BadFixture(file: "unknown-architecture.cell", structName: "cell descriptor", field: "architecture", offset: 5,
                   message: "architecture 7 at offset 5 is unknown (x86 0, arm 1, arm64 2)",
                   make: BadFixture.from(tiny) { b in b[5] = 7 }),
        BadFixture(file: "system-unknown-architecture.cell", structName: "system header", field: "architecture", offset: 5,
                   message: "architecture 9 at offset 5 is unknown (x86 0, arm 1, arm64 2)",
                   make: BadFixture.from(qemu) { b in b[5] = 9 }),
    ]

    static func tsv() -> String {
        "file\tstruct\tfield\toffset\tmessage\n"
            + all.map { "\($0.file)\t\($0.structName)\t\($0.field)\t\($0.offset.map(String.init) ?? "-")\t\($0.message)\n" }.joined()
    }
}

@Suite("Bad fixtures")
struct BadFixtureTests {
    @Test("regenerate Fixtures/bad (only with JHSIM_REGENERATE_FIXTURES=1)",
          .enabled(if: ProcessInfo.processInfo.environment["JHSIM_REGENERATE_FIXTURES"] == "1"))
    func regenerate() throws {
        try FileManager.default.createDirectory(at: FixturePaths.bad, withIntermediateDirectories: true)
        for f in BadFixtures.all {
            try Data(f.make()).write(to: FixturePaths.bad.appendingPathComponent(f.file))
        }
        try BadFixtures.tsv().write(to: FixturePaths.bad.appendingPathComponent("expected.tsv"), atomically: true, encoding: .utf8)
    }

    @Test("there are at least 20 bad fixtures and expected.tsv lists exactly the table")
    func tableMatchesTSV() throws {
        #expect(BadFixtures.all.count >= 20)
        let tsv = try String(contentsOf: FixturePaths.bad.appendingPathComponent("expected.tsv"), encoding: .utf8)
        #expect(tsv == BadFixtures.tsv())
    }

    @Test("every committed bad fixture is the bytes its recipe makes", arguments: BadFixtures.all)
    func committedBytesMatchRecipe(_ f: BadFixture) throws {
        #expect(try FixturePaths.bytes(FixturePaths.bad.appendingPathComponent(f.file)) == f.make())
    }

    @Test("every bad fixture gives its expected first error", arguments: BadFixtures.all)
    func expectedError(_ f: BadFixture) throws {
        let bytes = try FixturePaths.bytes(FixturePaths.bad.appendingPathComponent(f.file))
        let findings = ConfigChecker.check(file: f.file, bytes: bytes).findings
        let first = try #require(findings.first { $0.severity == .error }, "\(f.file) has no error")
        #expect(first.structName == f.structName)
        #expect(first.field == f.field)
        #expect(first.offset == f.offset)
        #expect(first.message == f.message)
    }
}
