/// The built-in scenario of `jhsim faults …` when no file is given: every ioctl of the
/// driver on the built-in 4-CPU machine. Committed as Docs/scenarios/faults-default.jhsim
/// too (where `jhsim run` checks its expectations like every documented scenario); a test
/// keeps the two identical.
public enum DefaultScenario {
    /// How reports and reproducers name it (`jhsim faults run` without a file).
    public static let name = "(built-in)"
    public static let text = """
# The built-in scenario of `jhsim faults sweep|campaign|shrink|run` when no file is given
# (embedded in Sources/JHFaults/DefaultScenario.swift; a test keeps the two identical).
# Every ioctl of the driver on the built-in 4-CPU qemu-x86 machine: enable, create and
# destroy a 1-CPU cell, a PCI cell through start, load and destroy, a 2-CPU cell, disable.
machine cpus=4 seed=0 profile=upstream executor=inline
enable
expect ok
cell create tiny-demo
expect ok
cell destroy tiny-demo
expect ok
cell create pci-demo
expect ok
cell start pci-demo
expect ok
cell load pci-demo -s hello
expect ok
cell start pci-demo
expect ok
cell destroy pci-demo
expect ok
cell create smp-demo
expect ok
cell destroy smp-demo
expect ok
disable
expect ok
expect online 0-3
"""
}
