import Foundation
import Testing
@testable import JHLab

/// The trace tells the truth about every branch: who acts, why an error happens, the
/// quiet paths, and the same in Chinese.
@Suite(.serialized) struct NarrationTruthTests {
    func lab(_ commands: [String], lang: String? = nil) -> TestLab {
        var lab = TestLab(factory: .standard)
        if let lang { lab.runner.environment.variables["LANG"] = lang }
        lab.ok("lab init --executor inline")
        for c in commands { lab.run(c) }
        return lab
    }

    @Test func adminHotplugIsNarratedAsTheAdminsNotTheDrivers() throws {
        guard standardBoxAvailable else { return }
        let lab = lab(["cpu offline 2"])
        let off = lab.run("trace --explain").stdout
        #expect(off.contains("admin → linux: echo 0 > /sys/devices/system/cpu/cpu2/online"))
        #expect(off.contains("admin → linux: remove_cpu(2) for the sysfs write"))
        #expect(!off.contains("driver → linux") && !off.contains("jailhouse_cmd_cell_create"))
        // Before enable there is no hypervisor to pass INIT/SIPI through.
        lab.ok("cpu online 2")
        let on = lab.run("trace --explain").stdout
        #expect(on.contains("admin → linux: add_cpu(2) for the sysfs write"))
        #expect(!on.contains("hypervisor"), "\(on)")
        // The driver's own hotplug still reads as the driver's.
        lab.ok("enable")
        lab.ok("cell create tiny-demo")
        #expect(lab.run("trace --explain").stdout.contains("driver → linux: remove_cpu(2) — jailhouse_cmd_cell_create"))
    }

    @Test func everyErrorSaysWhichStepDecidedIt() throws {
        guard standardBoxAvailable else { return }
        let lab = lab([])
        func brief(_ command: String) -> String {
            lab.run(command)
            return lab.run("trace --brief").stdout
        }
        #expect(brief("cell create tiny-demo").contains("driver: jailhouse_enabled is false"))
        lab.ok("enable")
        #expect(brief("enable").contains("driver: jailhouse_enabled is already true"))
        lab.ok("cell create tiny-demo")
        #expect(brief("cell create tiny-demo").contains("driver: find_cell finds cell 1 already named tiny-demo → -EEXIST"))
        #expect(brief("cell destroy nosuch").contains("driver: find_cell finds no cell with name nosuch → -ENOENT"))
        #expect(brief("cell start 7").contains("find_cell finds no cell with id 7 → -ENOENT"))
        #expect(brief("cpu offline 0").contains("/sys/devices/system/cpu/cpu0/online does not exist"))
        #expect(brief("cell create linux-x86-demo").contains("driver: are the cell's CPUs (2-3) all still the root cell's (0-1,3)? No → -EBUSY"))
        #expect(brief("cell create cpu0-demo").contains("the cell wants CPU 0"))
    }

    @Test func theQuietBranchesAreNarrated() throws {
        guard standardBoxAvailable else { return }
        let lab = lab(["enable", "cpu offline 3", "cell create apic-demo"])
        let create = lab.run("trace --explain").stdout
        #expect(create.contains("driver: CPU 3 is already offline (the admin took it), so `if (cpu_online(cpu))` skips it"))
        #expect(create.contains("driver: removes CPU 3 from root_cell->cpus_assigned (now 0-2)"))
        #expect(!create.contains("remove_cpu(3)"))
        lab.ok("cell destroy apic-demo")
        let destroy = lab.run("trace --brief").stdout
        #expect(destroy.contains("driver: CPU 3 is not in offlined_cpus (the driver did not take it offline), so it stays offline"))
        #expect(lab.run("trace --explain").stdout.contains("driver: gives CPU 3 back to root_cell->cpus_assigned (now 0-3)"))
        // The rollback after a failed hypercall, and offlined_cpus emptied again.
        lab.run("cell create linux-x86-demo --fault hypercall:nr=CELL_CREATE")
        let rollback = lab.run("trace --explain").stdout
        #expect(rollback.contains("driver: JAILHOUSE_HC_CELL_CREATE failed with -ENOMEM (Cannot allocate memory) — jailhouse_cmd_cell_create jumps to error_cpu_online"))
        #expect(rollback.contains("driver: CPU 2 is Linux's again, so it leaves offlined_cpus (now empty)"))
        // Cell states by name, never a number.
        let all = lab.run("trace --all").stdout
        #expect(all.contains("cell_state cell=1 state=SHUT_DOWN"))
        #expect(all.range(of: #"state=[0-9]"#, options: .regularExpression) == nil)
    }

    @Test func briefShowsTheKeyStepsAsTheDemoDoes() throws {
        guard standardBoxAvailable else { return }
        let lab = lab(["enable", "cell create tiny-demo"])
        let brief = lab.run("trace --brief").stdout
        #expect(brief.hasPrefix("# 2: jhsim cell create tiny-demo  ("))
        #expect(brief.contains("\n  · driver → linux: remove_cpu(2)"))
        #expect(brief.hasSuffix("  (took 12.53ms of virtual time)\n"))
        #expect(!brief.contains("kmalloc"))
        #expect(lab.run("trace --brief --explain").status == 1)
        // Chrome trace names read as names.
        lab.ok("trace --chrome t.json")
        let chrome = try #require(lab.read("t.json"))
        #expect(chrome.contains("\"name\": \"ioctl JAILHOUSE_CELL_CREATE (pid 1001)\""))
        #expect(chrome.contains("\"name\": \"hypercall JAILHOUSE_HC_CELL_CREATE\""))
        #expect(!chrome.contains("pid=pid"))
    }

    @Test func chineseNarrationWithLangOrTheLocale() throws {
        guard standardBoxAvailable else { return }
        let lab = lab(["enable", "cell create tiny-demo", "cell create linux-x86-demo"])
        let zh = lab.run("trace --explain --lang zh --last 2").stdout
        #expect(zh.contains("驱动 → linux：remove_cpu(2)——jailhouse_cmd_cell_create 先从 Linux 手里拿走 CPU 2"))
        #expect(zh.contains("hypervisor：CPU 2 现在归单元 1（tiny-demo）所有"))
        #expect(zh.contains("[对应 remove_cpu (kernel/cpu.c)]"))
        #expect(zh.contains("用户：命令失败，返回 EBUSY（设备或资源忙）"))
        // The locale decides when --lang is absent; --lang wins over it.
        let zhLab = self.lab(["enable"], lang: "zh_CN.UTF-8")
        #expect(zhLab.run("trace --brief").stdout.contains("（虚拟时间共 "))
        #expect(zhLab.run("trace --brief --lang en").stdout.contains("(took "))
        #expect(lab.run("trace --lang fr").stderr.contains("unknown language 'fr'; valid: en, zh"))
        // The demo in Chinese, with the seed walkthrough's words.
        let demo = lab.run("demo --lang zh")
        #expect(demo.status == 0)
        #expect(demo.stdout.contains("== 3. 创建单元 tiny-demo。它要 CPU 2，所以驱动先通过 CPU 热插拔让 CPU 2"))
        #expect(demo.stdout.contains("根单元"))
        #expect(demo.stdout.contains("  · 驱动 → linux：remove_cpu(2)"))
        // The outputs of the real tool stay as they are.
        #expect(demo.stdout.contains("JAILHOUSE_CELL_CREATE: Device or resource busy\n"))
    }
}
