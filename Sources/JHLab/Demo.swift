/// `jhsim demo`: the guided tour on the built-in 4-CPU machine, as a scenario with
/// narration, so it needs no files and prints the same text every time.
public enum Demo {
    public static let script = """
    # The guided tour. Every command below is a real jhsim command; run them yourself
    # after `jhsim lab init` to explore further.
    machine cpus=4 seed=0 profile=upstream executor=inline
    say == 1. A Linux machine with 4 CPUs. Jailhouse is not enabled yet: Linux owns every CPU.
    cpus
    say
    say == 2. Enable the hypervisor with the built-in qemu-x86 system config. Linux keeps
    say    running, but now as the root cell "QEMU-VM" on top of Jailhouse.
    enable
    expect ok
    explain
    cell list
    say
    say == 3. Create the tiny-demo cell. It wants CPU 2, so the driver first takes CPU 2
    say    away from Linux (CPU hotplug), then asks the hypervisor to give it to the cell.
    cell create tiny-demo
    expect ok
    explain
    cpus
    cell list
    say
    say == 4. Start it. Its CPU leaves the parked state and runs the inmate.
    cell start tiny-demo
    expect ok
    cell list
    say
    say == 5. linux-x86-demo wants CPUs 2-3, but CPU 2 is no longer the root cell's:
    say    the driver refuses before touching anything.
    cell create linux-x86-demo
    expect errno EBUSY
    explain
    say
    say == 6. apic-demo (CPU 3) has an active comm region: the hypervisor must ask the
    say    inmate before it may stop it. We start it with the `locking` inmate (like the
    say    upstream apic-demo), which locks the configuration and says no the first time.
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
    say
    say == 7. Destroy tiny-demo: CPU 2 goes back to the root cell and Linux brings it online.
    cell destroy tiny-demo
    expect ok
    explain
    cpus
    say
    say == 8. Disable the hypervisor: Linux runs on the bare machine again.
    disable
    expect ok
    cpus
    say
    say Try it yourself: jhsim lab init && jhsim enable && jhsim cell create tiny-demo && jhsim trace --explain
    """

    static func run(factory: BoxFactory, _ out: inout Output) -> Int32 {
        do {
            let scenario = try Scenario.parse(script, file: "demo", factory: factory)
            let session = try LabSession(parameters: scenario.parameters, factory: factory)
            let runner = LabCommandRunner(factory: factory, environment: LabEnvironment(currentDirectory: "/"))
            let sr = ScenarioRunner(factory: factory, baseDirectory: "/", commandRunner: runner, showProgress: false)
            return sr.run(scenario, session: session, extraFaults: [], &out, json: false)
        } catch {
            out.err("jhsim: \(error)\n")
            return 1
        }
    }
}
