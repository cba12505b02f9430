/// `jhsim demo`: the guided tour on the built-in 4-CPU machine, as a scenario with
/// narration, so it needs no files and prints the same text every time.
public enum Demo {
    /// The tour's commands and expectations, the same in every language; a line `@N` stands
    /// for narration block N of the language's list, so the two tours cannot drift apart.
    static let commands = """
    @0
    machine cpus=4 seed=0 profile=upstream executor=inline
    @1
    cpus
    @2
    enable
    expect ok
    explain
    cell list
    @3
    cell create tiny-demo
    expect ok
    explain
    cpus
    cell list
    @4
    cell start tiny-demo
    expect ok
    cell list
    @5
    cell create linux-x86-demo
    expect errno EBUSY
    explain
    @6
    cell create apic-demo
    expect ok
    cell start apic-demo --inmate locking
    expect ok
    cell destroy apic-demo
    expect errno EPERM
    explain
    cell list
    cell destroy apic-demo
    expect ok
    @7
    cell destroy tiny-demo
    expect ok
    explain
    cpus
    @8
    disable
    expect ok
    cpus
    @9
    """

    /// The English narration, block by block.
    static let narrationEN: [String] = [
        """
        # The guided tour. Every command below is a real jhsim command; run them yourself
        # after `jhsim lab init` to explore further.
        """,
        """
        say == 1. A Linux machine with 4 CPUs. Jailhouse is not enabled yet: Linux owns every CPU.
        """,
        """
        say
        say == 2. Enable the hypervisor with the built-in qemu-x86 system config. Linux keeps
        say    running, but now as the root cell "QEMU-VM" on top of Jailhouse.
        """,
        """
        say
        say == 3. Create the tiny-demo cell. It wants CPU 2, so the driver first takes CPU 2
        say    away from Linux (CPU hotplug), then asks the hypervisor to give it to the cell.
        """,
        """
        say
        say == 4. Start it. Its CPU leaves the parked state and runs the inmate.
        """,
        """
        say
        say == 5. linux-x86-demo wants CPUs 2-3, but CPU 2 is no longer the root cell's:
        say    the driver refuses before touching anything.
        """,
        """
        say
        say == 6. apic-demo (CPU 3) has an active comm region: the hypervisor must ask the
        say    inmate before it may stop it. We start it with the `locking` inmate (like the
        say    upstream apic-demo), which locks the configuration and says no the first time.
        """,
        """
        say
        say == 7. Destroy tiny-demo: CPU 2 goes back to the root cell and Linux brings it online.
        """,
        """
        say
        say == 8. Disable the hypervisor: Linux runs on the bare machine again.
        """,
        """
        say
        say Try it yourself: jhsim lab init && jhsim enable && jhsim cell create tiny-demo && jhsim trace --explain
        """
    ]

    /// The Chinese narration (`jhsim demo --lang zh`, or a zh locale), with the seed
    /// walkthrough's words.
    static let narrationZH: [String] = [
        """
        # 导览。下面每条都是真实的 jhsim 命令；`jhsim lab init` 之后可以自己逐条运行、继续探索。
        """,
        """
        say == 1. 一台 4 个 CPU 的 Linux 机器。Jailhouse 还没有启用：所有 CPU 都归 Linux。
        """,
        """
        say
        say == 2. 用内置的 qemu-x86 系统配置启用 hypervisor。Linux 继续运行，
        say    但从现在起是作为根单元 "QEMU-VM" 运行在 Jailhouse 之上。
        """,
        """
        say
        say == 3. 创建单元 tiny-demo。它要 CPU 2，所以驱动先通过 CPU 热插拔让 CPU 2
        say    从 Linux 下线，再请 hypervisor 把它交给这个单元。
        """,
        """
        say
        say == 4. 启动它。它的 CPU 不再停着，开始运行 inmate（单元里的程序）。
        """,
        """
        say
        say == 5. linux-x86-demo 要 CPU 2-3，可 CPU 2 已经不归根单元了：
        say    驱动在动任何东西之前就拒绝了。
        """,
        """
        say
        say == 6. apic-demo（CPU 3）有主动通信区：hypervisor 停掉它之前必须先问 inmate。
        say    我们用 `locking` inmate 启动它（和上游的 apic-demo 一样），它会锁住配置，
        say    第一次请求时说"不"。
        """,
        """
        say
        say == 7. 销毁 tiny-demo：CPU 2 回到根单元，Linux 让它重新上线。
        """,
        """
        say
        say == 8. 关闭 hypervisor：Linux 又直接运行在硬件上了。
        """,
        """
        say
        say 自己试试：jhsim lab init && jhsim enable && jhsim cell create tiny-demo && jhsim trace --explain --lang zh
        """
    ]

    /// The tour as a scenario in `language`.
    public static func script(_ language: Narration.Language = .en) -> String {
        let blocks = language == .zh ? narrationZH : narrationEN
        return commands.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            if line.hasPrefix("@"), let n = Int(line.dropFirst()), blocks.indices.contains(n) { return blocks[n] }
            return String(line)
        }.joined(separator: "\n")
    }

    static func run(factory: BoxFactory, language: Narration.Language = .en, _ out: inout Output) -> Int32 {
        do {
            let scenario = try Scenario.parse(script(language), file: "demo", factory: factory)
            let session = try LabSession(parameters: scenario.parameters, factory: factory)
            var runner = LabCommandRunner(factory: factory, environment: LabEnvironment(currentDirectory: "/"))
            runner.language = language
            let sr = ScenarioRunner(factory: factory, baseDirectory: "/", commandRunner: runner, showProgress: false)
            return sr.run(scenario, session: session, extraFaults: [], &out, json: false)
        } catch {
            out.err("jhsim: \(error)\n")
            return 1
        }
    }
}
