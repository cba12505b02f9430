import Foundation
import JHMachine
import Testing
@testable import JHLab

/// `lab init --kernel 5.6` and the scenario's `machine kernel=5.6`: the seed's driver
/// path, what it shows, and how bad values are refused.
@Suite(.serialized) struct KernelChoiceTests {
    func lab(_ kernel: String?) -> TestLab {
        let lab = TestLab(factory: .standard)
        lab.ok("lab init --executor inline" + (kernel.map { " --kernel \($0)" } ?? ""))
        return lab
    }

    @Test func explainShowsCPUDownAndCPUUpWithTheirMirrorsOnLinux5_6() throws {
        guard standardBoxAvailable else { return }
        let old = lab("5.6")
        old.ok("enable")
        old.ok("cell create tiny-demo")
        let create = old.run("trace --explain").stdout
        #expect(create.contains("driver → linux: cpu_down(2) — the seed's jailhouse_cmd_cell_create (Linux 5.6)"))
        #expect(create.contains("[mirrors cpu_down (kernel/cpu.c, Linux ≤ 5.6)]"))
        #expect(!create.contains("remove_cpu"))
        #expect(old.run("trace --brief").stdout.contains("cpu_down(2)"))
        let zh = old.run("trace --explain --lang zh").stdout
        #expect(zh.contains("驱动 → linux：cpu_down(2)——种子文档里的 jailhouse_cmd_cell_create（Linux 5.6）"))
        #expect(zh.contains("[对应 cpu_down (kernel/cpu.c, Linux ≤ 5.6)]"))
        old.ok("cell destroy tiny-demo")
        let destroy = old.run("trace --explain").stdout
        #expect(destroy.contains("driver → linux: cpu_up(2) — the seed's driver gives CPU 2 back"))
        #expect(destroy.contains("[mirrors cpu_up (kernel/cpu.c, Linux ≤ 5.6)]"))
        #expect(!destroy.contains("add_cpu"))

        let now = lab(nil)
        now.ok("enable")
        now.ok("cell create tiny-demo")
        let today = now.run("trace --explain").stdout
        #expect(today.contains("driver → linux: remove_cpu(2) — jailhouse_cmd_cell_create"))
        #expect(!today.contains("Linux ≤ 5.6"))
    }

    @Test func cpusAndCatShowTheStaleOnlineFile() throws {
        guard standardBoxAvailable else { return }
        let old = lab("5.6")
        old.ok("enable")
        old.ok("cell create tiny-demo")
        #expect(old.run("cat /sys/devices/system/cpu/cpu2/online").stdout == "1\n")
        let table = old.run("cpus").stdout
        #expect(table.contains("note: /sys/devices/system/cpu/cpu2/online reads 1, but CPU 2 is offline"))
        let json = old.run("cpus --json").stdout
        let rows = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]
        #expect(rows?[2]["online"] as? Bool == false)
        #expect(rows?[2]["onlineFile"] as? Bool == true)
        #expect(rows?[0]["onlineFile"] is NSNull, "CPU 0 has no online file on x86")

        let now = lab(nil)
        now.ok("enable")
        now.ok("cell create tiny-demo")
        #expect(now.run("cat /sys/devices/system/cpu/cpu2/online").stdout == "0\n")
        #expect(!now.run("cpus").stdout.contains("note:"))
    }

    @Test func catReadsFilesListsDirectoriesAndRefusesTheRest() throws {
        guard standardBoxAvailable else { return }
        let l = lab(nil)
        let dir = l.run("cat /sys/devices/system/cpu")
        #expect(dir.status == 0 && dir.stdout.contains("cpu3\n") && dir.stdout.contains("online\n"))
        let missing = l.run("cat /sys/devices/system/cpu/cpu0/online")
        #expect(missing.status == 1 && missing.stderr == "cat: /sys/devices/system/cpu/cpu0/online: No such file or directory\n")
        let outside = l.run("cat /etc/passwd")
        #expect(outside.status == 1 && outside.stderr.contains("a path under /sys/"))
        #expect(l.run("cat").status == 1)
        #expect(l.run("cat /sys/devices/system/cpu/online --fault kmalloc:nth=1").status == 1)
    }

    @Test func theLabFileCarriesTheKernelAndOldLabsLoadAsTheDefault() throws {
        guard standardBoxAvailable else { return }
        let old = lab("5.6")
        old.ok("enable")
        old.ok("cell create tiny-demo")
        let text = try #require(FileManager.default.contents(atPath: old.labFile))
        #expect(String(decoding: text, as: UTF8.self).contains("\"kernel\" : \"5.6\""))
        // Loading replays the log on a 5.6 box: the trace hash matches, and the
        // stale file is back.
        let info = old.ok("lab info").stdout
        #expect(info.contains("profile upstream, executor inline, kernel 5.6"))
        #expect(old.run("cat /sys/devices/system/cpu/cpu2/online").stdout == "1\n")
        old.ok("lab reset")
        #expect(old.ok("lab info").stdout.contains("kernel 5.6"), "reset keeps the kernel")

        // A default lab writes no kernel field, and a file without one is the default.
        let now = lab(nil)
        let plain = try #require(FileManager.default.contents(atPath: now.labFile))
        #expect(!String(decoding: plain, as: UTF8.self).contains("kernel"))
        #expect(!now.ok("lab info").stdout.contains("kernel"))
        let decoded = try JSONDecoder().decode(BoxParameters.self, from: Data(#"{"cpus":4,"seed":0,"profile":"upstream","executor":"inline"}"#.utf8))
        #expect(decoded.kernel == .current)
    }

    @Test func badKernelValuesAreClearErrors() throws {
        let l = TestLab()
        let r = l.run("lab init --kernel 5.5")
        #expect(r.status == 1)
        #expect(r.stderr.contains("unknown kernel '5.5'; valid: 5.6"))
        #expect(!FileManager.default.fileExists(atPath: l.labFile))
        #expect(l.run("lab init --kernel").stderr.contains("option --kernel needs a value"))
        l.write("k.txt", "machine kernel=4.19\nenable\n")
        let s = l.run("run k.txt")
        #expect(s.status != 0 && s.stderr.contains("k.txt:1: unknown kernel '4.19'"))
        // A lab file with a kernel this jhsim does not know is refused, not defaulted.
        l.ok("lab init")
        let data = try #require(FileManager.default.contents(atPath: l.labFile))
        var text = String(decoding: data, as: UTF8.self)
        text = text.replacingOccurrences(of: "\"profile\"", with: "\"kernel\" : \"2.6\",\n  \"profile\"")
        _ = FileManager.default.createFile(atPath: l.labFile, contents: Data(text.utf8))
        let bad = l.run("lab info")
        #expect(bad.status != 0 && bad.stderr.contains("corrupt"))
    }

    @Test func aScenarioChoosesTheKernelWithItsMachineLine() throws {
        guard standardBoxAvailable else { return }
        let l = TestLab(factory: .standard)
        l.write("s.txt", """
        machine cpus=4 executor=inline kernel=5.6
        enable
        cell create tiny-demo
        cat /sys/devices/system/cpu/cpu2/online
        expect output 1
        """)
        let r = l.run("run s.txt")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        // `run --kernel` overrides the machine line, as --profile does.
        l.write("t.txt", "machine executor=inline\nenable\ncell create tiny-demo\ncat /sys/devices/system/cpu/cpu2/online\n")
        #expect(l.run("run t.txt").stdout.contains("online\n0\n"))
        #expect(l.run("run t.txt --kernel 5.6").stdout.contains("online\n1\n"))
        #expect(l.run("run s.txt --kernel current").status == 1, "the 'expect output 1' no longer holds")
        #expect(l.run("run t.txt --kernel 5.6 --in-lab").stderr.contains("--kernel cannot be combined with --in-lab"))
        #expect(l.run("run t.txt --kernel 9").stderr.contains("unknown kernel '9'"))
    }
}

/// Section 11 of both tutorials (the seed's driver against today's) is part of the walk
/// that follows the tutorial in one lab as printed.
@Suite struct KernelTutorialSectionTests {
    @Test func theWalkRunsBothKernelsOfSectionEleven() throws {
        for t in DocsTests.tutorials {
            let text = try String(contentsOfFile: repositoryRoot + "/" + t, encoding: .utf8)
            let steps = try TutorialWalk.steps(text)
            var sawOld = false, sawNew = false
            for (i, step) in steps.enumerated() {
                guard case .block(let scenario, let transcript) = step, i > 0, case .start(let start) = steps[i - 1] else { continue }
                if scenario == "scenarios/13-kernel-5.6.jhsim" {
                    sawOld = start == ["lab init --kernel 5.6 --force"]
                    #expect(transcript.contains("driver → linux: cpu_down(2)") && transcript.contains("driver → linux: cpu_up(2)"), "\(t)")
                    #expect(TutorialWalk.commands(transcript).contains { $0.0 == "cat /sys/devices/system/cpu/cpu2/online" && $0.1 == "1\n" })
                }
                if scenario == "scenarios/14-kernel-current.jhsim" {
                    sawNew = start == ["lab init --force"]
                    #expect(transcript.contains("driver → linux: remove_cpu(2)"), "\(t)")
                }
            }
            #expect(sawOld && sawNew, "\(t)")
            // The bridge paragraph links the section.
            #expect(text.contains("](#11-"), "\(t)")
        }
    }
}
