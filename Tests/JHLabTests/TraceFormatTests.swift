import Foundation
import JHDriver
import JHHypervisor
import JHLinux
import JHMachine
import Testing
@testable import JHLab

/// The typed trace's catalogs, and labs written before the trace was typed.
@Suite struct TraceFormatTests {
    @Test func everyKindHasAUniqueIdInItsLayersRangeAndRenders() {
        var seen: [UInt16: String] = [:]
        for catalog in LabTrace.catalogs {
            for k in catalog.kinds {
                #expect(catalog.ids.contains(k.id), "\(k) outside the \(catalog.name) range")
                #expect(seen[k.id] == nil, "\(k) reuses the id of \(seen[k.id] ?? "")")
                seen[k.id] = k.description
                #expect(Set(k.fieldNames).count == k.fieldNames.count, "\(k) names a field twice")
                // Renders with any arguments (formats fall back instead of trapping).
                let e = TraceEvent(time: .zero, kind: k, a: 1, b: 2, c: 3, d: 4, text: "x", set: [0, 1])
                #expect(!e.line.isEmpty)
                _ = e.mirrors
            }
        }
        let ranges = LabTrace.catalogs.map(\.ids)
        for (i, r) in ranges.enumerated() {
            for s in ranges[(i + 1)...] { #expect(!r.overlaps(s)) }
        }
    }

    /// A lab written by the previous format (version 1, whose trace hash covers every
    /// event's text line) by the jhsim before typed events: it is replayed, checked
    /// against that text hash, and saved in the current format by the next command.
    @Test func aVersion1LabIsReplayedAndCheckedAgainstItsTextHash() throws {
        let lab = TestLab(factory: .standard)
        let fixture = try #require(FileManager.default.contents(atPath: Self.v1Fixture))
        try FileManager.default.createDirectory(atPath: lab.dir + "/.jhsim", withIntermediateDirectories: true)
        lab.write(".jhsim/lab.json", String(decoding: fixture, as: UTF8.self))
        let list = lab.run("cell list")
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.contains("tiny-demo") && list.stdout.contains("running"))
        #expect(lab.read(".jhsim/lab.json") == String(decoding: fixture, as: UTF8.self), "read-only commands keep the file")
        #expect(lab.run("cell destroy tiny-demo").status == 0)
        let saved = try JSONDecoder().decode(LabRecord.self, from: Data(try #require(lab.read(".jhsim/lab.json")).utf8))
        #expect(saved.version == LabRecord.currentVersion && saved.commands.count == 5)
        #expect(lab.run("cell list").status == 0)
    }

    @Test func aVersion1LabWhoseTextHashDiffersIsRefusedAndKept() throws {
        let lab = TestLab(factory: .standard)
        let text = String(decoding: try #require(FileManager.default.contents(atPath: Self.v1Fixture)), as: UTF8.self)
        let record = try JSONDecoder().decode(LabRecord.self, from: Data(text.utf8))
        #expect(record.version == 1)
        let tampered = text.replacingOccurrences(of: record.traceHash, with: "0123456789abcdef")
        try FileManager.default.createDirectory(atPath: lab.dir + "/.jhsim", withIntermediateDirectories: true)
        lab.write(".jhsim/lab.json", tampered)
        let r = lab.run("cell list")
        #expect(r.status == 1)
        #expect(r.stderr.contains("format version 1") && r.stderr.contains("left untouched"))
        #expect(lab.read(".jhsim/lab.json") == tampered)
    }

    static let v1Fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/labs/v1/lab.json").path
}
