import Foundation
import JHDriver
import JHFaults
import JHLab
import JHMachine
import Testing

/// Issue 10, item 7: `faults sweep --compare-profiles` runs every plan on both profiles
/// and names the quirk behind each difference.
@Suite struct SweepCompareTests {
    static let sweep = ["faults", "sweep", "--sites", "pci_bind,hv_arch_cell_create", "--compare-profiles"]

    @Test func aComparingSweepNamesTheQuirkBehindEachDifference() throws {
        let cli = FaultsCLI()
        let r = cli.run(Self.sweep + ["--profile", "upstream"])
        #expect(r.status == FailureClass.quirk.exitStatus, "\(r.stderr)")
        #expect(r.stdout.contains("plans behave differently on upstream and fixed:\n  by cause: quirk 2 (pci-claim-leaks-on-failed-create) ×"), "\(r.stdout)")
        #expect(r.stdout.contains("DIFF hv_arch_cell_create:nth=2:errno=ENOMEM: upstream quirk, fixed clean — quirk 2 (pci-claim-leaks-on-failed-create)"))
        let j = cli.run(Self.sweep + ["--profile", "upstream", "--json"])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any])
        let diffs = try #require(obj["differences"] as? [[String: Any]])
        #expect(obj["differing"] as? Int == diffs.count && !diffs.isEmpty)
        for d in diffs {
            #expect(d["upstream"] as? String != d["fixed"] as? String || d["upstreamLine"] is String)
            #expect((d["reproduce"] as? String)?.hasPrefix("jhsim faults run --profile upstream --rule ") == true)
        }
        #expect(diffs.contains { ($0["quirk"] as? [String: Any])?["number"] as? Int == 2 })
        // Without the option the report has no comparison.
        let plain = cli.run(["faults", "sweep", "--sites", "pci_bind,hv_arch_cell_create", "--profile", "upstream", "--json"])
        let pobj = try #require(try JSONSerialization.jsonObject(with: Data(plain.stdout.utf8)) as? [String: Any])
        #expect(pobj["differences"] == nil)
    }

    @Test func theDifferencesAreTheSameWhicheverProfileTheSweepReportsOn() throws {
        let cli = FaultsCLI()
        let up = cli.run(Self.sweep + ["--profile", "upstream"])
        let fixed = cli.run(Self.sweep + ["--profile", "fixed"])
        // The fixed profile is clean, but the comparison still shows upstream's quirk.
        #expect(fixed.status == FailureClass.quirk.exitStatus)
        #expect(fixed.stdout.contains("No failures: every run left a consistent box."))
        let tail = { (s: String) in s.components(separatedBy: "plans behave differently").last ?? "" }
        #expect(tail(up.stdout) == tail(fixed.stdout) && !tail(up.stdout).isEmpty)
    }

    @Test func shardsOfAComparingSweepMergeIntoTheOneProcessReport() throws {
        let cli = FaultsCLI()
        let whole = cli.run(Self.sweep)
        for k in 0..<2 { #expect(cli.run(Self.sweep + ["--shard", "\(k)/2", "--out", "c\(k).jsonl"]).status != 1) }
        #expect(cli.run(["faults", "merge", "c1.jsonl", "c0.jsonl"]).stdout == whole.stdout)
        #expect(cli.run(["faults", "merge", "c0.jsonl", "c1.jsonl", "--json"]).stdout == cli.run(Self.sweep + ["--json"]).stdout)
    }
}
