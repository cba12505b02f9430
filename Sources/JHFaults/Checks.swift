import JHABI
import JHDriver
import JHMachine

/// The classes of finding a fault run can have, with the exit status the CLI gives each
/// (tigerbeetle's VOPR habit: one code per class, so scripts can tell them apart). A run
/// with none is clean (exit 0); 1 is a usage error and 8 a vacuous sweep or campaign
/// (`Vacuity`), which are not per-run classes.
public enum FailureClass: String, Sendable, Hashable, CaseIterable, Codable {
    /// A §8 invariant broke, `jailhouse_lock` was left held, or a failed CELL_CREATE
    /// left something behind, and no quirk of the run's profile explains it.
    case invariant
    /// A command never returned (the simulator stopped a wait that could not end) where
    /// the fault-free run returned.
    case hang
    /// An `expect` line of the scenario did not hold (in the fault-free run always; under
    /// faults only with `--check-expect`).
    case expectation
    /// The run died of a signal (a Swift trap): only seen with `--isolate`, where every
    /// run is a child process; in-process a trap would end the whole tool.
    case trap
    /// An invariant broke in a way a quirk of the run's profile explains (upstream
    /// Jailhouse behaves so); the finding names the quirk's number and name.
    case quirk
    /// After the faulted part, with injection stopped, the box did not recover: a cell
    /// could not be destroyed, `disable` failed, or a CPU could not come back online.
    case liveness

    public var exitStatus: Int32 {
        switch self {
        case .invariant: 2
        case .hang: 3
        case .expectation: 4
        case .trap: 5
        case .quirk: 6
        case .liveness: 7
        }
    }

    /// Worst first: a trap beats a broken invariant, then a box that does not recover, a
    /// hang, a missed expectation, and last documented upstream behaviour.
    public var severity: Int {
        switch self {
        case .trap: 6
        case .invariant: 5
        case .liveness: 4
        case .hang: 3
        case .expectation: 2
        case .quirk: 1
        }
    }

    /// The worst of some classes, nil for none (a clean run).
    public static func worst<S: Sequence>(_ classes: S) -> FailureClass? where S.Element == FailureClass {
        classes.max { $0.severity < $1.severity }
    }
}

/// Why a sweep or campaign tested nothing, or nothing it could trust: it then exits 8
/// and says so instead of reporting "no failures".
public enum Vacuity: Sendable, Hashable {
    /// The fault-free run fails by itself (an `expect` line, an invariant outside any
    /// hang): nothing under faults could be judged against it.
    case baselineFails
    /// The scenario runs no command that reaches a fault site.
    case noSitesReached
    /// `--sites` names only sites the scenario never reaches.
    case sitesNotReached([String])
    /// Zero runs were made (for example `--runs` of a campaign whose plans are all empty).
    case noRuns

    public static let exitStatus: Int32 = 8

    public var reason: String {
        switch self {
        case .baselineFails: "the fault-free run already fails, so no fault could be judged"
        case .noSitesReached: "the scenario reaches no fault site, so there was nothing to inject"
        case .sitesNotReached(let s): "the scenario never reaches \(s.joined(separator: ", ")), so --sites left nothing to inject"
        case .noRuns: "no run was made"
        }
    }
}

/// One thing a checker found after one command.
public struct Failure: Sendable, Hashable {
    public var kind: FailureClass
    /// 1-based index of the command (or of the command before the `expect` line); 0 for
    /// the liveness phase after the scenario.
    public var command: Int
    /// The command line as the scenario spells it.
    public var commandLine: String
    /// The scenario line number (0 for the liveness phase).
    public var line: Int
    public var message: String
    /// The quirk of the run's profile that explains the finding (class `quirk`, or a
    /// liveness failure the quirk causes).
    public var quirk: Quirk?

    public init(kind: FailureClass, command: Int, commandLine: String, line: Int, message: String, quirk: Quirk? = nil) {
        self.kind = kind; self.command = command; self.commandLine = commandLine; self.line = line
        self.message = message; self.quirk = quirk
    }

    /// What shrinking keeps: the class, the scenario line, and the message with its
    /// numbers blanked out (a different address is the same finding; another invariant
    /// or another command is not).
    public var signature: String {
        let shape = String(message.map { $0.isNumber ? "#" : $0 })
        return "\(kind.rawValue)|\(line)|\(quirk.map { "\($0.number)" } ?? "")|\(shape)"
    }
}

/// The checks that run after every command of a fault run. They read the whole box and
/// live apart from the code they check (tigerbeetle's state checker).
enum BoxChecks {
    /// - Parameters:
    ///   - ioctl: the ioctl the command issued (nil for views, hotplug and inmate choices).
    ///   - failedWith: the errno of a failed ioctl.
    /// - Returns: one message per violation.
    ///   - partialLoadable: some earlier or this command left a cell loadable with partial
    ///     root mappings in a documented way (see `FaultRunner`).
    ///   - failedUps: CPUs whose `cpu_up` (or hotplug rollback) had a fault injected during
    ///     the command: §8 item 4 lets a failed `add_cpu` leave its CPU offline in the root.
    static func violations(box: SimulatedBox, ioctl: IoctlCommand?, failedWith: Errno?,
                           before: BoxSnapshot, after: BoxSnapshot, failedUps: CPUSet = CPUSet(),
                           configs: [SeenCellConfig] = [], partialLoadable: PartialLoadable? = nil) -> [InvariantFinding] {
        var v = box.invariantFindings()
        let profile = box.machine.profile
        // Quirk 8: the hypervisor does not check memory overlap between non-root cells,
        // and destroying (or rolling back) one of two overlapping cells remaps the shared
        // range to root (remap_to_root_cell) while the other still owns it; creating a
        // cell over another's range unmaps it from root even while that other cell is
        // loadable (its LOADABLE region should stay in root until it starts). Exactly those
        // ranges (inside a region of some other cell config this run created) are named
        // after quirk 8 when the quirk registry has it, else left out as documented.
        let overlapQuirk = Quirk.allCases.first { $0.number == 8 }
        v = v.compactMap { f in
            guard f.quirk == nil, let (phys, id) = Self.overlapRegion(f.message),
                  let owner = box.driver.cells.first(where: { $0.id.rawValue == id }),
                  configs.contains(where: { $0.name != owner.name && $0.ranges.contains { $0.contains(phys) } }) else { return f }
            return overlapQuirk.map { InvariantFinding(f.message, quirk: $0) }
        }
        if let partialLoadable {
            // §8 item 7: a failed SET_LOADABLE may leave the cell loadable with partial
            // root mappings (remap_to_root_cell aborts midway) — documented, left out; and
            // upstream's failed CELL_START (quirk 6's error path) leaves the LOADABLE
            // regions it already unmapped gone from root — named after quirk 6.
            v = v.compactMap { f in
                guard f.quirk == nil, f.message.hasPrefix("loadable region") else { return f }
                return partialLoadable.quirk.map { InvariantFinding(f.message, quirk: $0) }
            }
        }
        if !box.driver.lockIsFree, !v.contains(where: { $0.message.hasPrefix("jailhouse_lock") }) {
            v.append(InvariantFinding("jailhouse_lock is held after the command returned"))
        }
        if ioctl == .cellCreate, failedWith != nil {
            var (b, a) = (before, after)
            // A rollback add_cpu that fails leaves the CPU offline (but back in the root):
            // allowed by §8 item 4 in both profiles, so those CPUs' online bits are not compared.
            // The fixed profile keeps such a CPU in offlined_cpus (owed back at disable).
            b.online.subtract(failedUps); a.online.subtract(failedUps)
            b.offlined.subtract(failedUps); a.offlined.subtract(failedUps)
            if a != b {
                let changed = "failed CELL_CREATE changed the box:\n      before: \(before)\n      after:  \(after)"
                // Upstream restores only part of the box: it keeps PCI claims (quirk 2, with
                // the stub's dynamic ids in kmalloc) and onlines admin-offlined CPUs, leaving
                // a failed rollback's bit in offlined_cpus (quirk 3). A difference only those
                // quirks explain is named after them; anything else is a violation.
                let q2 = profile.has(.pciClaimLeaksOnFailedCreate), q3 = profile.has(.createRollbackOnlinesAllCPUs)
                let claims = a.claimed != b.claimed || a.kmallocLive != b.kmallocLive
                let cpus = a.online != b.online || a.offlined != b.offlined
                if a.upstreamRestored != b.upstreamRestored || (claims && !q2) || (cpus && !q3) {
                    v.append(InvariantFinding(changed))
                } else {
                    if claims {
                        v.append(InvariantFinding("failed CELL_CREATE kept PCI claims \(a.claimed) (before: \(b.claimed))",
                                                  quirk: .pciClaimLeaksOnFailedCreate))
                    }
                    if cpus {
                        v.append(InvariantFinding("failed CELL_CREATE left online \(a.online.rangeList) offlined_cpus \(a.offlined.rangeList) (before: online \(b.online.rangeList) offlined_cpus \(b.offlined.rangeList))",
                                                  quirk: .createRollbackOnlinesAllCPUs))
                    }
                }
            }
        }
        return v
    }
}

/// A cell left loadable with partial root mappings by a failed SET_LOADABLE (documented
/// in §8 item 7, no quirk) or by upstream's failed CELL_START (quirk 6).
struct PartialLoadable {
    var quirk: Quirk?
}

/// A cell config some command of the run tried to create: its name and physical ranges.
struct SeenCellConfig {
    var name: String
    var ranges: [Range<UInt64>]
}

extension BoxChecks {
    /// Parses the hypervisor checker's root-mapping findings: "region 0xADDR of cell ID is
    /// still mapped in root" and "loadable region 0xADDR of cell ID is not mapped in root".
    static func overlapRegion(_ m: String) -> (UInt64, UInt32)? {
        var words = m.split(separator: " ")
        if m.hasPrefix("loadable region 0x"), m.hasSuffix(" is not mapped in root") {
            words.removeFirst()
        } else if !(m.hasPrefix("region 0x") && m.hasSuffix(" is still mapped in root")) {
            return nil
        }
        guard words.count >= 5, let phys = UInt64(words[1].dropFirst(2), radix: 16), let id = UInt32(words[4]) else { return nil }
        return (phys, id)
    }
}

