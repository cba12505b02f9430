import Foundation
import JHDriver
import JHFaults
import JHLab
import JHMachine

/// A scratch directory and an in-process `jhsim` with the fault tools plugged in, the
/// way the executable wires them.
struct FaultsCLI {
    let dir: String
    let runner: LabCommandRunner

    init() {
        dir = NSTemporaryDirectory() + "jhsim-faults-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        runner = LabCommandRunner(factory: .standard, environment: LabEnvironment(currentDirectory: dir)).withFaultTools()
    }

    func run(_ argv: [String]) -> CommandResult { runner.run(argv) }

    /// Runs a printed reproducer (`jhsim faults run …`) as a shell would split it.
    func run(commandLine: String) throws -> CommandResult {
        var words = try ScenarioLexer.split(commandLine)
        if words.first == "jhsim" { words.removeFirst() }
        return runner.run(words)
    }

    func write(_ name: String, _ text: String) {
        _ = FileManager.default.createFile(atPath: dir + "/" + name, contents: Data(text.utf8))
    }
}

func rule(_ text: String) throws -> FaultRule {
    try FaultRule(parsing: text, catalog: SimulatedBox.faultCatalog)
}

/// The repository root, from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

func runner(_ target: FaultScenario, profile: String? = nil, checkExpect: Bool = false) -> FaultRunner {
    FaultRunner(target: target, settings: RunSettings(profile: profile, checkExpectations: checkExpect),
                environment: LabEnvironment(currentDirectory: NSTemporaryDirectory()))
}

func scenario(_ text: String) throws -> FaultScenario {
    FaultScenario(scenario: try Scenario.parse(text, file: "test.jhsim", factory: .standard), file: "test.jhsim",
                  baseDirectory: NSTemporaryDirectory())
}
