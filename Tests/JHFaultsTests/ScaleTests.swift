import Foundation
@testable import JHFaults
import JHLab
import JHMachine
import Testing

/// Shards, `.jsonl` streams, `--resume` and `faults merge`, in-process: however a
/// campaign or sweep is split, the merged report is the one-process report, byte for byte.
@Suite struct ScaleTests {
    static let campaign = ["faults", "campaign", "--seed", "7", "--runs", "24", "--profile", "fixed"]
    static let sweep = ["faults", "sweep", "--sites", "cell_kzalloc,pci_bind,cpu_up"]

    func lines(_ cli: FaultsCLI, _ name: String) throws -> [String] {
        try String(contentsOfFile: cli.dir + "/" + name, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    @Test func runSeedsDependOnTheCampaignSeedAndTheIndexAlone() {
        var stream = SplitMix64(seed: 42)
        for i in 1...100 { #expect(Campaign.runSeed(42, index: i) == stream.next()) }
        #expect(Campaign.runSeed(42, index: 1) != Campaign.runSeed(43, index: 1))
    }

    @Test func shardsAreRoundRobinAndPartsOfAShardAreTheShard() throws {
        let s = try Shard(parsing: "1/3")
        #expect(Array(s.runs(of: 10)) == [2, 5, 8])
        #expect((1...10).filter(s.contains) == [2, 5, 8])
        let parts = (0..<2).map { s.part($0, of: 2) }
        #expect(parts.map(\.description) == ["1/6", "4/6"])
        #expect(parts.flatMap { Array($0.runs(of: 30)) }.sorted() == Array(s.runs(of: 30)))
    }

    @Test func shardsOfACampaignMergeIntoTheOneProcessReportByteForByte() throws {
        let cli = FaultsCLI()
        let whole = cli.run(Self.campaign)
        let wholeJSON = cli.run(Self.campaign + ["--json"])
        #expect(whole.status == 0, "\(whole.stderr)")
        for k in 0..<3 {
            let r = cli.run(Self.campaign + ["--shard", "\(k)/3", "--out", "s\(k).jsonl"])
            #expect(r.status == 0, "\(r.stderr)")
            let l = try lines(cli, "s\(k).jsonl")
            #expect(l.count == 1 + 8 + 1)
            #expect(l.first?.contains("\"shard\":\"\(k)/3\"") == true)
        }
        let files = ["s2.jsonl", "s0.jsonl", "s1.jsonl"]
        #expect(cli.run(["faults", "merge"] + files).stdout == whole.stdout)
        #expect(cli.run(["faults", "merge"] + files + ["--json"]).stdout == wholeJSON.stdout)
        // Every run record of the shards is the unsharded campaign's run of that number.
        let recs = try (0..<3).flatMap { try lines(cli, "s\($0).jsonl").dropFirst().dropLast() }
        let seeds = Set(recs.compactMap { $0.split(separator: ",").first { $0.hasPrefix("\"seed\":") } })
        #expect(seeds == Set((1...24).map { "\"seed\":\"\(Campaign.runSeed(7, index: $0))\"" }))
    }

    @Test func shardsOfASweepMergeIntoTheOneProcessReport() throws {
        let cli = FaultsCLI()
        let whole = cli.run(Self.sweep)
        #expect(whole.status == 0)
        for k in 0..<2 { #expect(cli.run(Self.sweep + ["--shard", "\(k)/2", "--out", "w\(k).jsonl"]).status == 0) }
        #expect(cli.run(["faults", "merge", "w0.jsonl", "w1.jsonl"]).stdout == whole.stdout)
        #expect(cli.run(["faults", "merge", "w0.jsonl", "w1.jsonl", "--json"]).stdout == cli.run(Self.sweep + ["--json"]).stdout)
    }

    @Test func aStreamIsAHeaderOneLinePerRunAndASummary() throws {
        let cli = FaultsCLI()
        cli.write("s.jhsim", CampaignTests.fragile)
        let r = cli.run(["faults", "campaign", "s.jhsim", "--seed", "1", "--runs", "6", "--check-expect", "--jsonl"])
        #expect(r.status == FailureClass.expectation.exitStatus)
        let l = r.stdout.split(separator: "\n").map(String.init)
        #expect(l.count == 8)
        let objects = l.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        #expect(objects.count == 8)
        #expect(objects.map { $0["kind"] as? String } == ["header"] + Array(repeating: "run", count: 6) + ["summary"])
        let campaign = try #require(objects[0]["campaign"] as? [String: Any])
        #expect(campaign["seed"] as? String == "1")
        #expect(campaign["jhsim"] as? String == JHSimVersion.string)
        #expect(campaign["scenarioSHA256"] as? String == SHA256.hex(Array(CampaignTests.fragile.utf8)))
        #expect(campaign["arguments"] as? [String] == ["campaign", "s.jhsim", "--seed", "1", "--runs", "6", "--rules-per-run", "3", "--check-expect"])
        #expect(objects[0]["shard"] as? String == "0/1")
        #expect(objects.dropFirst().dropLast().map { $0["run"] as? Int } == Array(1...6))
        #expect(objects.last?["runs"] as? Int == 6)
        #expect(objects.last?["exitStatus"] as? Int == Int(FailureClass.expectation.exitStatus))
        // Failing runs carry their failures and shrunk reproducer, so a merge can print them.
        #expect(objects.contains { ($0["failing"] as? [String: Any]) != nil && $0["minimal"] != nil })
    }

    @Test func sha256MatchesTheStandardVectors() {
        #expect(SHA256.hex(Array("".utf8)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(Array(String(repeating: "a", count: 1000).utf8))
                == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    @Test func resumeRunsWhatIsMissingAndACutOffLineAgain() throws {
        let cli = FaultsCLI()
        let whole = cli.run(Self.campaign)
        #expect(cli.run(Self.campaign + ["--out", "full.jsonl"]).status == 0)
        let full = try String(contentsOfFile: cli.dir + "/full.jsonl", encoding: .utf8)
        // Keep the header, 9 whole run lines and half of the 10th: a kill mid-write.
        let l = full.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let cut = l[0..<10].joined(separator: "\n") + "\n" + l[10].prefix(l[10].count / 2)
        cli.write("cut.jsonl", cut)
        let r = cli.run(Self.campaign + ["--resume", "cut.jsonl"])
        #expect(r.status == 0)
        #expect(r.stdout == whole.stdout)
        #expect(r.stderr == "jhsim: cut.jsonl: line 11 was cut off mid-write; ignoring it, and its run runs again\n")
        #expect(try lines(cli, "cut.jsonl") == l.filter { !$0.isEmpty })
        // Resuming a finished file runs nothing and prints the same report again.
        let again = cli.run(Self.campaign + ["--resume", "cut.jsonl"])
        #expect(again.stdout == whole.stdout && again.stderr == "")
        #expect(try lines(cli, "cut.jsonl") == l.filter { !$0.isEmpty })
        #expect(cli.run(["faults", "merge", "cut.jsonl"]).stdout == whole.stdout)
    }

    @Test(arguments: [
        (["--shard", "3/2"], "--shard K/N needs 0 ≤ K < N (shards are numbered from 0), not 3/2"),
        (["--shard", "0/0"], "--shard K/N needs N ≥ 1 shards, not 0/0"),
        (["--shard", "1"], "--shard takes K/N (shard K of N, K from 0), not '1'"),
        (["--jobs", "0"], "--jobs takes 1…1024, not '0'"),
        (["--resume", "a.jsonl", "--out", "b.jsonl"], "--resume FILE continues FILE; it takes no --out"),
        (["--jsonl", "--json"], "--jsonl streams run records to standard output; it takes no --json"),
        (["--jobs", "2"], "--jobs needs the jhsim executable (its workers are jhsim processes)"),
    ])
    func badScaleOptionsAreUsageErrors(extra: [String], message: String) {
        let r = FaultsCLI().run(["faults", "campaign", "--seed", "1", "--runs", "4"] + extra)
        #expect(r.status == 1)
        #expect(r.stderr == "jhsim: \(message)\nTry 'jhsim faults --help' for more information.\n")
    }

    @Test func mergeAndResumeRefuseWhatIsNotOneWholeCampaign() throws {
        let cli = FaultsCLI()
        for k in 0..<3 { #expect(cli.run(Self.campaign + ["--shard", "\(k)/3", "--out", "s\(k).jsonl"]).status == 0) }
        #expect(cli.run(["faults", "campaign", "--seed", "8", "--runs", "24", "--profile", "fixed", "--shard", "2/3",
                         "--out", "other.jsonl"]).status == 0)
        func err(_ args: [String]) -> String {
            let r = cli.run(args)
            #expect(r.status == 1)
            #expect(r.stdout == "")
            return r.stderr
        }
        #expect(err(["faults", "merge", "s0.jsonl", "s1.jsonl"])
                == "jhsim: 8 of 24 runs missing: 3, 6, 9, 12, 15, 18, 21, 24 (of shard 2/3)\n")
        #expect(err(["faults", "merge", "s0.jsonl", "s1.jsonl", "other.jsonl"]).hasPrefix(
            "jhsim: other.jsonl is from a different campaign than s0.jsonl: arguments [\"campaign\",\"--profile\",\"fixed\",\"--seed\",\"7\""))
        #expect(err(["faults", "merge", "s0.jsonl", "nope.jsonl"]) == "jhsim: nope.jsonl: No such file or directory\n")
        #expect(err(["faults", "merge", "s0.jsonl", "s0.jsonl"]) == "jhsim: s0.jsonl is given twice\n")
        try FileManager.default.copyItem(atPath: cli.dir + "/s1.jsonl", toPath: cli.dir + "/copy.jsonl")
        #expect(err(["faults", "merge", "s0.jsonl", "s1.jsonl", "s2.jsonl", "copy.jsonl"]) == "jhsim: 8 runs recorded more than once: "
                + "run 2 (s1.jsonl line 2, copy.jsonl line 2); run 5 (s1.jsonl line 3, copy.jsonl line 3); run 8 (s1.jsonl line 4, copy.jsonl line 4); …\n")
        cli.write("empty.jsonl", "")
        #expect(err(["faults", "merge", "empty.jsonl"]) == "jhsim: empty.jsonl is empty: not a jhsim faults .jsonl file\n")
        #expect(err(Self.campaign + ["--shard", "2/3", "--resume", "s0.jsonl"])
                == "jhsim: s0.jsonl holds shard 0/3, not 2/3: resume it with --shard 0/3\n")
        #expect(err(Self.campaign + ["--shard", "2/3", "--resume", "other.jsonl"]).hasPrefix(
            "jhsim: other.jsonl holds a different campaign: arguments"))
        #expect(err(Self.campaign + ["--resume", "missing.jsonl"]) == "jhsim: missing.jsonl: No such file or directory\n")
        #expect(err(Self.campaign + ["--shard", "0/3", "--out", "s0.jsonl"])
                == "jhsim: s0.jsonl exists; continue it with --resume s0.jsonl, or remove it\n")
        #expect(err(["faults", "merge"]).hasPrefix("jhsim: faults merge needs the .jsonl files of one campaign or sweep\n"))
    }
}
