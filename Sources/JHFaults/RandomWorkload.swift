import JHABI
import JHConfig
import JHDriver
import JHLab
import JHMachine

/// `faults campaign --workload random` (issue 10, item 12): each run draws the command
/// sequence itself from its seed, as VOPR and FoundationDB's simulator draw the
/// workload and not only the faults — enable, cell create/load/start/shutdown/destroy
/// over the built-in demo cell configs, the admin's `cpu online|offline`, disable, and
/// signals to processes that wait (a shutdown or destroy of a cell whose inmate does not
/// answer).
///
/// The draw keeps a rough model of the box (enabled or not, which cells exist and how far
/// they got) so that most commands are ones an operator could mean; the simulator, not
/// the model, decides what really happens, and commands the model gets wrong simply fail
/// with their errno, which is part of the workload too.
public enum RandomWorkload {
    /// Inmates a `cell start` may choose (`--inmate K`); the cell config's default is
    /// drawn as often as each of them.
    static let inmates = ["cooperative", "passive", "locking", "unresponsive", "crashing", "comm-rev-mismatch"]
    /// Signal delays: during the syscall's first steps, mid-wait, much later.
    static let signalDelays: [UInt64] = [1_000, 200_000, 20_000_000]

    /// The workload of one run: a scenario text for a 4-CPU qemu-x86 box on `profile`,
    /// with 6…`maxCommands` commands, each drawn from `seed`. Same seed, same text.
    public static func draw(seed: UInt64, profile: String, maxCommands: Int = 24) -> String {
        var rng = SplitMix64(seed: seed ^ 0x5157_4F52_4B4C_4F41)
        func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(max(n, 1))) }
        func chance(_ percent: Int) -> Bool { pick(100) < percent }

        struct Cell { var name: String; var loaded = false; var running = false }
        var enabled = false
        var cells: [Cell] = []
        var offline: [Int] = []
        var lines = ["# A random workload drawn by `jhsim faults campaign --workload random`.",
                     "machine cpus=4 seed=\(seed % 1_000_000) profile=\(profile) executor=inline"]
        let count = 6 + pick(max(maxCommands - 5, 1))
        for _ in 0..<count {
            if !enabled {
                // Mostly enable; now and then something that must be refused while disabled.
                if chance(85) { lines.append("enable"); enabled = true; continue }
            }
            let names = BuiltinConfigs.cellNames
            switch pick(100) {
            case 0..<24:
                let name = names[pick(names.count)]
                lines.append("cell create \(name)")
                if enabled, !cells.contains(where: { $0.name == name }) { cells.append(Cell(name: name)) }
            case 24..<34:
                let target = cells.isEmpty ? names[pick(names.count)] : cells[pick(cells.count)].name
                lines.append("cell load \(target) -s hello")
                if let k = cells.firstIndex(where: { $0.name == target }) { cells[k].loaded = true; cells[k].running = false }
            case 34..<52:
                let target = cells.isEmpty ? names[pick(names.count)] : cells[pick(cells.count)].name
                let inmate = pick(inmates.count + 1)
                lines.append("cell start \(target)" + (inmate < inmates.count ? " --inmate \(inmates[inmate])" : ""))
                if let k = cells.firstIndex(where: { $0.name == target }) { cells[k].running = true }
            case 52..<62:
                let target = cells.isEmpty ? names[pick(names.count)] : cells[pick(cells.count)].name
                if chance(40) { lines.append("signal \(signalDelays[pick(signalDelays.count)])") }
                lines.append("cell shutdown \(target)")
                if let k = cells.firstIndex(where: { $0.name == target }) { cells[k].running = false }
            case 62..<78:
                let target = cells.isEmpty ? names[pick(names.count)] : cells[pick(cells.count)].name
                if chance(40) { lines.append("signal \(signalDelays[pick(signalDelays.count)])") }
                lines.append("cell destroy \(target)")
                cells.removeAll { $0.name == target }
            case 78..<86:
                let cpu = 1 + pick(3)
                lines.append("cpu offline \(cpu)")
                if !offline.contains(cpu) { offline.append(cpu) }
            case 86..<94:
                let cpu = offline.isEmpty || chance(20) ? 1 + pick(3) : offline[pick(offline.count)]
                lines.append("cpu online \(cpu)")
                offline.removeAll { $0 == cpu }
            default:
                if chance(30) { lines.append("signal \(signalDelays[pick(signalDelays.count)])") }
                lines.append("disable")
                if enabled, cells.allSatisfy({ !$0.running }) { enabled = false; cells = [] }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The workload with what its fault-free run did written after each command (`expect
    /// ok`, `expect errno E`, `expect hang`), so `jhsim run FILE` replays it and checks
    /// that every command ends as it did here.
    static func annotated(_ text: String, baseline: RunResult) -> String {
        var out: [String] = []
        var command = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            out.append(String(line))
            let words = line.split(separator: " ")
            guard let head = words.first, !line.hasPrefix("#"), !["machine", "signal", "expect"].contains(String(head)) else { continue }
            guard command < baseline.transcript.count else { continue }
            let shown = baseline.transcript[command].components(separatedBy: " → ").last ?? ""
            command += 1
            if shown == "ok" {
                out.append("expect ok")
            } else if shown == "hang" {
                out.append("expect hang")
            } else if Errno(name: shown) != nil {
                out.append("expect errno \(shown)")
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// How reports name the scenario of a random-workload campaign (its digest is this
    /// text's: the workloads themselves are a function of the seed).
    static let name = "(random workloads)"

    /// The scenario file name a run's workload is saved under.
    static func fileName(seed: UInt64, run: Int) -> String { "workload-\(seed)-\(run).jhsim" }
}

extension Campaign.Prepared {
    /// Run `index` of a random-workload campaign: draw the workload from the run's seed,
    /// run it fault-free (its own findings are the workload's: judged after every command
    /// like any scenario), draw a plan over the sites that run reached, and run the
    /// workload under it, judged against the fault-free run.
    func randomRun(_ index: Int) throws(LabError) -> FaultRunRecord {
        let runSeed = Campaign.runSeed(campaign.seed, index: index)
        let profile = runner.profileName
        let text = RandomWorkload.draw(seed: runSeed, profile: profile)
        let file = RandomWorkload.fileName(seed: campaign.seed, run: index)
        let base = runner.target.baseDirectory
        var r = runner
        r.target = FaultScenario(scenario: try Scenario.parse(text, file: file, factory: .standard), file: file,
                                 baseDirectory: base, text: text)
        let (prepared, baseline) = try r.prepared()
        var known = KnownHits(sites: campaign.sites)
        known.merge(baseline.checkedSites)
        let plan = known.order.isEmpty ? FaultPlan()
            : Campaign.draw(seed: runSeed, known: known, catalog: SimulatedBox.faultCatalog, maxRules: campaign.rulesPerRun)
        let faulted = try prepared.run(plan, seed: runSeed)
        // The workload's own findings (fault-free) come first; the faulted run is judged
        // against the fault-free one, so nothing is counted twice.
        let failures = baseline.failures + faulted.failures
        var rec = FaultRunRecord(index: index, seed: runSeed, plan: plan,
                                 result: faulted, reproducer: prepared.reproducer(plan, seed: runSeed))
        if !failures.isEmpty {
            let workload = RandomWorkload.annotated(text, baseline: baseline)
            // A finding of the fault-free workload is shown by a sweep of it, which stops at
            // (and lists) the fault-free run's failures; a faulted one by its plan's run.
            let sweep = (["jhsim", "faults", "sweep", prepared.target.path ?? file]
                + (prepared.settings.profile.map { ["--profile", $0] } ?? [])).map(ScenarioLexer.quoteIfNeeded).joined(separator: " ")
            rec.failing = FailingRun(plan: plan, seed: runSeed, failures: failures,
                                     reproducer: baseline.failures.isEmpty ? prepared.reproducer(plan, seed: runSeed) : sweep)
            rec.workload = workload
            if campaign.shrink, !faulted.failures.isEmpty, baseline.failures.isEmpty,
               let s = try Shrinker(runner: prepared).shrink(plan, seed: runSeed, like: faulted) {
                rec.minimal = FailingRun(plan: s.plan, seed: runSeed, failures: s.failures,
                                         reproducer: prepared.reproducer(s.plan, seed: runSeed))
                rec.shrinkRuns = s.runs
            }
        }
        return rec
    }
}

extension RandomWorkload {
    /// `jhsim faults workload --seed S --run I`: run I's workload of `faults campaign
    /// --workload random --seed S`, annotated with its fault-free outcomes, as the
    /// scenario file its reproducer names.
    static func scenario(campaignSeed: UInt64, run: Int, profile: String, directory: String) throws(LabError) -> String {
        let runSeed = Campaign.runSeed(campaignSeed, index: run)
        let text = draw(seed: runSeed, profile: profile)
        let file = fileName(seed: campaignSeed, run: run)
        let target = FaultScenario(scenario: try Scenario.parse(text, file: file, factory: .standard), file: file,
                                   baseDirectory: directory, text: text)
        let runner = FaultRunner(target: target, settings: RunSettings(), environment: LabEnvironment(currentDirectory: directory))
        return annotated(text, baseline: try runner.prepared().1)
    }
}
