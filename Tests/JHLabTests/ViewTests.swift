import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import JHLab

/// Collects element names and reports parse errors.
final class XMLCheck: NSObject, XMLParserDelegate {
    var elements: [String] = []
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        elements.append(name)
    }
}

@Suite struct ViewTests {
    func busyLab(_ factory: BoxFactory = FakeBox.factory) -> TestLab {
        let lab = TestLab(factory: factory)
        lab.ok("lab init")
        lab.ok("enable")
        lab.ok("cell create tiny-demo")
        lab.ok("cell start tiny-demo")
        _ = lab.run("cell create linux-x86-demo")
        _ = lab.run("cell create apic-demo --fault cpu_down:cpu=3:errno=EIO")
        lab.ok("cell destroy tiny-demo")
        return lab
    }

    static var factories: [BoxFactory] { standardBoxAvailable ? [FakeBox.factory, .standard] : [FakeBox.factory] }

    @Test(arguments: factories) func chromeTraceIsValid(factory: BoxFactory) throws {
        let lab = busyLab(factory)
        lab.ok("trace --chrome out.json")
        let text = try #require(lab.read("out.json"))
        let root = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let events = try #require(root["traceEvents"] as? [[String: Any]])
        #expect(events.count > 10)
        var slices: [Int: [(Double, Double)]] = [:]
        for e in events {
            for k in ["ph", "ts", "pid", "tid"] { #expect(e[k] != nil, "event lacks \(k): \(e)") }
            if e["ph"] as? String == "X", ["owner", "hotplug"].contains(e["cat"] as? String ?? "") {
                let ts = (e["ts"] as? NSNumber)?.doubleValue ?? -1
                let dur = (e["dur"] as? NSNumber)?.doubleValue ?? -1
                slices[e["tid"] as? Int ?? -1, default: []].append((ts, dur))
            }
        }
        #expect(slices.keys.filter { $0 < 1000 }.count == 4)
        for (_, list) in slices {
            let sorted = list.sorted { $0.0 < $1.0 }
            for (a, b) in zip(sorted, sorted.dropFirst()) { #expect(a.0 + a.1 <= b.0 + 1e-9) }
        }
        #expect(events.contains { $0["cat"] as? String == "fault" })
        #expect(events.contains { $0["ph"] as? String == "C" })
    }

    @Test(arguments: factories) func timelineSVGIsWellFormed(factory: BoxFactory) throws {
        let lab = busyLab(factory)
        lab.ok("draw timeline -o t.svg")
        let svg = try #require(lab.read("t.svg"))
        let check = XMLCheck()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = check
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        #expect(check.elements.first == "svg")
        #expect(check.elements.filter { $0 == "rect" }.count > 8)
        #expect(svg.contains("tiny-demo"))
        // Same lab, same picture.
        #expect(lab.ok("draw timeline").stdout == svg)
    }

    @Test func statesDOT() {
        let lab = TestLab()
        let dot = lab.ok("draw states").stdout
        #expect(dot.hasPrefix("digraph jailhouse_states {"))
        lab.ok("draw states -o s.dot")
        #expect(lab.read("s.dot") == dot)
    }

    @Test func traceShowsTheLastCommands() {
        let lab = busyLab()
        let t = lab.ok("trace").stdout
        #expect(t.hasPrefix("# 6: jhsim cell destroy tiny-demo"))
        #expect(t.contains("hypervisor   owner cpu=2 cell=0 name=QEMU-VM"))
        let two = lab.ok("trace --last 2").stdout
        #expect(two.contains("# 5: jhsim cell create apic-demo"))
        let all = lab.ok("trace --all --explain").stdout
        #expect(all.contains("# 1: jhsim enable"))
        #expect(all.contains("hypervisor: CPU 2 now belongs to cell 1 (tiny-demo)"))
    }
}

@Suite struct ScenarioTests {
    @Test func passingScenarioPrintsATranscript() {
        let lab = TestLab()
        lab.write("s.txt", """
            # a comment
            machine cpus=4 seed=3
            enable
            expect ok
            cell create tiny-demo
            expect status 0
            expect cell tiny-demo state="shut down" cpus=2 failed=
            expect owner 2 tiny-demo
            expect owner 3 0
            expect online 0-1,3
            cell create linux-x86-demo
            expect errno EBUSY
            expect status 1
            cell list
            expect output 'tiny-demo'
            say done
            """)
        let r = lab.run("run s.txt")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("$ jhsim enable\n$ jhsim cell create tiny-demo\n$ jhsim cell create linux-x86-demo\nJAILHOUSE_CELL_CREATE: Device or resource busy\n$ jhsim cell list\nID "))
        #expect(r.stdout.hasSuffix("done\n"))
        // A scenario runs on a fresh box: no lab needed, none made.
        #expect(!FileManager.default.fileExists(atPath: lab.labFile))
    }

    @Test func failedExpectationSaysWhere() {
        let lab = TestLab()
        lab.write("bad.txt", "enable\ncell create tiny-demo\nexpect cell tiny-demo state=running\ndisable\n")
        let r = lab.run("run bad.txt")
        #expect(r.status == 1)
        #expect(r.stderr == "bad.txt:3: expectation failed: expect cell tiny-demo state=running\n  expected: state=running\n  got:      state=shut down\n")
        #expect(!r.stdout.contains("disable"))
        let j = lab.run("run bad.txt --json")
        #expect(j.stdout.contains("\"passed\": false"))
        #expect(j.stdout.contains("\"line\": 3"))
    }

    @Test func badScenarioLinesAreUsageErrors() {
        let lab = TestLab()
        for (text, needle) in [("cell frob\n", "bad.txt:1: unknown cell subcommand"),
                               ("enable\nexpect errno ENOPE\n", "bad.txt:2: unknown errno"),
                               ("enable\nmachine cpus=2\n", "must come before"),
                               ("lab init\n", "cannot be used inside"),
                               ("enable --fault zzz\n", "unknown fault site"),
                               ("say 'x\nenable 'oops\n", "unterminated quote")] {
            lab.write("bad.txt", text)
            let r = lab.run("run bad.txt")
            #expect(r.status == 1)
            #expect(r.stderr.contains(needle), "\(r.stderr)")
        }
    }

    @Test func traceAndJSONOfAPassingRun() throws {
        let lab = TestLab()
        lab.write("s.txt", "enable\ncell create tiny-demo\nexpect ok\n")
        let t = lab.run("run s.txt --trace")
        #expect(t.status == 0)
        #expect(t.stdout.contains("$ jhsim cell create tiny-demo\n# 1: jhsim enable"))
        #expect(t.stdout.contains("# 2: jhsim cell create tiny-demo"))
        let j = lab.run("run s.txt --json")
        let obj = try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any]
        #expect(obj?["passed"] as? Bool == true)
        #expect(obj?["commands"] as? Int == 2)
        #expect(obj?["expectations"] as? Int == 1)
        #expect((obj?["traceHash"] as? String)?.count == 16)
    }

    @Test func scenarioInLabSaves() {
        let lab = TestLab()
        lab.ok("lab init")
        lab.write("s.txt", "enable\ncell create tiny-demo\n")
        lab.ok("run s.txt --in-lab")
        #expect(lab.ok("cell list").stdout.contains("tiny-demo"))
    }

    @Test func signalGivesEINTR() {
        let lab = TestLab()
        lab.write("s.txt", "enable\nsignal 100\ncell create tiny-demo\nexpect errno EINTR\ncell create tiny-demo\nexpect ok\n")
        let r = lab.run("run s.txt")
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test func demoRunsAndIsDeterministic() {
        let lab = TestLab()
        let a = lab.run("demo")
        #expect(a.status == 0, "\(a.stderr)")
        #expect(a.stdout.contains("== 3. Create the tiny-demo cell"))
        #expect(a.stdout.contains("JAILHOUSE_CELL_CREATE: Device or resource busy"))
        #expect(a.stdout.contains("JAILHOUSE_CELL_DESTROY: Operation not permitted"))
        #expect(lab.run("demo").stdout == a.stdout)
    }
}

/// The lab on the real machine (skipped until the lower layers are in the build).
@Suite struct RealBoxTests {
    @Test func cellListAndProfilesOnTheRealMachine() {
        guard standardBoxAvailable else { return }
        let lab = TestLab(factory: .standard)
        lab.ok("lab init --executor inline")
        lab.ok("enable")
        lab.ok("cell create tiny-demo")
        lab.ok("cell create apic-demo")
        lab.ok("cell start tiny-demo")
        #expect(lab.run("cell list") == CommandResult(stdout:
            "ID      Name                    State             Assigned CPUs           Failed CPUs             \n" +
            "0       QEMU-VM                 running           0-1                                             \n" +
            "1       tiny-demo               running           2                                               \n" +
            "2       apic-demo               shut down         3                                               \n"))
        #expect(lab.run("cell destroy 0") == CommandResult(stderr: "JAILHOUSE_CELL_DESTROY: Invalid argument\n", status: 1))
        #expect(lab.run("cell shutdown 0") == CommandResult(stderr: "JAILHOUSE_CELL_LOAD: Invalid argument\n", status: 1))
        #expect(lab.run("cell create nosuch") == CommandResult(stderr: "opening nosuch: No such file or directory\n", status: 1))
    }

    @Test func bothExecutorsGiveTheSameLab() {
        guard standardBoxAvailable else { return }
        var hashes: [String] = []
        for ex in ["inline", "dispatch"] {
            let lab = TestLab(factory: .standard)
            lab.ok("lab init --executor \(ex) --seed 5")
            lab.ok("enable")
            #expect(lab.run("cell create linux-x86-demo --fault cpu_down:cpu=3:nth=1").status == 1)
            lab.ok("cell create smp-demo")
            let info = lab.ok("lab info").stdout
            hashes.append(String(info.split(separator: "\n")[4]))
            #expect(lab.ok("trace --all").stdout.contains("fault        inject cpu_down:cpu=3"))
        }
        #expect(hashes[0] == hashes[1])
    }

    @Test func rollbackQuirkDiffersBetweenProfiles() {
        guard standardBoxAvailable else { return }
        // Quirk 3: the create rollback brings an admin-offlined CPU online (upstream only).
        var online: [String] = []
        for profile in ["upstream", "fixed"] {
            let lab = TestLab(factory: .standard)
            lab.ok("lab init --executor inline --profile \(profile)")
            lab.ok("enable")
            lab.ok("cpu offline 2")
            #expect(lab.run("cell create linux-x86-demo --fault cpu_down:cpu=3:nth=1").status == 1)
            online.append(lab.ok("cpus --json").stdout)
        }
        #expect(online[0] != online[1])
    }
}

extension RealBoxTests {
    @Test func aHangIsReportedNotHung() {
        guard standardBoxAvailable else { return }
        let lab = TestLab(factory: .standard)
        lab.ok("lab init --executor inline")
        lab.ok("enable")
        lab.ok("cell create apic-demo")
        lab.ok("cell start apic-demo --inmate unresponsive")
        let r = lab.run("cell destroy apic-demo")
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("jhsim: the command never returns on real hardware"))
        #expect(lab.ok("lab info").stdout.contains("4. jhsim cell destroy apic-demo → never returns (hang)"))
    }
}
