import Foundation
import JHABI
import JHMachine

/// `jhsim quirks --show N`: a short scenario per quirk, run on a fresh 4-CPU box in both
/// profiles, with each command's output side by side. The quirk numbering is the
/// registry's (`Quirk.number`, jailhouse-behaviour.md §6.2).
enum QuirkShow {
    /// The scenario lines (built-in configs and fault rules only). Quirks that need a
    /// hand-made config have none; `jhsim quirks` says how to trigger them.
    static func scenario(_ q: Quirk) -> [String]? {
        switch q {
        case .createRollbackOnlinesAllCPUs:
            ["enable", "cpu offline 2", "cell create linux-x86-demo --fault cpu_down:cpu=3:nth=1:errno=EBUSY", "cpus"]
        case .destroyAddCPUFailureOnlyLogged:
            ["enable", "cell create tiny-demo", "cell destroy tiny-demo --fault cpu_up:cpu=2:nth=1", "cpus", "disable"]
        case .startErrorLeavesTargetSuspended:
            ["enable", "cell create tiny-demo", "cell shutdown tiny-demo",
             "cell start tiny-demo --fault hv_paging_unmap:state=start:nth=1", "cpus"]
        case .sysfsErrorPathBadRelease:
            ["enable --fault sysfs_create:state=/sys/devices/jailhouse/cells/0/statistics/cpu1:nth=1", "cell list"]
        case .prepareRootLeavesErrPtr:
            ["enable --fault cell_kzalloc:nth=1", "enable", "cell list"]
        default:
            nil
        }
    }

    /// Runs the scenario of `q` in one profile: per command, its line and what it printed.
    static func run(_ q: Quirk, profile: String, factory: BoxFactory) throws -> [(String, [String])] {
        guard let lines = scenario(q) else { return [] }
        let session = try LabSession(parameters: BoxParameters(cpus: 4, seed: 0, profile: profile, executor: .inline),
                                     factory: factory)
        let runner = LabCommandRunner(factory: factory, environment: LabEnvironment(currentDirectory: "/"))
        var out: [(String, [String])] = []
        for line in lines {
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
        guard scenario(q) != nil else {
            return text + "No built-in scenario: it needs a config made by hand (see the trigger).\n"
        }
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
