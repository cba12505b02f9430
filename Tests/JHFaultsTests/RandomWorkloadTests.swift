import Foundation
import JHDriver
@testable import JHFaults
import JHLab
import JHMachine
import Testing

/// Issue 10, item 12: `faults campaign --workload random` draws each run's commands from
/// the run's seed.
@Suite struct RandomWorkloadTests {
    static let campaign = ["faults", "campaign", "--workload", "random", "--seed", "2", "--runs", "40"]

    @Test func aWorkloadIsAFunctionOfItsSeed() throws {
        let a = RandomWorkload.draw(seed: 77, profile: "fixed")
        #expect(a == RandomWorkload.draw(seed: 77, profile: "fixed"))
        #expect(a != RandomWorkload.draw(seed: 78, profile: "fixed"))
        // It is a scenario, over the built-in demo cells, with the commands the issue lists.
        _ = try Scenario.parse(a, file: "w.jhsim", factory: .standard)
        let many = (0..<200).map { RandomWorkload.draw(seed: UInt64($0), profile: "upstream") }.joined()
        for word in ["enable", "cell create ", "cell load ", "cell start ", "--inmate ", "cell shutdown ", "cell destroy ",
                     "cpu offline ", "cpu online ", "disable", "signal "] {
            #expect(many.contains(word), "\(word)")
        }
        let cli = FaultsCLI()
        let r1 = cli.run(Self.campaign + ["--profile", "fixed"])
        #expect(r1.stdout == cli.run(Self.campaign + ["--profile", "fixed"]).stdout)
        #expect(r1.stdout != cli.run(["faults", "campaign", "--workload", "random", "--seed", "3", "--runs", "40", "--profile", "fixed"]).stdout)
    }

    @Test func theFixedProfileStaysCleanUnderRandomWorkloadsAndFaults() {
        let r = FaultsCLI().run(["faults", "campaign", "--workload", "random", "--seed", "1", "--runs", "80", "--profile", "fixed", "--no-shrink"])
        #expect(r.status == 0, "\(r.stdout)")
        #expect(r.stdout.contains("Fault campaign of (random workloads), profile fixed: 80 runs"))
    }

    @Test func anUpstreamQuirkIsFoundAndItsReproducerReplaysTheWorkload() throws {
        let cli = FaultsCLI()
        let r = cli.run(Self.campaign + ["--profile", "upstream", "--json"])
        #expect(r.status == FailureClass.quirk.exitStatus, "\(r.stdout)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let cases = try #require(obj["cases"] as? [[String: Any]])
        let quirky = try #require(cases.first {
            $0["quirk"] is [String: Any] && (($0["reproduce"] as? String) ?? "").contains(" --rule ")
        })
        let run = try #require(quirky["run"] as? Int)
        let workload = try #require(quirky["workload"] as? String)
        let name = "workload-2-\(run).jhsim"
        // `faults workload` prints the same file.
        #expect(cli.run(["faults", "workload", "--seed", "2", "--run", "\(run)", "--profile", "upstream"]).stdout == workload)
        cli.write(name, workload)
        // The fault-free replay ends every command as the campaign's fault-free run did.
        let replay = cli.run(["run", name])
        #expect(replay.status == 0, "\(replay.stdout)\(replay.stderr)")
        let repro = try #require(quirky["reproduce"] as? String)
        #expect(repro.contains("/\(name) --profile upstream "))
        let again = try cli.run(commandLine: repro)
        #expect(again.status == FailureClass.quirk.exitStatus, "\(again.stdout)")
        let q = try #require((quirky["quirk"] as? [String: Any])?["number"] as? Int)
        #expect(again.stdout.contains("quirk \(q) ("))
    }

    @Test func shardsOfARandomWorkloadCampaignMergeIntoTheOneProcessReport() throws {
        let cli = FaultsCLI()
        let args = Self.campaign + ["--profile", "upstream", "--no-shrink"]
        let whole = cli.run(args)
        for k in 0..<3 { #expect(cli.run(args + ["--shard", "\(k)/3", "--out", "r\(k).jsonl"]).status != 1) }
        #expect(cli.run(["faults", "merge", "r2.jsonl", "r0.jsonl", "r1.jsonl"]).stdout == whole.stdout)
        #expect(cli.run(["faults", "merge", "r0.jsonl", "r1.jsonl", "r2.jsonl", "--json"]).stdout == cli.run(args + ["--json"]).stdout)
    }

    @Test func randomWorkloadUsageErrors() {
        let cli = FaultsCLI()
        cli.write("s.jhsim", DefaultScenario.text)
        let withScenario = cli.run(["faults", "campaign", "s.jhsim", "--workload", "random", "--seed", "1", "--runs", "2"])
        #expect(withScenario.status == 1 && withScenario.stderr.contains("takes no scenario"))
        let bogus = cli.run(["faults", "campaign", "--workload", "fixed", "--seed", "1", "--runs", "2"])
        #expect(bogus.status == 1 && bogus.stderr.contains("--workload takes 'random'"))
        #expect(cli.run(["faults", "workload", "--seed", "1"]).status == 1)
        let isolated = cli.run(["faults", "campaign", "--workload", "random", "--seed", "1", "--runs", "2", "--isolate"])
        #expect(isolated.status == 1 && isolated.stderr.contains("--isolate"))
    }
}
