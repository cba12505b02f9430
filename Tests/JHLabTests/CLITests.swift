import Foundation
import Testing
import JHABI
import JHMachine
@testable import JHLab

@Suite struct CellArgumentTests {
    func sel(_ args: [String]) -> CellSelector? {
        var s = ArraySlice(args)
        return CellSelector.parse(&s)
    }

    @Test func idsAndNamesFollowParseCellID() {
        #expect(sel(["1"]) == .id(1))
        #expect(sel(["0x10"]) == .id(16))
        #expect(sel(["010"]) == .id(8))
        #expect(sel(["-1"]) == .name("-1"))
        #expect(sel(["tiny-demo"]) == .name("tiny-demo"))
        #expect(sel(["12abc"]) == .name("12abc"))
        #expect(sel(["--name", "2"]) == .name("2"))
        #expect(sel(["--name"]) == nil)
        #expect(sel([]) == nil)
        #expect(sel([String(repeating: "x", count: 40)]) == .name(String(repeating: "x", count: 31)))
    }

    @Test func idsThatWrapNegativeOrOverflowAreNamesLikeParseCellID() {
        // parse_cell_id stores strtoll's result in an __s32 and tests the sign after
        // the wrap; ERANGE also makes a name.
        #expect(sel(["4294967296"]) == .id(0))
        #expect(sel(["2147483648"]) == .name("2147483648"))
        #expect(sel(["4294967295"]) == .name("4294967295"))
        #expect(sel(["99999999999999999999"]) == .name("99999999999999999999"))
        #expect(sel([""]) == .id(0))
    }

    @Test func addressesMustParseCompletelyLikeCellShutdownLoad() {
        #expect(CNumber.address("0x1000") == 0x1000)
        #expect(CNumber.address("0100") == 64)
        #expect(CNumber.address("4096") == 4096)
        #expect(CNumber.address("-1") == UInt64.max)
        #expect(CNumber.address("") == 0)
        // tools/jailhouse.c calls help() when *endp != 0 or errno is set.
        #expect(CNumber.address("0x10zz") == nil)
        #expect(CNumber.address("junk") == nil)
        #expect(CNumber.address("0x") == nil)
        #expect(CNumber.address("99999999999999999999") == nil)
        #expect(CNumber.unsigned("-3") == nil)
        #expect(CNumber.unsigned("0x20") == 32)
    }
}

@Suite struct CellListFormatTests {
    @Test func sysfsValuesLoseExactlyOneTrailingLinefeed() {
        #expect(SysfsCells.chomp("tiny-demo\n") == "tiny-demo")
        #expect(SysfsCells.chomp("odd\n\n") == "odd\n")
        #expect(SysfsCells.chomp("\n") == "")
        #expect(SysfsCells.chomp("cr\r\n") == "cr\r")
        #expect(SysfsCells.chomp("no-newline") == "no-newline")
    }

    @Test func rowsArePaddedLikeTheRealTool() {
        let rows = [
            CellRow(id: 0, name: "QEMU-VM", state: "running", cpus: "0-1", failedCpus: ""),
            CellRow(id: 1, name: "tiny-demo", state: "running", cpus: "2", failedCpus: ""),
            CellRow(id: 2, name: "apic-demo", state: "shut down", cpus: "3", failedCpus: ""),
        ]
        let expected =
            "ID      Name                    State             Assigned CPUs           Failed CPUs             \n" +
            "0       QEMU-VM                 running           0-1                                             \n" +
            "1       tiny-demo               running           2                                               \n" +
            "2       apic-demo               shut down         3                                               \n"
        #expect(CellListFormat.render(rows) == expected)
        #expect(CellListFormat.header.utf8.count == 99)
        #expect(CellListFormat.render([]) == "")
    }

    @Test func longNamesRunIntoTheNextColumn() {
        let name = String(repeating: "n", count: 30)
        let line = CellListFormat.line(["3", name, "running", "1", ""])
        #expect(line == "3       " + name + "running           1                       " + String(repeating: " ", count: 24) + "\n")
    }

    @Test func cellListThroughTheLabIsByteExact() {
        let lab = TestLab()
        lab.ok("lab init")
        #expect(lab.ok("cell list").stdout == "")
        lab.ok("enable")
        lab.ok("cell create tiny-demo")
        lab.ok("cell create apic-demo")
        lab.ok("cell start tiny-demo")
        let out = lab.ok("cell list").stdout
        #expect(out ==
            "ID      Name                    State             Assigned CPUs           Failed CPUs             \n" +
            "0       QEMU-VM                 running           0-1                                             \n" +
            "1       tiny-demo               running           2                                               \n" +
            "2       apic-demo               shut down         3                                               \n")
    }

    @Test func idDirectoriesSortAlphabetically() throws {
        let lab = TestLab()
        lab.ok("lab init --cpus 12")
        lab.write("sys.cell", "SYSTEM BIG 0-11")
        lab.ok("enable sys.cell")
        for i in 1...10 {
            lab.write("c\(i).cell", "CELL c\(i) \(i) passive")
            lab.ok("cell create c\(i).cell")
        }
        let ids = lab.ok("cell list").stdout.split(separator: "\n").dropFirst().map { $0.split(separator: " ")[0] }
        #expect(ids == ["0", "1", "10", "2", "3", "4", "5", "6", "7", "8", "9"])
        let json = lab.ok("cell list --json").stdout
        let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]
        #expect(parsed?.count == 11)
        #expect(parsed?[2]["name"] as? String == "c10")
        #expect(parsed?[2]["cpus"] as? [Int] == [10])
    }
}

@Suite struct CommandTests {
    @Test func failuresArePerrorStyle() {
        let lab = TestLab()
        lab.ok("lab init")
        #expect(lab.run("cell create tiny-demo") == CommandResult(stdout: "", stderr: "JAILHOUSE_CELL_CREATE: Invalid argument\n", status: 1))
        lab.ok("enable")
        #expect(lab.run("enable") == CommandResult(stderr: "JAILHOUSE_ENABLE: Device or resource busy\n", status: 1))
        lab.ok("cell create tiny-demo")
        #expect(lab.run("cell create tiny-demo").stderr == "JAILHOUSE_CELL_CREATE: File exists\n")
        #expect(lab.run("cell create linux-x86-demo") == CommandResult(stderr: "JAILHOUSE_CELL_CREATE: Device or resource busy\n", status: 1))
        #expect(lab.run("cell shutdown nosuch") == CommandResult(stderr: "JAILHOUSE_CELL_LOAD: No such file or directory\n", status: 1))
        #expect(lab.run("cell start 7").stderr == "JAILHOUSE_CELL_START: No such file or directory\n")
        #expect(lab.run("cell destroy 0").stderr == "JAILHOUSE_CELL_DESTROY: Invalid argument\n")
        #expect(lab.run("cell create missing.cell") == CommandResult(stderr: "opening missing.cell: No such file or directory\n", status: 1))
        #expect(lab.run("cell create tiny-demo.cell").stderr == "JAILHOUSE_CELL_CREATE: File exists\n")
    }

    @Test func apicDemoDeniesTheFirstDestroy() {
        let lab = TestLab()
        lab.ok("lab init")
        lab.ok("enable")
        lab.ok("cell create apic-demo")
        lab.ok("cell start apic-demo")
        #expect(lab.run("cell destroy apic-demo").stderr == "JAILHOUSE_CELL_DESTROY: Operation not permitted\n")
        lab.ok("cell destroy apic-demo")
        lab.ok("disable")
        #expect(lab.ok("cell list").stdout == "")
    }

    @Test func loadAndStartWithNamesAndIDs() {
        let lab = TestLab()
        lab.ok("lab init")
        lab.ok("enable")
        lab.ok("cell create tiny-demo")
        lab.write("img.bin", "payload")
        lab.ok("cell load tiny-demo img.bin -a 0x1000 -s 'hello world' --address 0")
        lab.ok("cell start 1 --inmate cooperative")
        lab.ok("cell shutdown --name tiny-demo")
        #expect(lab.run("cell load tiny-demo").status == 1)
        let info = lab.ok("lab info").stdout
        #expect(info.contains("cell load tiny-demo img.bin -a 0x1000 -s 'hello world' --address 0"))
    }

    @Test func usageErrorsNeverCrash() {
        let lab = TestLab()
        lab.ok("lab init")
        let bad = [
            "", "frobnicate", "cell", "cell frob", "cell create", "cell create a b", "cell start",
            "cell start --name", "cell load 1", "cell load 1 -s", "cell load 1 x -a", "cell start 1 --inmate nope",
            "cpu", "cpu online", "cpu sideways 1", "cpu online x", "cpus --yaml", "trace --last 0", "trace --last",
            "trace --bogus", "draw", "draw timeline -o", "draw states --x", "lab", "lab init --cpus 0",
            "lab init --cpus 5000", "lab init --seed -1", "lab init --profile odd", "lab init --executor x",
            "lab frob", "faults", "faults show", "quirks x", "run", "run a b", "demo x", "enable a b", "disable x",
            "console x", "inmate", "inmate 1", "inmate 1 weird", "cell list --xml", "--fault", "--lab",
            "cell create tiny-demo --fault nosuch:cpu=1", "cell create tiny-demo --fault cpu_down:bogus=1",
            "cell create tiny-demo --fault cpu_down:errno=EWHAT", "cpus --fault cpu_down",
        ]
        for b in bad {
            let r = lab.run(b)
            #expect(r.status != 0, "`\(b)` should fail")
            #expect(!r.stderr.isEmpty, "`\(b)` should explain")
        }
        let unknownSite = lab.run("cell create tiny-demo --fault nosuch:cpu=1")
        #expect(unknownSite.stderr.contains("valid sites: cpu_down, hc_cell_create"))
        let badKey = lab.run("cell create tiny-demo --fault cpu_down:bogus=1")
        #expect(badKey.stderr.contains("valid keys: cpu, state, nth, after, count (or times), interval, space, task, prob, verbose, errno"))
    }

    @Test func helpAndVersion() {
        let lab = TestLab()
        #expect(lab.run("--help").stdout.contains("cell load {ID|[--name] NAME}"))
        #expect(lab.run("--version").stdout.hasPrefix("jhsim "))
        #expect(lab.run("cell --help").stdout.hasPrefix("usage: jhsim cell create"))
        #expect(lab.run("cell --help").status == 0)
        #expect(LabCommandRunner.asksForHelp(["load", "1", "-s", "--help"]) == false)
        #expect(LabCommandRunner.asksForHelp(["load", "1", "-h"]))
    }

    @Test func noLabSaysHowToMakeOne() {
        let lab = TestLab()
        let r = lab.run("cell list")
        #expect(r.status == 1)
        #expect(r.stderr.contains("jhsim lab init"))
    }

    @Test func cpusTableAndJSON() throws {
        let lab = TestLab()
        lab.ok("lab init")
        lab.ok("enable")
        lab.ok("cell create tiny-demo")
        #expect(lab.ok("cpus").stdout == """
            CPU  Linux    Hotplug  Cell         Hypervisor    Failed
            0    online   online   0 QEMU-VM    running root  no
            1    online   online   0 QEMU-VM    running root  no
            2    offline  offline  1 tiny-demo  parked        no
            3    online   online   0 QEMU-VM    running root  no

            """)
        let json = try JSONSerialization.jsonObject(with: Data(lab.ok("cpus --json").stdout.utf8)) as? [[String: Any]]
        #expect(json?.count == 4)
        #expect(json?[2]["owner"] as? Int == 1)
        #expect(json?[2]["ownerName"] as? String == "tiny-demo")
        #expect(json?[2]["online"] as? Bool == false)
        #expect(json?[0]["hypervisorState"] as? String == "running root")
        #expect(json?[1]["failed"] as? Bool == false)
    }

    @Test func hotplugCommands() {
        let lab = TestLab()
        lab.ok("lab init")
        lab.ok("cpu offline 3")
        #expect(lab.run("enable") == CommandResult(stderr: "JAILHOUSE_ENABLE: Invalid argument\n", status: 1))
        #expect(lab.run("cpu offline 9").stderr == "/sys/devices/system/cpu/cpu9/online: No such file or directory\n")
        lab.ok("cpu online 3")
        lab.ok("enable")
    }

    @Test func faultsAndQuirksLists() {
        let lab = TestLab()
        let f = lab.ok("faults list").stdout
        #expect(f.contains("cpu_down"))
        #expect(f.contains("taking a CPU offline fails"))
        lab.ok("lab init --profile fixed")
        let q = lab.ok("quirks").stdout
        #expect(q.contains("(lab profile: fixed)"))
        #expect(q.contains("arch-mismatch-returns-success"))
        // note, header, one row per quirk, a blank line, the trigger heading, one per quirk.
        #expect(q.split(separator: "\n", omittingEmptySubsequences: false).count == 2 + 2 * Quirk.allCases.count + 3)
        #expect(q.contains("  15  enable --fault cell_kzalloc:nth=1, then enable again\n"))
        let show = TestLab(factory: .standard).ok("quirks --show 15").stdout
        #expect(show.contains("Quirk 15 (prepare-root-leaves-err-ptr)"))
        #expect(show.contains("Killed") && show.contains("| → exit 0"), "upstream oopses, fixed enables")
        #expect(lab.run("quirks --show 8").status == 1, "8 is not a modelled quirk")
    }

    @Test func injectedFaultIsExplained() {
        let lab = TestLab()
        lab.ok("lab init")
        lab.ok("enable")
        let failed = lab.run("cell create linux-x86-demo --fault cpu_down:cpu=3:nth=1:errno=EBUSY")
        #expect(failed == CommandResult(stderr: "JAILHOUSE_CELL_CREATE: Device or resource busy\n", status: 1))
        let r = lab.run("trace --explain")
        #expect(r.stdout.contains("INJECTED FAULT at cpu_down:cpu=3"))
        #expect(r.stdout.contains("jailhouse_cmd_cell_create takes CPU 2 away from Linux"))
        #expect(lab.ok("cpus --json").stdout.contains("\"online\": true"))
    }
}

@Suite struct ProgressTests {
    final class Lines: @unchecked Sendable { var items: [String] = [] }

    @Test func progressOnlyOnATerminal() {
        let lab = TestLab()
        var text = "enable\n"
        for _ in 0..<30 { text += "cell create tiny-demo\ncell destroy tiny-demo\n" }
        lab.write("big.jhsim", text)
        for tty in [false, true] {
            var runner = lab.runner
            runner.environment.stderrIsTerminal = tty
            let lines = Lines()
            let r = runner.run(["run", "big.jhsim"]) { lines.items.append($0) }
            #expect(r.status == 0)
            #expect(!r.stderr.contains("["), "progress never lands in captured output")
            if tty {
                #expect(lines.items.first == "\r[10/61] commands")
                #expect(lines.items.suffix(2) == ["\r[61/61] commands", "\n"])
            } else {
                #expect(lines.items.isEmpty)
            }
        }
    }
}
