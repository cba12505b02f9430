import Foundation
import Testing
@testable import JHLab

/// The repository root, found from this file's path.
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// Whether this build has the real simulated machine (the lower layers merged).
let standardBoxAvailable: Bool = (try? BoxFactory.standard.make(BoxParameters(executor: .inline))) != nil

/// Runs the Docs scenarios in a scratch copy of Docs/ (so pictures they draw land there).
struct DocsRun {
    let scratch: String
    let runner: LabCommandRunner

    init() throws {
        scratch = NSTemporaryDirectory() + "jhsim-docs-" + UUID().uuidString
        let fm = FileManager.default
        try fm.createDirectory(atPath: scratch + "/images", withIntermediateDirectories: true)
        try fm.copyItem(atPath: repositoryRoot + "/Docs/scenarios", toPath: scratch + "/scenarios")
        runner = LabCommandRunner(factory: .standard, environment: LabEnvironment(currentDirectory: scratch))
    }

    func run(_ scenario: String) -> CommandResult { runner.run(["run", scenario]) }

    func transcript(_ scenario: String) throws -> String {
        let r = run(scenario)
        guard r.status == 0 else { throw LabError("\(scenario) failed: \(r.stderr)") }
        return r.stdout
    }
}

@Suite(.serialized) struct DocsTests {
    static let tutorials = ["Docs/tutorial.md", "Docs/tutorial.zh.md"]
    /// `JHSIM_UPDATE_DOCS=1 swift test --filter DocsTests` rewrites the blocks and the picture.
    static let update = ProcessInfo.processInfo.environment["JHSIM_UPDATE_DOCS"] != nil

    @Test func markersAreWellFormed() throws {
        for t in Self.tutorials {
            let text = try String(contentsOfFile: repositoryRoot + "/" + t, encoding: .utf8)
            let blocks = try DocBlocks.blocks(in: text)
            #expect(blocks.count >= 8, "\(t) has \(blocks.count) generated blocks")
            for b in blocks {
                #expect(FileManager.default.fileExists(atPath: repositoryRoot + "/Docs/" + b.scenario), "\(t): \(b.scenario)")
            }
        }
    }

    @Test func scenariosInDocsPass() throws {
        guard standardBoxAvailable else { return }
        let docs = try DocsRun()
        let files = try FileManager.default.contentsOfDirectory(atPath: repositoryRoot + "/Docs/scenarios")
            .filter { $0.hasSuffix(".jhsim") }.sorted()
        #expect(files.count >= 9)
        for f in files {
            let r = docs.run("scenarios/" + f)
            #expect(r.status == 0, "\(f): \(r.stderr)")
        }
    }

    @Test func tutorialOutputsAreCurrent() throws {
        guard standardBoxAvailable else { return }
        let docs = try DocsRun()
        for t in Self.tutorials {
            let path = repositoryRoot + "/" + t
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let fresh = try DocBlocks.regenerate(text) { try docs.transcript($0) }
            if Self.update {
                try fresh.write(toFile: path, atomically: true, encoding: .utf8)
            } else {
                #expect(fresh == text, "\(t) is out of date; run JHSIM_UPDATE_DOCS=1 swift test --filter DocsTests")
            }
        }
        let svg = try String(contentsOfFile: docs.scratch + "/images/timeline.svg", encoding: .utf8)
        let committed = repositoryRoot + "/Docs/images/timeline.svg"
        if Self.update {
            try svg.write(toFile: committed, atomically: true, encoding: .utf8)
        } else {
            #expect(svg == (try? String(contentsOfFile: committed, encoding: .utf8)), "Docs/images/timeline.svg is out of date")
        }
    }

    @Test func regenerateReplacesOnlyMarkedBlocks() throws {
        let md = "# T\n<!-- jhsim run scenarios/a.jhsim -->\n```text\nold\n```\n```\nkeep\n```\n"
        let out = try DocBlocks.regenerate(md) { "new \($0)\nline\n" }
        #expect(out == "# T\n<!-- jhsim run scenarios/a.jhsim -->\n```text\nnew scenarios/a.jhsim\nline\n```\n```\nkeep\n```\n")
        #expect(throws: LabError.self) { try DocBlocks.blocks(in: "<!-- jhsim run x -->\nno fence\n") }
    }
}
