import Foundation
import JHDriver
import JHFaults
import JHLab
import JHMachine
import Testing

/// Issue 10, items 7, 8, 14, 16: findings named, readable by tools, and visible.
@Suite struct FindingsTests {
    // 7. Quirks are named, not hidden.
    @Test func anUpstreamQuirkIsReportedByNumberAndName() {
        let r = FaultsCLI().run(["faults", "sweep", "--sites", "pci_bind,hv_arch_cell_create", "--profile", "upstream"])
        #expect(r.status == FailureClass.quirk.exitStatus, "\(r.stdout)")
        #expect(r.stdout.contains("[quirk] quirk 2 (pci-claim-leaks-on-failed-create) after command 4 (line 12: cell create pci-demo): failed CELL_CREATE kept PCI claims"))
        let fixed = FaultsCLI().run(["faults", "sweep", "--sites", "pci_bind,hv_arch_cell_create", "--profile", "fixed"])
        #expect(fixed.status == 0)
    }

    @Test func compareProfilesNamesTheQuirkBehindADifference() throws {
        let r = FaultsCLI().run(["faults", "run", "--rule", "cpu_up:nth=1", "--compare-profiles", "--json"])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let diff = try #require(obj["difference"] as? [String: Any])
        #expect((diff["quirk"] as? [String: Any])?["number"] as? Int == 5)
        #expect(diff["upstream"] as? String == "liveness" && diff["fixed"] as? String == "clean")
    }

    // 8. JSON that tools can read.
    @Test func sweepAndCampaignJSONCarryTheAgreedKeys() throws {
        let cli = FaultsCLI()
        cli.write("s.jhsim", DefaultScenario.text)
        for argv in [["faults", "sweep", "s.jhsim", "--sites", "pci_bind,cpu_up", "--json"],
                     ["faults", "campaign", "s.jhsim", "--seed", "3", "--runs", "20", "--no-shrink", "--json"]] {
            let r = cli.run(argv)
            let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(argv)")
            for key in ["runs", "clean", "violations", "quirks", "hangs", "crashes", "cases", "jhsimVersion", "scenarioSHA256",
                        "baselineTraceHash"] {
                #expect(obj[key] != nil, "\(argv) lacks \(key)")
            }
            #expect((obj["scenarioSHA256"] as? String)?.count == 64)
            let cases = try #require(obj["cases"] as? [[String: Any]])
            #expect(!cases.isEmpty, "\(argv)")
            for c in cases {
                for key in ["site", "hit", "plan", "outcome", "errno", "invariants", "quirk", "command", "line", "reproduce"] {
                    #expect(c.keys.contains(key), "\(argv) case lacks \(key)")
                }
                // Reproducers name the scenario by its absolute path: they work from anywhere.
                #expect((c["reproduce"] as? String)?.hasPrefix("jhsim faults run \(cli.dir)/s.jhsim ") == true)
            }
        }
    }

    @Test func theScenarioHashIsSHA256OfItsText() throws {
        let t = FaultScenario(scenario: try Scenario.parse("", file: "x", factory: .standard), file: "x",
                              baseDirectory: "/", text: "abc")
        #expect(t.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func listHasJSONAndEverySubcommandHasItsOwnHelp() throws {
        let cli = FaultsCLI()
        let list = cli.run(["faults", "list", "--json"])
        let sites = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(sites.contains { $0["name"] as? String == "cpu_down" && ($0["states"] as? [String])?.contains("CPUHP_TEARDOWN_CPU") == true })
        for sub in ["list", "sweep", "campaign", "shrink", "run"] {
            let h = cli.run(["faults", sub, "--help"])
            #expect(h.status == 0)
            #expect(h.stdout.hasPrefix("usage: jhsim faults \(sub) "), "\(sub)")
            #expect(h.stdout.contains("8 vacuous"))
        }
    }

    // 14. Liveness.
    @Test func upstreamQuirk5LeavesDisableAtEBUSYAndIsALivenessFinding() {
        let r = FaultsCLI().run(["faults", "run", "--rule", "cpu_up:nth=1", "--profile", "upstream"])
        #expect(r.status == FailureClass.liveness.exitStatus)
        #expect(r.stdout.contains("(liveness) $ jhsim disable → EBUSY"))
        #expect(r.stdout.contains("[liveness] quirk 5 (destroy-add-cpu-failure-only-logged) in the liveness phase (disable)"))
        let fixed = FaultsCLI().run(["faults", "run", "--rule", "cpu_up:nth=1", "--profile", "fixed"])
        #expect(fixed.status == 0, "\(fixed.stdout)")
    }

    // 16. Seeing a faulted run.
    @Test func runShowsTheTraceWithInjectedFaultsMarkedAndViewsPrint() {
        let cli = FaultsCLI()
        let t = cli.run(["faults", "run", "--rule", "cell_kzalloc:nth=2", "--trace"])
        let marked = t.stdout.split(separator: "\n").filter { $0.hasPrefix("!! ") }
        #expect(marked.count == 1 && marked[0].contains("cell_kzalloc"))
        let e = cli.run(["faults", "run", "--rule", "cell_kzalloc:nth=2", "--explain"])
        #expect(e.stdout.split(separator: "\n").contains { $0.hasPrefix("!! ") })
        cli.write("v.jhsim", "machine cpus=4 executor=inline\nenable\ncpus\n")
        let v = cli.run(["faults", "run", "v.jhsim"])
        #expect(v.stdout.contains("$ jhsim cpus → ok\n    CPU  Linux"))
    }
}
