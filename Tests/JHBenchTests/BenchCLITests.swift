import Foundation
@testable import JHBench
import JHMachine
import Testing

@Suite struct BenchCLITests {
    @Test(arguments: [
        (["churn", "--cycles", "0"], "--cycles takes 1"),
        (["churn", "--cpus", "4", "--cell-cpus", "4"], "must be less than --cpus"),
        (["churn", "--cpus", "8", "--cell-cpus", "9"], "must be less than --cpus"),
        (["churn", "--cycles", "10", "--seconds", "2"], "not both"),
        (["churn", "--seconds", "0"], "--seconds takes a number above 0"),
        (["churn", "--seconds", "soon"], "--seconds takes a number"),
        (["churn", "--cpus", "1"], "--cpus takes 2…4096"),
        (["churn", "--cpus", "5000"], "--cpus takes 2…4096"),
        (["churn", "--processes", "4"], "need 4 CPUs besides CPU 0"),
        (["churn", "--processes", "0"], "--processes takes at least 1"),
        (["churn", "--processes", "3", "--cycles", "2"], "at least --processes"),
        (["churn", "--executor", "threads"], "dispatch or inline"),
        (["churn", "--cycles"], "needs a value"),
        (["churn", "--cycles", "ten"], "whole number"),
        (["churn", "--frobnicate"], "unknown argument"),
        (["churn", "--trace", "some"], "off, hash or full"),
        (["sweep", "--max-runs", "0"], "--max-runs takes"),
        (["sweep", "a.scenario", "b.scenario"], "one scenario file"),
        (["warp"], "unknown bench subcommand"),
        ([], "needs a subcommand"),
    ])
    func badArgumentsGetAClearUsageError(args: [String], message: String) {
        #expect(throws: BenchUsageError.self) { try BenchCLI.parse(args) }
        do {
            _ = try BenchCLI.parse(args)
        } catch {
            #expect(error.message.contains(message), "\(args): \(error.message)")
        }
        let r = BenchCLI.run(args, environment: .init(currentDirectory: "/", stderrIsTerminal: false)) { _ in }
        #expect(r.status == 1)
        #expect(r.stderr.contains(message) && r.stderr.contains("usage: jhsim bench churn"))
        #expect(r.stdout.isEmpty)
    }

    @Test func goodArgumentsParse() throws {
        let c = try BenchCLI.parse(["churn", "--cpus=64", "--cell-cpus", "8", "--seconds", "1.5", "--executor", "inline",
                                    "--processes", "2", "--seed", "7", "--trace", "hash", "--json"])
        #expect(c == .churn(ChurnOptions(cpus: 64, cellCPUs: 8, stop: .seconds(1.5), executor: .inline, processes: 2, seed: 7,
                                         traceLevel: .hash), json: true))
        #expect(try BenchCLI.parse(["churn"]) == .churn(ChurnOptions(), json: false))
        #expect(try BenchCLI.parse(["sweep", "x.scenario", "--max-runs", "3"]) == .sweep(scenario: "x.scenario", maxRuns: 3, json: false))
    }

    @Test func progressIsDrawnOnlyOnATerminal() {
        var notTerminal: [String] = []
        let quiet = BenchCLI.run(["churn", "--cycles", "3", "--executor", "inline"],
                                 environment: .init(currentDirectory: "/", stderrIsTerminal: false)) { notTerminal.append($0) }
        #expect(quiet.status == 0)
        #expect(notTerminal.isEmpty)
        #expect(quiet.stderr.isEmpty)

        var terminal: [String] = []
        let drawn = BenchCLI.run(["churn", "--cycles", "3", "--executor", "inline"],
                                 environment: .init(currentDirectory: "/", stderrIsTerminal: true)) { terminal.append($0) }
        #expect(drawn.status == 0)
        #expect(terminal.contains { $0.hasPrefix("\r[") && $0.contains("cycles") })
        // The bar is erased before the table is printed.
        let last = terminal.last ?? ""
        #expect(last.hasPrefix("\r") && last.hasSuffix("\r") && last.allSatisfy { $0 == " " || $0 == "\r" })
        // The table itself never depends on the terminal.
        #expect(drawn.stdout.contains("cycles/s") == quiet.stdout.contains("cycles/s"))
    }

    @Test func progressBarThrottlesAndErases() {
        var t: UInt64 = 1_000_000_000
        var out: [String] = []
        let bar = ProgressBar(width: 10, clock: { t }) { out.append($0) }
        bar.update(0.5, "half")
        t += 1_000_000  // 1 ms later: not redrawn
        bar.update(0.6, "more")
        #expect(out.count == 1)
        #expect(out[0] == "\r[#####-----] 50% half")
        t += 200_000_000
        bar.update(1, "done")
        #expect(out.count == 2)
        bar.finish()
        #expect(out.last == "\r" + String(repeating: " ", count: out[1].count - 1) + "\r")
    }

    @Test func sweepCountsRunsPerSecond() throws {
        let r = try SweepBench(scenario: nil, maxRuns: 3, currentDirectory: NSTemporaryDirectory()).run()
        #expect(r.faultRuns == 3 && r.runs == 4)
        #expect(abs(r.runsPerSecond * Double(r.wallNs) / 1e9 - 4) < 0.01)
        let text = SweepBench.text(r)
        #expect(text.contains("runs/s"))
    }
}
