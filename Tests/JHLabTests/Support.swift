import Foundation
import JHABI
@testable import JHLab

/// A fresh temporary directory with a runner whose lab lives in it.
struct TestLab {
    let dir: String
    var runner: LabCommandRunner

    init(factory: BoxFactory = FakeBox.factory) {
        dir = NSTemporaryDirectory() + "jhsim-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        runner = LabCommandRunner(factory: factory, environment: LabEnvironment(currentDirectory: dir))
    }

    @discardableResult
    func run(_ line: String) -> CommandResult {
        runner.run((try? ScenarioLexer.split(line)) ?? [])
    }

    /// Runs, requiring success.
    @discardableResult
    func ok(_ line: String) -> CommandResult {
        let r = run(line)
        if r.status != 0 { print("unexpected failure of `\(line)`: \(r.stderr)") }
        return r
    }

    var labFile: String { dir + "/.jhsim/lab.json" }

    func write(_ name: String, _ text: String) {
        _ = FileManager.default.createFile(atPath: dir + "/" + name, contents: Data(text.utf8))
    }
    func read(_ name: String) -> String? {
        FileManager.default.contents(atPath: dir + "/" + name).map { String(decoding: $0, as: UTF8.self) }
    }
}
