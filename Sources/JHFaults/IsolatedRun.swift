import Foundation
import JHLab
import JHMachine

/// One fault run in a child `jhsim faults run … --json` process (`--isolate`).
///
/// The child prints the same JSON as `jhsim faults run --json`; a child that dies of a
/// signal — a Swift trap (SIGILL/SIGTRAP) or a crash — is reported as class `trap` with
/// the signal and the tail of its standard error.
struct IsolatedRun {
    var executable: String
    var directory: String

    func run(_ plan: FaultPlan, seed: UInt64, argv: [String]) throws(LabError) -> RunResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = argv + ["--json"]
        p.currentDirectoryURL = URL(fileURLWithPath: directory)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { throw LabError("cannot start \(executable) for an isolated run: \(error)") }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        var result = RunResult(plan: plan, seed: seed, failures: [], fired: [], checkedSites: [], commands: 0,
                               hangs: [], transcript: [], traceHash: "")
        if p.terminationReason == .uncaughtSignal {
            let tail = String(decoding: e, as: UTF8.self).split(separator: "\n").suffix(3).joined(separator: " | ")
            result.failures = [Failure(kind: .trap, command: 0, commandLine: "", line: 0,
                                       message: "the run died of signal \(p.terminationStatus)\(tail.isEmpty ? "" : ": " + tail)")]
            return result
        }
        guard let obj = (try? JSONSerialization.jsonObject(with: o)) as? [String: Any] else {
            throw LabError("isolated run `\(argv.joined(separator: " "))` exited \(p.terminationStatus) without a report: \(String(decoding: e, as: UTF8.self))")
        }
        result.fired = (obj["fired"] as? [Int]) ?? []
        result.transcript = (obj["commands"] as? [String]) ?? []
        result.traceHash = (obj["traceHash"] as? String) ?? ""
        result.liveness = (obj["liveness"] as? [String]) ?? []
        for f in (obj["failures"] as? [[String: Any]]) ?? [] {
            guard let k = (f["class"] as? String).flatMap(FailureClass.init(rawValue:)) else { continue }
            let quirkNumber = (f["quirk"] as? [String: Any])?["number"] as? Int
            result.failures.append(Failure(kind: k, command: f["command"] as? Int ?? 0,
                                           commandLine: f["commandLine"] as? String ?? "", line: f["line"] as? Int ?? 0,
                                           message: f["message"] as? String ?? "",
                                           quirk: quirkNumber.flatMap { n in Quirk.allCases.first { $0.number == n } }))
        }
        return result
    }
}
