import Foundation
import JHABI
import JHConfig
import JHDriver
import JHLab
import JHMachine

/// A scenario ready for fault runs: its parsed lines, where its files resolve, and how
/// reproducers name it.
public struct FaultScenario: Sendable {
    public var scenario: Scenario
    /// The scenario as the user named it; nil for the built-in one.
    public var file: String?
    /// Relative file names in the scenario resolve against this directory.
    public var baseDirectory: String

    public init(scenario: Scenario, file: String?, baseDirectory: String) {
        self.scenario = scenario; self.file = file; self.baseDirectory = baseDirectory
    }

    /// The built-in scenario (`DefaultScenario`).
    public static func builtin(baseDirectory: String) throws(LabError) -> FaultScenario {
        FaultScenario(scenario: try Scenario.parse(DefaultScenario.text, file: DefaultScenario.name, factory: .standard),
                      file: nil, baseDirectory: baseDirectory)
    }

    /// Reads and parses a scenario file (a relative path resolves against `directory`).
    public static func load(_ file: String, currentDirectory: String) throws(LabError) -> FaultScenario {
        let path = file.hasPrefix("/") ? file : (currentDirectory.hasSuffix("/") ? currentDirectory : currentDirectory + "/") + file
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw LabError("cannot read scenario \(file)")
        }
        return FaultScenario(scenario: try Scenario.parse(text, file: file, factory: .standard), file: file,
                             baseDirectory: (path as NSString).deletingLastPathComponent)
    }
}

/// How every run of one sweep, campaign or shrink is set up.
public struct RunSettings: Sendable, Hashable {
    /// Overrides the scenario's `machine profile=`.
    public var profile: String?
    /// Treat failed `expect` lines under faults as failures (class `expectation`).
    public var checkExpectations = false

    public init(profile: String? = nil, checkExpectations: Bool = false) {
        self.profile = profile; self.checkExpectations = checkExpectations
    }
}

/// What one run of a scenario under a plan found.
public struct RunResult: Sendable {
    public var plan: FaultPlan
    public var seed: UInt64
    public var failures: [Failure]
    /// How many hits each rule failed.
    public var fired: [Int]
    /// Every fault site the run checked, in order (only when counting was asked for).
    public var checkedSites: [FaultSite]
    public var commands: Int
    /// Indices (1-based) of commands that never returned.
    public var hangs: [Int]
    /// One line per command: `$ jhsim LINE → ok|ERRNO|hang`.
    public var transcript: [String]
    public var traceHash: String

    /// The worst class of failure, nil for a clean run.
    public var worst: FailureClass? { failures.map(\.kind).max { $0.severity < $1.severity } }
}

/// Runs a scenario with a fault plan armed over the whole run, checking the box after
/// every command.
///
/// Every run builds a fresh box on the inline executor (both executors give the same
/// trace; the inline one is fast and spawns no threads), so a run is a pure function of
/// the scenario, the plan, the settings and the seed.
public struct FaultRunner: Sendable {
    public var target: FaultScenario
    public var settings: RunSettings
    /// Commands (1-based) at which the fault-free run already hangs: expected there.
    public var expectedHangs: Set<Int> = []
    /// A researcher's own checks, run after every command next to the built-in ones;
    /// each returned line counts as an `invariant` failure (library use; the CLI has none).
    public var extraChecks: (@Sendable (SimulatedBox) -> [String])?
    /// When set, every faulted run is this `jhsim` executable running the run's reproducer
    /// (`--isolate`), so a Swift trap becomes a reported failure (class `trap`) instead
    /// of the end of the sweep.
    public var isolatedExecutable: String?
    var labRunner: LabCommandRunner

    public init(target: FaultScenario, settings: RunSettings, environment: LabEnvironment) {
        self.target = target; self.settings = settings
        labRunner = LabCommandRunner(factory: .standard, environment: environment)
    }

    public var profileName: String { settings.profile ?? target.scenario.parameters.profile }

    /// This runner after a fault-free run has shown where the scenario hangs by itself
    /// (those hangs are expected under faults too), with that run's result.
    public func prepared() throws(LabError) -> (FaultRunner, RunResult) {
        var r = self
        let base = try run(FaultPlan(), baseline: true, countSites: true)
        r.expectedHangs = Set(base.hangs)
        return (r, base)
    }

    /// - Parameters:
    ///   - baseline: the fault-free run; its failed expectations always count.
    ///   - countSites: record every checked site (for sweeps and campaigns).
    /// - Throws: `LabError` when the machine cannot be built.
    public func run(_ plan: FaultPlan, seed: UInt64 = 0, baseline: Bool = false, countSites: Bool = false) throws(LabError) -> RunResult {
        if let exe = isolatedExecutable, !baseline, !countSites {
            return try IsolatedRun(executable: exe, directory: labRunner.environment.currentDirectory)
                .run(plan, seed: seed, argv: reproducerWords(plan, seed: seed))
        }
        var p = target.scenario.parameters
        if let profile = settings.profile { p.profile = profile }
        p.executor = .inline
        let session = try LabSession(parameters: p, factory: .standard)
        guard let box = session.simulatedBox else { throw LabError("fault runs need the standard box") }
        // The checks only look at injections; keep the whole trace only when the
        // scenario itself shows it (an `explain` step or a `trace` command).
        session.machine.trace.keptLayers = [.fault]
        session.machine.traceLevel = Self.traceLevel(for: target.scenario)
        var injector = FaultInjector(rules: plan.rules, seed: seed)
        injector.countsSites = countSites
        session.armedFaults = injector

        var failures: [Failure] = []
        var transcript: [String] = []
        var hangs: [Int] = []
        var before = BoxSnapshot(box)
        var pendingSignal: UInt64? = nil
        var command = 0
        var configs: [SeenCellConfig] = []
        var partialLoadable = false
        var last: (status: Int32, errno: Errno?, stdout: String, text: String)? = nil
        let checkExpect = baseline || settings.checkExpectations
        run: for line in target.scenario.lines {
            switch line.step {
            case .say, .explain: continue
            case .signal(let ns): pendingSignal = ns
            case .command(let argv, let text):
                command += 1
                if Self.writesFiles(argv) {
                    // Pictures and Chrome traces: thousands of runs must not rewrite them,
                    // and they change nothing on the machine.
                    transcript.append("$ jhsim \(text) → skipped (writes a file)")
                    last = (0, nil, "", text)
                    continue
                }
                let r = labRunner.runScenarioCommand(argv, text: text, signalAfter: pendingSignal,
                                                     baseDirectory: target.baseDirectory, session: session)
                pendingSignal = nil
                let errno = r.outcome?.errno
                last = (r.status, errno, r.stdout, text)
                let after = BoxSnapshot(box)
                var shown = r.outcome.map { $0.hang != nil ? "hang" : ($0.errno?.name ?? "ok") } ?? (r.status == 0 ? "ok" : "status \(r.status)")
                if r.outcome == nil, r.status != 0 { shown += ": " + r.stderr.trimmingCharacters(in: .whitespacesAndNewlines) }
                transcript.append("$ jhsim \(text) → \(shown)")
                defer { before = after }
                if case .cellCreate(let bytes)? = r.logged?.action, let c = try? CellConfig.decode(Array(bytes)) {
                    configs.append(SeenCellConfig(name: c.name, ranges: c.memoryRegions.filter { $0.size > 0 }.map(\.physRange)))
                }
                if r.outcome?.oops == true, let q = session.box.oops?.quirk, box.machine.profile.has(q) {
                    // A documented upstream quirk oopsed the simulated kernel (quirks 9, 15):
                    // the box is dead from here on, which is the quirk, not a finding.
                    transcript[transcript.count - 1] = "$ jhsim \(text) → oops (quirk \(q.number), \(q.rawValue))"
                    break run
                }
                if let hang = r.outcome?.hang {
                    // The process is stuck inside the ioctl (holding jailhouse_lock, perhaps):
                    // the box is mid-operation, so the between-operations invariants do not apply.
                    hangs.append(command)
                    // The fault-free run records where it hangs; faulted runs expect those.
                    if !baseline && !expectedHangs.contains(command) {
                        failures.append(Failure(kind: .hang, command: command, commandLine: text, line: line.number,
                                                message: "never returns: \(hang)"))
                        // A real process would still be stuck here; nothing after it runs.
                        break run
                    }
                    continue
                }
                // The ioctl the command issued, if any (admin hotplug and inmate choices issue none).
                let ioctl = r.logged?.action.ioctl
                if errno != nil, ioctl == .cellLoad
                    || (ioctl == .cellStart && box.machine.profile.has(.startErrorLeavesTargetSuspended)) {
                    partialLoadable = true
                }
                for v in BoxChecks.violations(box: box, ioctl: ioctl,
                                              failedWith: errno, before: before, after: after,
                                              failedUps: r.logged == nil ? CPUSet() : Self.failedCPUUps(session),
                                              configs: configs, partialLoadable: partialLoadable) {
                    failures.append(Failure(kind: .invariant, command: command, commandLine: text, line: line.number, message: v))
                }
                for v in extraChecks?(box) ?? [] {
                    failures.append(Failure(kind: .invariant, command: command, commandLine: text, line: line.number, message: v))
                }
            case .expect(let e, let text):
                guard checkExpect else { continue }
                if let (expected, got) = e.check(session: session, status: last?.status, errno: last?.errno, stdout: last?.stdout ?? "") {
                    failures.append(Failure(kind: .expectation, command: command, commandLine: last?.text ?? "", line: line.number,
                                            message: "\(text): expected \(expected), got \(got)"))
                }
            }
        }
        let injected = session.armedFaults
        return RunResult(plan: plan, seed: seed, failures: failures, fired: injected.fired,
                         checkedSites: injected.checkedSites, commands: command, hangs: hangs,
                         transcript: transcript, traceHash: session.machine.trace.hashHex)
    }

    /// CPUs whose bring-up had a fault injected during the session's last command (from
    /// the trace: the seam records every injection).
    static func failedCPUUps(_ session: LabSession) -> CPUSet {
        guard let rec = session.records.last else { return CPUSet() }
        var cpus = CPUSet()
        for e in session.machine.trace.events.reversed() {
            if e.seq < rec.firstSeq { break }
            guard e.seq < rec.endSeq, e.kind == MachineTrace.inject, let cpu = e.cpu else { continue }
            if e.text.hasPrefix("cpu_up") || e.text.hasPrefix("cpuhp_rollback") { _ = cpus.insert(cpu) }
        }
        return cpus
    }

    /// The leanest trace level a scenario's fault runs need: `hash` (keeping only the
    /// injections the checks read) unless the scenario shows the trace itself.
    static func traceLevel(for scenario: Scenario) -> TraceLevel {
        for line in scenario.lines {
            switch line.step {
            case .explain:
                return .full
            case .command(let argv, _):
                let words = argv.first == "jhsim" ? Array(argv.dropFirst()) : argv
                if words.first == "trace" && !writesFiles(argv) { return .full }
            default:
                break
            }
        }
        return .hash
    }

    /// `draw …` and `trace --chrome FILE` write files and only look at the machine.
    static func writesFiles(_ argv: [String]) -> Bool {
        let words = argv.first == "jhsim" ? Array(argv.dropFirst()) : argv
        return words.first == "draw" || (words.first == "trace" && words.contains { $0 == "--chrome" || $0.hasPrefix("--chrome=") })
    }

    /// The command that reproduces a run of `plan` (tigerbeetle: print how to get it back).
    public func reproducer(_ plan: FaultPlan, seed: UInt64) -> String {
        (["jhsim"] + reproducerWords(plan, seed: seed)).map(ScenarioLexer.quoteIfNeeded).joined(separator: " ")
    }

    /// The reproducer's arguments after `jhsim`, unquoted.
    func reproducerWords(_ plan: FaultPlan, seed: UInt64) -> [String] {
        var words = ["faults", "run"]
        if let f = target.file { words.append(f) }
        if let profile = settings.profile { words += ["--profile", profile] }
        if plan.isRandom { words += ["--seed", "\(seed)"] }
        if settings.checkExpectations { words.append("--check-expect") }
        for r in plan.rules { words += ["--rule", r.description] }
        return words
    }
}
