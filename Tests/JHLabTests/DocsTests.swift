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
        // Scenario 09 draws into the current directory, never into Docs/.
        let svg = try String(contentsOfFile: docs.scratch + "/timeline.svg", encoding: .utf8)
        let committed = repositoryRoot + "/Docs/images/timeline.svg"
        if Self.update {
            try svg.write(toFile: committed, atomically: true, encoding: .utf8)
        } else {
            #expect(svg == (try? String(contentsOfFile: committed, encoding: .utf8)), "Docs/images/timeline.svg is out of date")
        }
    }

    /// Scenario 09, run from a clone, writes its picture where it is run, not into Docs/.
    @Test func scenarioNineDoesNotWriteIntoTheRepository() throws {
        guard standardBoxAvailable else { return }
        let committed = repositoryRoot + "/Docs/images/timeline.svg"
        let before = try FileManager.default.attributesOfItem(atPath: committed)[.modificationDate] as? Date
        let cwd = NSTemporaryDirectory() + "jhsim-09-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: cwd, withIntermediateDirectories: true)
        let runner = LabCommandRunner(factory: .standard, environment: LabEnvironment(currentDirectory: cwd))
        #expect(runner.run(["run", repositoryRoot + "/Docs/scenarios/09-timeline.jhsim"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: cwd + "/timeline.svg"))
        let after = try FileManager.default.attributesOfItem(atPath: committed)[.modificationDate] as? Date
        #expect(before == after)
    }

    /// Follows each tutorial in one lab, exactly as printed: every section's **Start**
    /// line (a `jhsim lab …` command, or "continue"), then each `$ jhsim` command of its
    /// blocks, comparing the output with the printed one.
    @Test func theWholeTutorialWorksInOneLabAsPrinted() throws {
        guard standardBoxAvailable else { return }
        for t in Self.tutorials {
            let text = try String(contentsOfFile: repositoryRoot + "/" + t, encoding: .utf8)
            let steps = try TutorialWalk.steps(text)
            #expect(steps.filter { if case .block = $0 { true } else { false } }.count == (try DocBlocks.blocks(in: text)).count)
            let lab = TestLab(factory: .standard)
            var commands = 0
            for step in steps {
                switch step {
                case .start(let lines):
                    for l in lines { #expect(lab.run(l).status == 0, "\(t): \(l)") }
                case .block(let scenario, let transcript):
                    for (command, printed) in TutorialWalk.commands(transcript) {
                        let r = lab.run(command)
                        commands += 1
                        #expect(r.stdout + r.stderr == printed, "\(t), \(scenario): `jhsim \(command)` printed\n\(r.stdout + r.stderr)\nbut the tutorial shows\n\(printed)")
                    }
                }
            }
            #expect(commands >= 40, "\(t): \(commands) commands")
        }
    }

    @Test func regenerateReplacesOnlyMarkedBlocks() throws {
        let md = "# T\n<!-- jhsim run scenarios/a.jhsim -->\n```text\nold\n```\n```\nkeep\n```\n"
        let out = try DocBlocks.regenerate(md) { "new \($0)\nline\n" }
        #expect(out == "# T\n<!-- jhsim run scenarios/a.jhsim -->\n```text\nnew scenarios/a.jhsim\nline\n```\n```\nkeep\n```\n")
        #expect(throws: LabError.self) { try DocBlocks.blocks(in: "<!-- jhsim run x -->\nno fence\n") }
    }
}

/// Reads a tutorial as a student would: Start lines and printed transcripts, in order.
enum TutorialWalk {
    enum Step {
        /// The `jhsim lab …` commands of a Start line (none: continue in the same lab).
        case start([String])
        case block(scenario: String, transcript: String)
    }

    /// Every marked block, each preceded by the Start line that must come before it.
    /// - Throws: when a block has no Start line of its own.
    static func steps(_ markdown: String) throws -> [Step] {
        var steps: [Step] = []
        var start: [String]? = nil
        let blocks = try DocBlocks.blocks(in: markdown)
        var next = 0
        let lines = markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (i, l) in lines.enumerated() {
            if l.hasPrefix("> **Start:**") || l.hasPrefix("> **起点：**") {
                // Only the first backticked `jhsim lab …` command: the second is the alternative.
                let ticks = l.split(separator: "`", omittingEmptySubsequences: false)
                let labCommands = stride(from: 1, to: ticks.count, by: 2).map { String(ticks[$0]) }
                    .filter { $0.hasPrefix("jhsim lab ") }.prefix(1)
                start = labCommands.map { String($0.dropFirst(6)) }
            }
            if next < blocks.count, blocks[next].fenceLine == i + 1 {
                guard let s = start else { throw LabError("block \(blocks[next].scenario) has no Start line before it") }
                steps.append(.start(s))
                steps.append(.block(scenario: blocks[next].scenario, transcript: blocks[next].content))
                start = nil
                next += 1
            }
        }
        return steps
    }

    /// The `$ jhsim` commands of a transcript with what each printed.
    static func commands(_ transcript: String) -> [(String, String)] {
        var out: [(String, String)] = []
        var lines = transcript.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        for l in lines {
            if l.hasPrefix("$ jhsim ") {
                out.append((String(l.dropFirst(8)), ""))
            } else if !out.isEmpty {
                out[out.count - 1].1 += l + "\n"
            }
        }
        return out
    }
}
