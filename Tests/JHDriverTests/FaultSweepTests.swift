import JHABI
import JHConfig
@testable import JHDriver
import JHHypervisor
import JHLinux
import JHMachine
import Foundation
import Testing

/// A systematic single-fault sweep: run a scenario once to learn which fault sites it
/// reaches and how often, then run it again once per (site, hit number) with exactly that
/// hit failing, and check after every operation that the box is consistent and that a
/// failed operation left nothing behind.
@Suite struct FaultSweepTests {
    /// The operations of the sweep scenario; each returns the ioctl result.
    static var steps: [(String, (Rig) throws -> Int64)] { [
        ("enable", { try $0.enable() }),
        ("create tiny-demo", { try $0.create("tiny-demo") }),
        ("destroy tiny-demo", { try $0.destroy("tiny-demo") }),
        ("create pci-demo", { try $0.create("pci-demo") }),
        ("start pci-demo", { try $0.start("pci-demo") }),
        ("load pci-demo", { try $0.tool.cellLoad(.name("pci-demo"), images: [.init(string: "hello")]) }),
        ("destroy pci-demo", { try $0.destroy("pci-demo") }),
        ("create smp-demo", { try $0.create("smp-demo") }),
        ("destroy smp-demo", { try $0.destroy("smp-demo") }),
        ("disable", { try $0.disable() }),
    ] }

    /// Every site the scenario reaches, with its number of hits, in a fixed order.
    static func reachedSites(profile: Profile) throws -> [(String, Int)] {
        let r = try Rig(profile: profile)
        r.machine.faults.countsSites = true
        for (_, step) in steps { _ = try step(r) }
        return r.machine.faults.siteHits.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    static func sweep(profile: Profile) throws -> (runs: Int, failures: [String]) {
        let catalog = SimulatedBox.faultCatalog
        var failures: [String] = []
        var runs = 0
        for (site, hits) in try reachedSites(profile: profile) {
            guard catalog.contains(where: { $0.name == site }) else { continue }
            for nth in 1...hits {
                runs += 1
                let rule = "\(site):nth=\(nth)"
                let r = try Rig(profile: profile)
                try r.inject(rule)
                for (name, step) in steps {
                    let before = r.snapshot()
                    let result: Int64
                    do {
                        result = try step(r)
                    } catch {
                        // An oops of a quirk the profile reproduces (9, 15) is the quirk.
                        if let q = (error as? SimulationHang)?.oops?.quirk, profile.has(q) { break }
                        failures.append("\(rule): \(name) hangs: \(error)")
                        break
                    }
                    var violations = r.box.invariantViolations()
                    if name.hasPrefix("load"), result < 0 {
                        // §8 item 7: a failed SET_LOADABLE may leave the cell loadable with
                        // partial root mappings (remap_to_root_cell aborts midway).
                        violations.removeAll { $0.hasPrefix("loadable region") }
                    }
                    if !violations.isEmpty { failures.append("\(rule): after \(name) → \(result): \(violations)") }
                    // A failed create leaves no cell behind, gives every CPU back and
                    // frees every page (§8 item 7). The fixed profile restores the box
                    // exactly; upstream may keep PCI claims and online state (quirks 2, 3).
                    if result < 0, name.hasPrefix("create") {
                        let after = r.snapshot()
                        let same = profile == .fixed ? after == before
                            : (after.driverCells, after.hvCells, after.owners, after.poolUsed, after.rootCPUs)
                                == (before.driverCells, before.hvCells, before.owners, before.poolUsed, before.rootCPUs)
                        if !same { failures.append("\(rule): failed \(name) changed the box:\n  \(before)\n→ \(after)") }
                    }
                }
                if !r.driver.lockIsFree && r.kernel.oops == nil { failures.append("\(rule): jailhouse_lock left held") }
            }
        }
        return (runs, failures)
    }

    @Test(arguments: [Profile.upstream, .fixed])
    func everySingleFaultLeavesAConsistentBox(profile: Profile) throws {
        let (runs, failures) = try Self.sweep(profile: profile)
        #expect(runs > 50, "the scenario reaches many fault sites")
        if ProcessInfo.processInfo.environment["JHSIM_SWEEP_REPORT"] != nil { print("fault sweep (\(profile.name)): \(runs) runs") }
        #expect(failures.isEmpty, "\(failures.count) of \(runs) runs: \(failures.prefix(8).joined(separator: "\n"))")
    }
}
