import Foundation
import JHABI
import JHConfig
import JHMachine

/// `jhsim quirks --show N`: a short scenario per quirk, run on a fresh 4-CPU box in both
/// profiles, with each command's output side by side. The quirk numbering is the
/// registry's (`Quirk.number`, jailhouse-behaviour.md §6.2).
enum QuirkShow {
    /// A config a scenario needs that no built-in is: a built-in edited as the quirk's
    /// trigger says, made in memory and found by name (`BoxFactory.handMadeConfigs`).
    struct HandMadeConfig {
        var name: String
        /// What was changed, for the header of the show.
        var recipe: String
        var bytes: [UInt8]
    }

    /// One quirk's scenario: command lines (as `jhsim` takes them) and the configs they
    /// name that are made by hand.
    struct Scenario {
        var lines: [String]
        var configs: [HandMadeConfig] = []
    }

    /// The built-in cell config `name`, edited.
    static func cell(_ name: String, as newName: String, _ recipe: String,
                     _ edit: (inout CellConfig) -> Void) -> HandMadeConfig? {
        guard let bytes = BuiltinConfigs.cell(named: name), var c = try? CellConfig.decode(bytes) else { return nil }
        edit(&c)
        return HandMadeConfig(name: newName, recipe: recipe, bytes: c.encode())
    }

    /// The built-in qemu-x86 system config, edited.
    static func system(as newName: String, _ recipe: String, _ edit: (inout SystemConfig) -> Void) -> HandMadeConfig? {
        guard var s = try? SystemConfig.decode(BuiltinConfigs.qemuX86) else { return nil }
        edit(&s)
        return HandMadeConfig(name: newName, recipe: recipe, bytes: s.encode())
    }

    /// The scenario that triggers `q` (every registered quirk has one; a test checks that
    /// each really shows the difference its summary describes).
    static func scenario(_ q: Quirk) -> Scenario? {
        switch q {
        case .archMismatchReturnsSuccess:
            guard let arm = cell("tiny-demo", as: "tiny-demo-arm64", "tiny-demo with architecture arm64",
                                 { $0.architecture = .arm64 }) else { return nil }
            return Scenario(lines: ["enable", "cell create tiny-demo-arm64", "cell list"], configs: [arm])
        case .pciClaimLeaksOnFailedCreate:
            return Scenario(lines: ["enable", "cell create pci-demo --fault hv_page_alloc:state=cell:nth=1",
                                    "cat /sys/bus/pci/devices/0000:00:1b.0/driver"])
        case .createRollbackOnlinesAllCPUs:
            return Scenario(lines: ["enable", "cpu offline 2", "cell create linux-x86-demo --fault cpu_down:cpu=3:nth=1:errno=EBUSY", "cpus"])
        case .disableNotSideEffectFree:
            return Scenario(lines: ["enable", "cell create tiny-demo", "cpu offline 1", "disable", "cell list"])
        case .destroyAddCPUFailureOnlyLogged:
            return Scenario(lines: ["enable", "cell create tiny-demo", "cell destroy tiny-demo --fault cpu_up:cpu=2:nth=1", "cpus", "disable"])
        case .startErrorLeavesTargetSuspended:
            return Scenario(lines: ["enable", "cell create tiny-demo", "cell shutdown tiny-demo",
                                    "cell start tiny-demo --fault hv_paging_unmap:state=start:nth=1", "cpus"])
        case .noConfigLengthCheck:
            guard let tiny = BuiltinConfigs.cell(named: "tiny-demo") else { return nil }
            let cut = HandMadeConfig(name: "tiny-demo-cut", recipe: "tiny-demo without its last 40 bytes",
                                     bytes: Array(tiny.prefix(tiny.count - 40)))
            return Scenario(lines: ["enable", "cell create tiny-demo-cut", "trace --brief"], configs: [cut])
        case .sysfsErrorPathBadRelease:
            return Scenario(lines: ["enable --fault sysfs_create:state=/sys/devices/jailhouse/cells/0/statistics/cpu1:nth=1", "cell list"])
        case .rootIDFromSystemConfig:
            guard let sys = system(as: "qemu-x86-root-id-1", "qemu-x86 whose root cell has id 1",
                                   { $0.rootCell.id = 1 }) else { return nil }
            return Scenario(lines: ["enable qemu-x86-root-id-1", "cell create tiny-demo", "cell list"], configs: [sys])
        case .commRevDoesNotShortCircuit:
            return Scenario(lines: ["enable", "cell create apic-demo", "cell start apic-demo --inmate comm-rev-mismatch",
                                    "cell destroy apic-demo"])
        case .unknownIoctlIsEINVAL:
            return Scenario(lines: ["ioctl 0x1234"])
        case .ioapicPinBaseLeaks:
            guard let pin = cell("ioapic-demo", as: "ioapic-demo-pin-base-24", "ioapic-demo whose irqchip has pin_base 24",
                                 { c in for i in c.irqchips.indices { c.irqchips[i].pinBase = 24 } }) else { return nil }
            return Scenario(lines: ["enable", "cat /sys/devices/jailhouse/mem_pool_used", "cell create ioapic-demo-pin-base-24",
                                    "cat /sys/devices/jailhouse/mem_pool_used"], configs: [pin])
        case .prepareRootLeavesErrPtr:
            return Scenario(lines: ["enable --fault cell_kzalloc:nth=1", "enable", "cell list"])
        case .virtualPCIHostNeedsOverlay:
            guard let sys = system(as: "qemu-x86-virtual-pci", "qemu-x86 with pci_is_virtual = 1",
                                   { $0.platformInfo.pciIsVirtual = 1 }) else { return nil }
            return Scenario(lines: ["enable qemu-x86-virtual-pci", "cat /sys/bus/pci/devices"], configs: [sys])
        }
    }

    /// Runs the scenario of `q` in one profile: per command, its line and what it printed.
    static func run(_ q: Quirk, profile: String, factory: BoxFactory) throws -> [(String, [String])] {
        guard let s = scenario(q) else { return [] }
        var factory = factory
        for c in s.configs { factory.handMadeConfigs[c.name] = c.bytes }
        let session = try LabSession(parameters: BoxParameters(cpus: 4, seed: 0, profile: profile, executor: .inline),
                                     factory: factory)
        let runner = LabCommandRunner(factory: factory, environment: LabEnvironment(currentDirectory: "/"))
        var out: [(String, [String])] = []
        for line in s.lines {
            let argv = try ScenarioLexer.split(line)
            let r = runner.runScenarioCommand(argv, text: line, signalAfter: nil, baseDirectory: "/", session: session)
            var shown = (r.stdout + r.stderr).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            while shown.last == "" { shown.removeLast() }
            shown.append("→ exit \(r.status)")
            out.append((line, shown))
        }
        return out
    }

    /// Both profiles' runs as two columns under each command line.
    static func render(_ q: Quirk, factory: BoxFactory, width: Int = 60) throws -> String {
        var text = "Quirk \(q.number) (\(q.rawValue)): \(q.summary)\nTrigger: \(q.trigger)\n"
        guard let s = scenario(q) else {
            return text + "No built-in scenario.\n"
        }
        for c in s.configs { text += "Hand-made config \(c.name): \(c.recipe) (made in memory for this run)\n" }
        let up = try run(q, profile: "upstream", factory: factory)
        let fx = try run(q, profile: "fixed", factory: factory)
        func cut(_ s: String) -> String {
            let c = Array(s)
            return c.count <= width ? s + String(repeating: " ", count: width - c.count) : String(c.prefix(width - 1)) + "…"
        }
        text += "\n" + cut("upstream") + " | fixed\n" + String(repeating: "-", count: width) + "-+-" + String(repeating: "-", count: width) + "\n"
        for (i, (line, left)) in up.enumerated() {
            text += "$ jhsim \(line)\n"
            let right = i < fx.count ? fx[i].1 : []
            for k in 0..<max(left.count, right.count) {
                text += cut(k < left.count ? left[k] : "") + " | " + (k < right.count ? right[k] : "") + "\n"
            }
        }
        return text
    }
}
