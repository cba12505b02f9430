import Foundation
import Testing
@testable import JHLab

/// Help, usage errors, built-in config names and the commands a lab room needs:
/// `dmesg`, `run --profile`, `run` failing when a command inside it fails.
@Suite struct DiscoverabilityTests {
    @Test func everyCommandHasHelpThatDescribesItsOptions() {
        let lab = TestLab()
        for command in Help.commands {
            let r = lab.run("help \(command)")
            #expect(r.status == 0, "help \(command)")
            #expect(r.stdout.hasPrefix("usage: jhsim "), "help \(command): \(r.stdout)")
            #expect(!r.stdout.contains("<arguments>"))
        }
        let trace = lab.run("trace --help")
        #expect(trace == lab.run("help trace"))
        for option in ["--last N", "--all", "--explain", "--chrome FILE", "--lab DIR"] {
            #expect(trace.stdout.contains(option), "trace --help mentions \(option)")
        }
        // Commands that run the machine take --fault and --caps; views take only --lab.
        for command in ["enable", "disable", "cell", "cpu", "inmate"] {
            let h = lab.run("help \(command)").stdout
            #expect(h.contains("--fault RULE") && h.contains("--caps TEXT") && h.contains("--lab DIR"), "\(command)")
        }
        for command in ["cpus", "dmesg", "trace", "console"] {
            let h = lab.run("help \(command)").stdout
            #expect(h.contains("--lab DIR") && !h.contains("--fault RULE"), "\(command)")
        }
        #expect(lab.run("run --help").stdout.contains("--profile P"))
    }

    @Test func usageErrorsExitWithOneStatusAndSuggestTheNearName() {
        let lab = TestLab()
        #expect(lab.run("help nosuch") == CommandResult(
            stderr: "jhsim: no help for 'nosuch': there is no such command\nTry 'jhsim --help' for more information.\n", status: 1))
        #expect(lab.run("help trcae").stderr.hasPrefix("jhsim: no help for 'trcae': there is no such command; did you mean 'trace'?\n"))
        #expect(lab.run("enabel") == CommandResult(
            stderr: "jhsim: unknown command 'enabel'; did you mean 'enable'?\nTry 'jhsim --help' for more information.\n", status: 1))
        let bare = lab.runner.run([])
        #expect(bare.status == Help.usageStatus && bare.stderr.hasPrefix("Usage: jhsim COMMAND"))
        #expect(lab.run("help").stdout == Help.main)
        #expect(lab.run("frobnicate").stderr == "jhsim: unknown command 'frobnicate'\nTry 'jhsim --help' for more information.\n")
    }

    @Test func aNearMissOfABuiltinConfigNameGetsADidYouMean() {
        let lab = TestLab()
        lab.ok("lab init")
        lab.ok("enable")
        let r = lab.run("cell create tiny-dmeo")
        #expect(r.status == 1)
        #expect(r.stderr == "opening tiny-dmeo: No such file or directory\n"
                + "jhsim: no such file, and no built-in config of that name; did you mean the built-in 'tiny-demo'? (`jhsim config list`)\n")
        // Far from every name: only the real tool's message.
        #expect(lab.run("cell create zzz").stderr == "opening zzz: No such file or directory\n")
    }

    @Test func drawStatesAsSVGNeedsNoGraphviz() throws {
        let lab = TestLab()
        let svg = lab.run("draw states --format svg")
        #expect(svg.status == 0)
        #expect(svg.stdout.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "))
        for label in ["remove_cpu", "add_cpu", "CELL_CREATE", "running/locked", "Comm ABI mismatch", "offlined_cpus"] {
            #expect(svg.stdout.contains(label), "the SVG shows \(label)")
        }
        #expect(!svg.stdout.contains("http://") || !svg.stdout.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http://"))
        lab.ok("draw states -o states.svg")
        #expect(lab.read("states.svg") == svg.stdout)
        lab.ok("draw states -o states.dot")
        #expect(lab.read("states.dot")?.hasPrefix("digraph jailhouse_states {") == true)
        // Every DOT edge is in the SVG and the other way round: one model draws both.
        let dotEdges = StatesDOT.machines.flatMap(\.edges).count
        #expect(lab.read("states.dot")?.components(separatedBy: " -> ").count == dotEdges + 1)
        #expect(svg.stdout.components(separatedBy: "marker-end=").count == dotEdges + 1)
        #expect(lab.run("draw states --format png").status == 1)
    }

    @Test func theTraceHeaderKeepsTheFaultRuleOfTheCommand() {
        let lab = TestLab()
        lab.ok("lab init")
        lab.ok("enable")
        lab.run("cell create tiny-demo --fault cpu_down:nth=1")
        #expect(lab.run("trace").stdout.hasPrefix("# 2: jhsim cell create tiny-demo --fault cpu_down:nth=1  ("))
    }
}

/// The same, on the real simulated machine.
@Suite(.serialized) struct LabRoomCommandTests {
    @Test func dmesgShowsTheKernelLog() throws {
        guard standardBoxAvailable else { return }
        let lab = TestLab(factory: .standard)
        lab.ok("lab init --executor inline")
        lab.ok("enable")
        lab.ok("cell create tiny-demo")
        lab.run("cell create cpu0-demo")
        let d = lab.run("dmesg")
        #expect(d.status == 0)
        #expect(d.stdout.contains("] Created Jailhouse cell \"tiny-demo\"\n"))
        #expect(d.stdout.contains("] smpboot: CPU 2 is now offline\n"))
        #expect(d.stdout.contains("] Cannot assign CPU 0 to other cells\n"))
        #expect(lab.run("dmesg --fault kmalloc").status == 1)
    }

    @Test func runProfileOverridesTheScenariosMachineLine() throws {
        guard standardBoxAvailable else { return }
        let docs = try DocsRun()
        let upstream = docs.runner.run(["run", "scenarios/10-quirk-upstream.jhsim"])
        #expect(upstream.status == 0)
        #expect(upstream.stdout.contains("2    online  online   0 QEMU-VM  running root  no\n"))
        // Scenario 10 expects the upstream quirk, so on the fixed profile it fails where it says.
        let fixed = docs.runner.run(["run", "scenarios/10-quirk-upstream.jhsim", "--profile", "fixed"])
        #expect(fixed.status == 1)
        let text = try String(contentsOfFile: repositoryRoot + "/Docs/scenarios/10-quirk-upstream.jhsim", encoding: .utf8)
        let line = (text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0 == "expect online 0-3" } ?? -2) + 1
        #expect(fixed.stderr.hasPrefix("scenarios/10-quirk-upstream.jhsim:\(line): expectation failed: expect online 0-3\n"))
        #expect(docs.runner.run(["run", "scenarios/10-quirk-upstream.jhsim", "--profile", "best"]).status == 1)
        #expect(docs.runner.run(["run", "scenarios/10-quirk-upstream.jhsim", "--profile", "fixed", "--in-lab"]).stderr
            .contains("--profile cannot be combined with --in-lab"))
    }

    @Test func runFailsWhenACommandInsideItFailsUnchecked() throws {
        guard standardBoxAvailable else { return }
        let lab = TestLab(factory: .standard)
        lab.write("draw.jhsim", "enable\ndraw timeline -o /nonexistent-dir/t.svg\ncpus\n")
        let draw = lab.run("run draw.jhsim")
        #expect(draw.status == 1)
        #expect(draw.stdout.hasSuffix("$ jhsim draw timeline -o /nonexistent-dir/t.svg\njhsim: cannot write /nonexistent-dir/t.svg: No such file or directory\n"))
        #expect(draw.stderr == "draw.jhsim:2: command failed: draw timeline -o /nonexistent-dir/t.svg\n"
                + "  expected: success, or an `expect errno E` / `expect status N` line after it\n  got:      exit status 1\n")
        // The last command failing counts too, and the errno is named.
        lab.write("busy.jhsim", "enable\ncell create tiny-demo\ncell create linux-x86-demo\n")
        let busy = lab.run("run busy.jhsim")
        #expect(busy.status == 1)
        #expect(busy.stderr.hasPrefix("busy.jhsim:3: command failed: cell create linux-x86-demo\n"))
        #expect(busy.stderr.hasSuffix("got:      exit status 1 (EBUSY)\n"))
        // A failure checked by an expect line is what the scenario is about.
        lab.write("checked.jhsim", "enable\ncell create tiny-demo\ncell create linux-x86-demo\nsay refused\nexpect errno EBUSY\ndraw timeline -o /nonexistent-dir/t.svg\nexpect status 1\n")
        #expect(lab.run("run checked.jhsim").status == 0)
        let json = lab.run("run busy.jhsim --json")
        #expect(json.status == 1 && json.stdout.contains("\"expectation\": \"command failed: cell create linux-x86-demo\""))
    }

    @Test func theHypercallFaultSiteRollsBackTheOfflinedCPU() throws {
        guard standardBoxAvailable else { return }
        let lab = TestLab(factory: .standard)
        lab.ok("lab init --executor inline")
        lab.ok("enable")
        let r = lab.run("cell create tiny-demo --fault hypercall:nr=CELL_CREATE")
        #expect(r == CommandResult(stderr: "JAILHOUSE_CELL_CREATE: Cannot allocate memory\n", status: 1))
        // CPU 2 went down for the cell, then error_cpu_online brought it back.
        let dmesg = lab.run("dmesg").stdout
        #expect(dmesg.contains("smpboot: CPU 2 is now offline\n") && dmesg.contains("smpboot: Booting Node 0 Processor 2 APIC 0x2\n"))
        #expect(lab.run("cpus").stdout.contains("2    online  online   0 QEMU-VM  running root  no\n"))
        #expect(lab.run("trace").stdout.contains("fault        inject hypercall:CELL_CREATE"))
        // Only the named hypercall fails: the same rule on another hypercall never fires.
        let other = lab.run("cell create tiny-demo --fault hypercall:state=CELL_START:errno=EPERM")
        #expect(other == CommandResult(
            stderr: "jhsim: --fault 'hypercall:state=CELL_START:errno=EPERM' never fired: no step of this command hit it (`jhsim faults list` shows where each site is)\n"))
        #expect(lab.run("cell start tiny-demo --fault hypercall:nr=CELL_START:errno=EPERM").stderr
            == "JAILHOUSE_CELL_START: Operation not permitted\n")
    }
}
