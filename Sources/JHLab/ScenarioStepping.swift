import Foundation
import JHABI
import JHMachine

// The public seam for tools that drive a scenario themselves, one line at a time, and
// look at the box between lines (JHFaults' sweeps and campaigns). `jhsim run` keeps its
// own loop in `ScenarioRunner`; both execute a command and check an expectation through
// the same code.

/// What one scenario command did.
public struct ScenarioCommandResult: Sendable {
    /// The exit status the command would have in `jhsim run`.
    public var status: Int32
    public var stdout: String
    public var stderr: String
    /// The logged command, when the line ran the machine (views log nothing).
    public var logged: LoggedCommand?
    /// Its outcome (result, errno, hang), when the line ran the machine.
    public var outcome: ActionOutcome?
}

extension LabCommandRunner {
    /// Runs one scenario command line on `session`, exactly as `jhsim run` does.
    /// - Parameters:
    ///   - argv: the line's words (a leading `jhsim` already dropped).
    ///   - signalAfter: a pending `signal NS` line for this command.
    ///   - baseDirectory: relative file names resolve against it (the scenario's folder).
    public func runScenarioCommand(_ argv: [String], text: String, signalAfter: UInt64?, baseDirectory: String,
                                   session: LabSession) -> ScenarioCommandResult {
        var out = Output()
        let before = session.log.count
        var status: Int32
        do {
            let g = try GlobalOptions.extract(argv)
            let cmd = try MachineCommand.parse(g.args, factory: factory)
            let ctx = MachineContext(factory: factory, baseDirectory: baseDirectory, runner: self)
            status = try ctx.execute(cmd, faults: g.faults, signalAfter: signalAfter, commandLine: text,
                                     caps: g.caps, session: session, &out)
        } catch let e as UsageError {
            out.err("jhsim: \(e.message)\n"); status = 1
        } catch {
            out.err("jhsim: \(error)\n"); status = 1
        }
        let ran = session.log.count > before
        return ScenarioCommandResult(status: status, stdout: out.stdout, stderr: out.stderr,
                                     logged: ran ? session.log.last : nil,
                                     outcome: ran ? session.records.last?.outcome : nil)
    }
}

extension Scenario.Expectation {
    /// Checks the expectation against the box and the previous command, as `jhsim run` does.
    /// - Returns: nil when it holds, else what was expected and what was found.
    /// - Parameter hung: whether the previous command never returned (for `expect hang`).
    public func check(session: LabSession, status: Int32?, errno: Errno?, stdout: String,
                      hung: Bool = false) -> (expected: String, got: String)? {
        let runner = ScenarioRunner(factory: session.factory, baseDirectory: "/",
                                    commandRunner: LabCommandRunner(factory: session.factory,
                                                                    environment: LabEnvironment(currentDirectory: "/")),
                                    showProgress: false)
        return runner.check(self, session: session, status: status, errno: errno, stdout: stdout, hung: hung)
    }
}
