import Foundation
import JHMachine
import Testing
@testable import JHLab

/// `jhsim quirks --show N`: every registered quirk has a scenario, and in each the two
/// profiles differ the way the quirk's summary says — not merely run.
@Suite(.serialized) struct QuirkShowTests {
    typealias Run = [(String, [String])]

    /// What the command whose line starts with `prefix` printed (its last occurrence).
    static func output(_ run: Run, _ prefix: String) -> String {
        (run.last { $0.0.hasPrefix(prefix) }?.1 ?? []).joined(separator: "\n") + "\n"
    }

    /// The row of CPU `n` in the last `cpus` table.
    static func cpuRow(_ run: Run, _ n: Int) -> String {
        output(run, "cpus").split(separator: "\n").first { $0.hasPrefix("\(n) ") }.map(String.init) ?? ""
    }

    /// The quirk as its summary describes it: `up` is the upstream run, `fx` the fixed one.
    static func showsTheQuirk(_ q: Quirk, up: Run, fx: Run) -> Bool {
        func o(_ r: Run, _ p: String) -> String { output(r, p) }
        switch q {
        case .archMismatchReturnsSuccess:
            // returns 0 and creates nothing; fixed refuses
            return o(up, "cell create").hasSuffix("→ exit 0\n") && !o(up, "cell list").contains("tiny-demo")
                && o(fx, "cell create").contains("Invalid argument")
        case .pciClaimLeaksOnFailedCreate:
            return o(up, "cat").contains("jailhouse-pci-stub") && !o(fx, "cat").contains("jailhouse-pci-stub")
                && o(up, "cell create").contains("Cannot allocate memory") && o(fx, "cell create").contains("Cannot allocate memory")
        case .createRollbackOnlinesAllCPUs:
            // the admin-offlined CPU 2 comes back online upstream only
            return cpuRow(up, 2).contains("online  online") && cpuRow(fx, 2).contains("offline  offline")
        case .disableNotSideEffectFree:
            return o(up, "disable").contains("busy") && o(fx, "disable").contains("busy")
                && !o(up, "cell list").contains("tiny-demo") && o(fx, "cell list").contains("tiny-demo")
        case .destroyAddCPUFailureOnlyLogged:
            return cpuRow(up, 2).contains("offline") && cpuRow(fx, 2).contains("offline")
                && o(up, "disable").contains("busy") && o(fx, "disable") == "→ exit 0\n"
        case .startErrorLeavesTargetSuspended:
            return cpuRow(up, 2).contains("suspended") && cpuRow(fx, 2).contains("parked")
        case .noConfigLengthCheck:
            // upstream hands the short config to the hypervisor after taking CPU 2
            let upBrief = o(up, "trace --brief"), fxBrief = o(fx, "trace --brief")
            return upBrief.contains("hypercall JAILHOUSE_HC_CELL_CREATE") && upBrief.contains("remove_cpu(2)")
                && !fxBrief.contains("JAILHOUSE_HC_CELL_CREATE") && !fxBrief.contains("remove_cpu")
        case .sysfsErrorPathBadRelease:
            return o(up, "enable").contains("Oops") && !o(fx, "enable").contains("Oops")
                && o(fx, "enable").contains("Cannot allocate memory")
        case .rootIDFromSystemConfig:
            return o(up, "cell create").contains("File exists") && o(fx, "cell create") == "→ exit 0\n"
        case .commRevDoesNotShortCircuit:
            return o(up, "cell destroy").contains("never returns") && o(fx, "cell destroy") == "→ exit 0\n"
        case .unknownIoctlIsEINVAL:
            return o(up, "ioctl").contains("Invalid argument") && o(fx, "ioctl").contains("Inappropriate ioctl for device")
        case .ioapicPinBaseLeaks:
            func pool(_ r: Run) -> [Int] {
                r.filter { $0.0.hasPrefix("cat") }.compactMap { $0.1.first.flatMap { Int($0) } }
            }
            let u = pool(up), f = pool(fx)
            return u.count == 2 && f.count == 2 && u[1] == u[0] + 1 && f[1] == f[0]
                && o(up, "cell create").contains("Invalid argument") && o(fx, "cell create").contains("Invalid argument")
        case .prepareRootLeavesErrPtr:
            return up[1].1.joined().contains("Oops") && fx[1].1 == ["→ exit 0"]
        case .virtualPCIHostNeedsOverlay:
            return !o(up, "cat").contains("0000:00:0f.0") && o(fx, "cat").contains("0000:00:0f.0")
        }
    }

    @Test(arguments: Quirk.allCases)
    func everyQuirkHasAScenarioThatShowsItsDifference(_ q: Quirk) throws {
        guard standardBoxAvailable else { return }
        let s = try #require(QuirkShow.scenario(q), "quirk \(q.number) has no scenario")
        #expect(!s.lines.isEmpty)
        let up = try QuirkShow.run(q, profile: "upstream", factory: .standard)
        let fx = try QuirkShow.run(q, profile: "fixed", factory: .standard)
        #expect(up.count == s.lines.count && fx.count == s.lines.count)
        #expect(Self.showsTheQuirk(q, up: up, fx: fx),
                "quirk \(q.number): upstream\n\(up.map { "$ \($0.0)\n" + $0.1.joined(separator: "\n") }.joined(separator: "\n"))\nfixed\n\(fx.map { "$ \($0.0)\n" + $0.1.joined(separator: "\n") }.joined(separator: "\n"))")
        // Each profile alone does not show it: the check needs the difference.
        #expect(!Self.showsTheQuirk(q, up: fx, fx: fx) && !Self.showsTheQuirk(q, up: up, fx: up),
                "quirk \(q.number)'s check passes without a difference between the profiles")
    }

    @Test func theShowNamesItsHandMadeConfigsAndTheCLIAgreesWithTheRegistry() throws {
        guard standardBoxAvailable else { return }
        let lab = TestLab(factory: .standard)
        let one = lab.ok("quirks --show 1").stdout
        #expect(one.contains("Hand-made config tiny-demo-arm64: tiny-demo with architecture arm64"))
        #expect(one.contains("$ jhsim cell create tiny-demo-arm64\n"))
        // The hand-made names exist only inside the show, never in a lab.
        lab.ok("lab init")
        lab.ok("enable")
        let r = lab.run("cell create tiny-demo-arm64")
        #expect(r.status == 1 && r.stderr.contains("No such file or directory"))
        // Every number `jhsim quirks` lists can be shown, and no other.
        let listed = lab.ok("quirks").stdout
        for q in Quirk.allCases {
            #expect(listed.contains("  \(q.number)".padding(toLength: 6, withPad: " ", startingAt: 0) + q.trigger))
            #expect(lab.run("quirks --show \(q.number)").status == 0)
        }
        #expect(lab.run("quirks --show 10").status == 1)
    }

    @Test func rawIoctlIsACommandWithUsageErrors() throws {
        guard standardBoxAvailable else { return }
        let lab = TestLab(factory: .standard)
        lab.ok("lab init --executor inline")
        let r = lab.run("ioctl 0x1234")
        #expect(r.status == 1 && r.stderr == "ioctl(0x1234): Invalid argument\n")
        #expect(lab.run("trace --brief").stdout.contains("ioctl"))
        // Replaying the lab (the next command loads it) gives the same machine.
        #expect(lab.ok("lab info").stdout.contains("jhsim ioctl 0x1234 → EINVAL"))
        for bad in ["ioctl", "ioctl x", "ioctl 0x1ffffffff", "ioctl 1 2"] {
            #expect(lab.run(bad).status == 1, "\(bad)")
        }
    }
}
