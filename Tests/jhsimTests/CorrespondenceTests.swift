import Foundation
import Testing

/// Docs/correspondence.md must name every C function a doc comment says it mirrors;
/// regenerate it with `python3 scripts/correspondence.py` when this fails.
@Suite struct CorrespondenceTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func everyMirroredCFunctionIsInTheCorrespondenceTable() throws {
        let doc = try String(contentsOf: Self.root.appendingPathComponent("Docs/correspondence.md"), encoding: .utf8)
        let sources = Self.root.appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" } ?? []
        var missing: [String] = []
        var count = 0
        for file in files.sorted(by: { $0.path < $1.path }) {
            let text = try String(contentsOf: file, encoding: .utf8)
            for line in text.split(separator: "\n") where line.contains("///") && line.contains("Mirrors `") {
                guard let start = line.range(of: "Mirrors `")?.upperBound,
                      let end = line[start...].firstIndex(of: "`") else { continue }
                let name = String(line[start..<end])
                count += 1
                if !doc.contains("`\(name)`") { missing.append("\(file.lastPathComponent): \(name)") }
            }
        }
        #expect(count > 50, "the sources name the C functions they mirror")
        #expect(missing.isEmpty, "not in Docs/correspondence.md: \(missing)")
    }
}
