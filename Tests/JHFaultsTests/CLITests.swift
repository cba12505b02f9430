import Foundation
import JHDriver
import JHFaults
import JHLab
import JHMachine
import Testing

/// Whole-output tests of `jhsim faults …` through JHLab's in-process runner, wired the way
/// the executable wires it.
@Suite struct CLITests {
    @Test func aSmallSweepPrintsItsWholeReport() {
        let r = FaultsCLI().run(["faults", "sweep", "--sites", "cell_kzalloc,pci_bind", "--profile", "fixed"])
        #expect(r.status == 0)
        #expect(r.stderr == "")
        #expect(r.stdout == """
            Fault sweep of (built-in), profile fixed
            5 runs over 2 sites

            SITE          HITS  RUNS  FIRED  FAILURES
            pci_bind      1     1     1      0
            cell_kzalloc  4     4     4      0

            Hits by CPU and detail:
              pci_bind: state=jailhouse-pci-stub×1
              cell_kzalloc: 4 hits

            No failures: every run left a consistent box.

            """)
    }

    @Test func aRunPrintsTheTranscriptAndWhatFired() {
        let r = FaultsCLI().run(["faults", "run", "--rule", "cell_kzalloc:nth=2"])
        #expect(r.status == 0)
        #expect(r.stdout == """
            Plan: cell_kzalloc:nth=2:errno=ENOMEM
            $ jhsim enable → ok
            $ jhsim cell create tiny-demo → ENOMEM
            $ jhsim cell destroy tiny-demo → ENOENT
            $ jhsim cell create pci-demo → ok
            $ jhsim cell start pci-demo → ok
            $ jhsim cell load pci-demo -s hello → ok
            $ jhsim cell start pci-demo → ok
            $ jhsim cell destroy pci-demo → ok
            $ jhsim cell create smp-demo → ok
            $ jhsim cell destroy smp-demo → ok
            $ jhsim disable → ok
            Injected: cell_kzalloc:nth=2:errno=ENOMEM fired 1×
            OK: the box stayed consistent after every command.

            """)
    }

    /// apic-demo (CPU 3) cannot be created next to smp-demo (CPUs 2–3), so the fault-free
    /// run never starts its unresponsive inmate; failing smp-demo's creation lets it run,
    /// and destroying it then waits forever for a reply (msg_reply_timeout is 0).
    static let hangsOnlyUnderFaults = """
        machine cpus=4 executor=inline
        enable
        cell create smp-demo
        cell create apic-demo
        cell start apic-demo --inmate unresponsive
        cell destroy apic-demo
        cell destroy smp-demo
        disable

        """

    @Test func aHangUnderAFaultExitsThreeWithAReproducerThatReproducesIt() throws {
        let cli = FaultsCLI()
        cli.write("hang.jhsim", Self.hangsOnlyUnderFaults)
        let r = cli.run(["faults", "sweep", "hang.jhsim", "--sites", "cell_kzalloc"])
        #expect(r.status == FailureClass.hang.exitStatus)
        #expect(r.stdout.contains("1 failing runs (hang 1):\nFAIL [hang] cell_kzalloc:nth=2:errno=ENOMEM\n"))
        let line = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("  reproduce: ") })
        let cmd = String(line.dropFirst("  reproduce: ".count))
        #expect(cmd == "jhsim faults run \(cli.dir)/hang.jhsim --rule cell_kzalloc:nth=2:errno=ENOMEM")
        let again = try cli.run(commandLine: cmd)
        #expect(again.status == 3)
        #expect(again.stdout.contains("$ jhsim cell destroy apic-demo → hang\n"))
        // Without the fault the scenario does not hang.
        #expect(cli.run(["faults", "run", "hang.jhsim"]).status == 0)
    }

    @Test func aScenarioThatFailsWithoutFaultsIsVacuousAndSweepsNothing() {
        let cli = FaultsCLI()
        cli.write("bad.jhsim", "machine cpus=4 executor=inline\nenable\nexpect errno EBUSY\n")
        for sub in [["sweep"], ["campaign", "--seed", "1", "--runs", "5"]] {
            let r = cli.run(["faults"] + sub + ["bad.jhsim"])
            #expect(r.status == Vacuity.exitStatus, "\(sub)")
            #expect(r.stdout.contains("VACUOUS: the fault-free run already fails"))
            #expect(r.stdout.contains("The scenario fails without any fault, so nothing was injected"))
            #expect(r.stdout.contains("[expectation] after command 1 (line 3: enable): expect errno EBUSY: expected EBUSY, got success"))
        }
    }

    @Test func jsonReportsParseAndKeepTheirKeyOrder() throws {
        let cli = FaultsCLI()
        for argv in [["faults", "sweep", "--sites", "cell_kzalloc", "--json"],
                     ["faults", "campaign", "--seed", "9", "--runs", "10", "--json", "--profile", "fixed"],
                     ["faults", "run", "--rule", "kmalloc:nth=1", "--json"],
                     ["faults", "shrink", "--rule", "kmalloc:nth=1", "--json"]] {
            let r = cli.run(argv)
            #expect(r.status == 0, "\(argv): \(r.stderr)")
            let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(argv)")
            #expect(obj["kind"] as? String == argv[1])
            #expect(r.stdout.hasPrefix("{\n  \"kind\": "))
        }
        let sweep = cli.run(["faults", "sweep", "--sites", "cell_kzalloc", "--json"]).stdout
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(sweep.utf8)) as? [String: Any])
        let sites = try #require(obj["sites"] as? [[String: Any]])
        #expect(sites.first?["site"] as? String == "cell_kzalloc" && sites.first?["runs"] as? Int == 4)
    }

    @Test(arguments: [
        (["faults", "frob"], "unknown faults subcommand 'frob'"),
        (["faults", "sweep", "--sites", "nope"], "unknown fault site 'nope'"),
        (["faults", "sweep", "--seed", "1"], "unknown option '--seed' for faults sweep"),
        (["faults", "campaign", "--runs", "3"], "faults campaign needs --seed S"),
        (["faults", "campaign", "--seed", "x", "--runs", "3"], "--seed takes a non-negative 64-bit number"),
        (["faults", "run", "--rule", "kmalloc:prob=2"], "bad prob '2'"),
        (["faults", "run", "--profile", "sideways"], "unknown profile 'sideways'"),
        (["faults", "shrink"], "faults shrink needs a plan"),
        (["faults", "sweep", "a.jhsim", "b.jhsim"], "takes one scenario file"),
        (["faults", "sweep", "missing.jhsim"], "cannot read scenario missing.jhsim"),
        (["faults", "sweep", "--fault", "kmalloc"], "not --fault"),
        (["faults", "sweep", "--max-runs", "0"], "--max-runs takes 1"),
    ])
    func badInputIsAUsageErrorWithStatusOne(argv: [String], message: String) {
        let r = FaultsCLI().run(argv)
        #expect(r.status == 1)
        #expect(r.stdout == "")
        #expect(r.stderr.contains(message), "\(r.stderr)")
    }

    @Test func listStillWorksAndHelpNamesTheNewSubcommands() {
        let cli = FaultsCLI()
        let list = cli.run(["faults", "list"])
        #expect(list.status == 0 && list.stdout.hasPrefix("SITE "))
        #expect(list.stdout.contains(":prob=P"))
        let help = cli.run(["faults", "--help"])
        #expect(help.status == 0)
        for sub in ["sweep", "campaign", "shrink", "run"] { #expect(help.stdout.contains("jhsim faults \(sub) ")) }
        // Without the tools plugged in (JHLab alone), only `list` exists.
        let bare = LabCommandRunner(factory: .standard, environment: LabEnvironment(currentDirectory: cli.dir))
        #expect(bare.run(["faults", "sweep"]).status == 1)
    }

    @Test func progressGoesToATerminalOnly() {
        let dir = FaultsCLI().dir
        let quiet = LabCommandRunner(factory: .standard, environment: LabEnvironment(currentDirectory: dir)).withFaultTools()
        let tty = LabCommandRunner(factory: .standard,
                                   environment: LabEnvironment(currentDirectory: dir, stderrIsTerminal: true)).withFaultTools()
        nonisolated(unsafe) var lines: [String] = []
        let a = quiet.run(["faults", "sweep", "--sites", "pci_bind"]) { lines.append($0) }
        #expect(lines.isEmpty)
        let b = tty.run(["faults", "sweep", "--sites", "pci_bind"]) { lines.append($0) }
        #expect(lines.contains { $0.contains("[1/1] pci_bind:nth=1") })
        #expect(a.stdout == b.stdout)
    }
}

extension CLITests {
    @Test func faultRunsNeverWriteTheScenariosFiles() throws {
        let cli = FaultsCLI()
        cli.write("pic.jhsim", "machine cpus=4 executor=inline\nenable\ndraw timeline -o pic.svg\ntrace --chrome t.json\ncell list\n")
        let r = cli.run(["faults", "sweep", "pic.jhsim", "--sites", "cell_kzalloc"])
        #expect(r.status == 0)
        #expect(!FileManager.default.fileExists(atPath: cli.dir + "/pic.svg"))
        #expect(!FileManager.default.fileExists(atPath: cli.dir + "/t.json"))
        let run = cli.run(["faults", "run", "pic.jhsim"])
        #expect(run.stdout.contains("$ jhsim draw timeline -o pic.svg → skipped (writes a file)\n"))
        #expect(run.stdout.contains("$ jhsim cell list → ok\n"))
    }
}

extension CLITests {
    /// `--isolate` turns a run that dies of a signal into a `trap` failure (exit 5). A
    /// stand-in executable that kills itself plays the trapping jhsim.
    @Test func anIsolatedRunThatDiesOfASignalIsATrap() throws {
        let cli = FaultsCLI()
        let fake = cli.dir + "/trapping-jhsim"
        cli.write("trapping-jhsim", "#!/bin/sh\necho 'Fatal error: simulated trap' >&2\nkill -TRAP $$\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake)
        var r = runner(try FaultScenario.builtin(baseDirectory: cli.dir))
        r.isolatedExecutable = fake
        let report = try Sweep(runner: r, sites: ["pci_bind"]).run()
        #expect(report.exitStatus == FailureClass.trap.exitStatus)
        let f = try #require(report.failing.first?.failures.first)
        #expect(f.kind == .trap)
        #expect(f.message.contains("signal 5") && f.message.contains("simulated trap"))
        #expect(report.failing.first?.reproducer == "jhsim faults run --rule pci_bind:nth=1:errno=ENODEV")
    }

    @Test func isolateNeedsTheExecutable() {
        let r = FaultsCLI().run(["faults", "sweep", "--isolate"])
        #expect(r.status == 1 && r.stderr.contains("--isolate needs the jhsim executable"))
    }
}
