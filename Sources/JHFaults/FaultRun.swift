import Foundation
import JHABI
import JHConfig
import JHDriver
import JHLab
import JHLinux
import JHMachine

/// A scenario ready for fault runs: its parsed lines, where its files resolve, and how
/// reproducers name it.
public struct FaultScenario: Sendable {
    public var scenario: Scenario
    /// The scenario as the user named it; nil for the built-in one.
    public var file: String?
    /// Relative file names in the scenario resolve against this directory.
    public var baseDirectory: String
    /// The scenario's absolute path, which reproducers print so they work from any
    /// directory; nil for the built-in one.
    public var path: String?
    /// The scenario's text, for `scenarioSHA256`.
    public var text: String

    public init(scenario: Scenario, file: String?, baseDirectory: String, path: String? = nil, text: String = "") {
        self.scenario = scenario; self.file = file; self.baseDirectory = baseDirectory
        self.path = path ?? file.map { $0.hasPrefix("/") ? $0 : Self.join(baseDirectory, ($0 as NSString).lastPathComponent) }
        self.text = text
    }

    /// The built-in scenario (`DefaultScenario`).
    public static func builtin(baseDirectory: String) throws(LabError) -> FaultScenario {
        FaultScenario(scenario: try Scenario.parse(DefaultScenario.text, file: DefaultScenario.name, factory: .standard),
                      file: nil, baseDirectory: baseDirectory, text: DefaultScenario.text + "\n")
    }

    /// Reads and parses a scenario file (a relative path resolves against `directory`).
    public static func load(_ file: String, currentDirectory: String) throws(LabError) -> FaultScenario {
        let path = file.hasPrefix("/") ? file : join(currentDirectory, file)
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw LabError("cannot read scenario \(file)")
        }
        return FaultScenario(scenario: try Scenario.parse(text, file: file, factory: .standard), file: file,
                             baseDirectory: (path as NSString).deletingLastPathComponent,
                             path: (path as NSString).standardizingPath, text: text)
    }

    /// The SHA-256 of the scenario's text (hex).
    public var sha256: String { SHA256.hex(Array(text.utf8)) }

    static func join(_ dir: String, _ file: String) -> String {
        (dir.hasSuffix("/") ? dir : dir + "/") + file
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
    /// For each rule, the matching-hit numbers it failed (to turn `prob=` into `nth=`).
    public var firedAt: [[Int]] = []
    /// Rules that never fired: valid, but they tested nothing here (with how many hits
    /// matched them: 0 means the run never reached the site, CPU or state at all).
    public var unfired: [UnfiredRule] = []
    /// Every fault site the run checked, in order (only when counting was asked for).
    public var checkedSites: [FaultSite]
    public var commands: Int
    /// Indices (1-based) of commands that never returned.
    public var hangs: [Int]
    /// One line per command: `$ jhsim LINE → ok|ERRNO|hang`.
    public var transcript: [String]
    public var traceHash: String
    /// Invariant findings the run reached (messages), quirk-explained or not, and whether
    /// it reached them after a hang: the baseline's become states no fault is blamed for.
    public var findings: Set<String> = []
    /// The transcript lines of the liveness phase.
    public var liveness: [String] = []
    /// The run's trace, when the runner keeps it (`faults run --trace|--explain`).
    public var traceText: RenderedTrace?
    /// The configs the scenario's commands passed to the driver (recorded in the
    /// fault-free run, where `--mutate-configs` draws from).
    public var configs: [ConfigInput] = []

    /// A run's trace as lines and as narration, injected faults marked with `!!`.
    public struct RenderedTrace: Sendable {
        public var lines: String
        public var explained: String
    }

    /// The worst class of failure, nil for a clean run.
    public var worst: FailureClass? { FailureClass.worst(failures.map(\.kind)) }
}

/// A rule that failed no hit in a run.
public struct UnfiredRule: Sendable, Hashable {
    public var rule: FaultRule
    /// Hits that matched its site, CPU and state (0: never reached).
    public var matched: Int

    public var warning: String {
        matched == 0 ? "rule \(rule) was never reached in this run (no hit matched it)"
            : "rule \(rule) never fired in this run (\(matched) matching hits)"
    }
}

/// Runs a scenario with a fault plan armed over the whole run, checking the box after
/// every command, then (with injection stopped) checking that the box recovers.
///
/// Every run builds a fresh box on the inline executor (both executors give the same
/// trace; the inline one is fast and spawns no threads), so a run is a pure function of
/// the scenario, the plan, the settings and the seed.
///
/// Faulted runs are judged against the fault-free run (`prepared()`): a hang, an
/// invariant finding or a liveness failure the baseline shows too is not the fault's
/// doing and is not reported.
public struct FaultRunner: Sendable {
    public var target: FaultScenario
    public var settings: RunSettings
    /// Commands (1-based) at which the fault-free run already hangs: expected there.
    public var expectedHangs: Set<Int> = []
    /// Invariant and liveness messages the fault-free run reaches by itself.
    public var baselineFindings: Set<String> = []
    /// A researcher's own checks, run after every command next to the built-in ones;
    /// each returned line counts as an `invariant` failure (library use; the CLI has none).
    public var extraChecks: (@Sendable (SimulatedBox) -> [String])?
    /// When set, every faulted run is this `jhsim` executable running the run's reproducer
    /// (`--isolate`), so a Swift trap becomes a reported failure (class `trap`) instead
    /// of the end of the sweep.
    public var isolatedExecutable: String?
    /// Keep the run's rendered trace in the result (`faults run --trace|--explain`).
    public var keepTrace = false
    var labRunner: LabCommandRunner

    public init(target: FaultScenario, settings: RunSettings, environment: LabEnvironment) {
        self.target = target; self.settings = settings
        labRunner = LabCommandRunner(factory: .standard, environment: environment)
    }

    public var profileName: String { settings.profile ?? target.scenario.parameters.profile }

    /// This runner after a fault-free run has shown where the scenario hangs by itself
    /// and which findings it reaches (both expected under faults too), with that run's
    /// result.
    public func prepared() throws(LabError) -> (FaultRunner, RunResult) {
        var r = self
        let base = try run(FaultPlan(), baseline: true, countSites: true)
        r.expectedHangs = Set(base.hangs)
        r.baselineFindings = base.findings
        return (r, base)
    }

    /// What a report says about its origin.
    func meta(_ baseline: RunResult) -> ReportMeta {
        var m = ReportMeta()
        m.scenarioSHA256 = target.sha256
        m.baselineTraceHash = baseline.traceHash
        return m
    }

    /// Refuses rules that can never fire on this scenario's machine (a CPU it does not have).
    public func validate(_ plan: FaultPlan) throws(LabError) {
        var p = target.scenario.parameters
        if let profile = settings.profile { p.profile = profile }
        for r in plan.rules {
            if let cpu = r.cpu, cpu >= p.cpus {
                throw LabError("rule \(r) names CPU \(cpu), but the scenario's machine has \(p.cpus) CPUs (0–\(p.cpus - 1)); it could never fire")
            }
        }
        let passing = configCommands
        for patch in plan.patches where !passing.contains(patch.command) {
            throw LabError("patch \(patch) edits command \(patch.command), but that command of the scenario passes no config"
                + " (those that do: \(passing.isEmpty ? "none" : passing.map(String.init).joined(separator: ", ")))")
        }
    }

    /// - Parameters:
    ///   - baseline: the fault-free run; its failed expectations always count, and its
    ///     findings after a hang are recorded, not reported (the box is mid-operation).
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
        session.machine.traceLevel = keepTrace ? .full : Self.traceLevel(for: target.scenario)
        var injector = FaultInjector(rules: plan.rules, seed: seed)
        injector.countsSites = countSites
        session.armedFaults = injector

        var failures: [Failure] = []
        var findings: Set<String> = []
        var transcript: [String] = []
        var hangs: [Int] = []
        var before = BoxSnapshot(box)
        var pendingSignal: UInt64? = nil
        var command = 0
        var configs: [SeenCellConfig] = []
        var configInputs: [ConfigInput] = []
        var partialLoadable: PartialLoadable? = nil
        var last: (status: Int32, errno: Errno?, stdout: String, text: String, hung: Bool)? = nil
        let checkExpect = baseline || settings.checkExpectations
        var stuck = false
        // Set when a quirk of the profile oopsed the simulated kernel: the box is dead from
        // then on, so there is nothing left to recover and no liveness phase to run.
        var oopsQuirk: Quirk?
        // CPUs the scenario's admin onlined or offlined by hand (the liveness phase brings
        // those back before disabling, as that admin would).
        var adminCPUs = CPUSet()
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
                    last = (0, nil, "", text, false)
                    continue
                }
                if argv.count == 3, argv[0] == "cpu", argv[1] == "online" || argv[1] == "offline", let n = Int(argv[2]) {
                    adminCPUs.insert(n)
                }
                let injectedBefore = session.armedFaults.injections.count
                if let patch = plan.patches.first(where: { $0.command == command }) {
                    session.rewriteNextConfig = { patch.apply($0) }
                }
                let r = labRunner.runScenarioCommand(argv, text: text, signalAfter: pendingSignal,
                                                     baseDirectory: target.baseDirectory, session: session)
                session.rewriteNextConfig = nil
                pendingSignal = nil
                if baseline {
                    switch r.logged?.action {
                    case .enable(let c)?: configInputs.append(ConfigInput(command: command, kind: .system, bytes: Array(c)))
                    case .cellCreate(let c)?: configInputs.append(ConfigInput(command: command, kind: .cell, bytes: Array(c)))
                    default: break
                    }
                }
                let errno = r.outcome?.errno
                last = (r.status, errno, r.stdout, text, r.outcome?.hang != nil)
                let after = BoxSnapshot(box)
                transcript.append("$ jhsim \(text) → \(Self.shown(r))")
                // Views (`cpus`, `cell list`, `trace`) print what they show, as in `jhsim run`.
                if r.logged == nil, r.status == 0 {
                    transcript += r.stdout.split(separator: "\n").map { "    " + $0 }
                }
                defer { before = after }
                if case .cellCreate(let bytes)? = r.logged?.action, let c = try? CellConfig.decode(Array(bytes)) {
                    configs.append(SeenCellConfig(name: c.name, ranges: c.memoryRegions.filter { $0.size > 0 }.map(\.physRange)))
                }
                if r.outcome?.oops == true, let q = session.box.oops?.quirk, box.machine.profile.has(q) {
                    // A documented upstream quirk oopsed the simulated kernel (quirks 9, 15):
                    // the box is dead from here on, which is the quirk, not a finding.
                    transcript[transcript.count - 1] = "$ jhsim \(text) → oops (quirk \(q.number), \(q.rawValue))"
                    oopsQuirk = q
                    if !baseline {
                        failures.append(Failure(kind: .quirk, command: command, commandLine: text, line: line.number,
                                                message: "the simulated kernel oopsed (quirk \(q.number))", quirk: q))
                    }
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
                        stuck = true
                        break run
                    }
                    continue
                }
                // The ioctl the command issued, if any (admin hotplug and inmate choices issue none).
                let ioctl = r.logged?.action.ioctl
                if errno != nil, ioctl == .cellLoad {
                    partialLoadable = partialLoadable ?? PartialLoadable(quirk: nil)
                } else if errno != nil, ioctl == .cellStart, box.machine.profile.has(.startErrorLeavesTargetSuspended) {
                    partialLoadable = PartialLoadable(quirk: .startErrorLeavesTargetSuspended)
                }
                var found = BoxChecks.violations(box: box, ioctl: ioctl, failedWith: errno, before: before, after: after,
                                                 failedUps: Self.failedCPUUps(session, since: injectedBefore),
                                                 configs: configs, partialLoadable: partialLoadable)
                found += (extraChecks?(box) ?? []).map { InvariantFinding($0) }
                for f in found {
                    findings.insert(f.message)
                    // A state the fault-free run reaches too is not the fault's doing; in the
                    // fault-free run, a state after one of its own hangs is mid-operation.
                    if baseline ? !hangs.isEmpty : baselineFindings.contains(f.message) { continue }
                    failures.append(Failure(kind: f.quirk == nil ? .invariant : .quirk, command: command, commandLine: text,
                                            line: line.number, message: f.message, quirk: f.quirk))
                }
            case .expect(let e, let text):
                guard checkExpect else { continue }
                if let (expected, got) = e.check(session: session, status: last?.status, errno: last?.errno,
                                                 stdout: last?.stdout ?? "", hung: last?.hung ?? false) {
                    failures.append(Failure(kind: .expectation, command: command, commandLine: last?.text ?? "", line: line.number,
                                            message: "\(text): expected \(expected), got \(got)"))
                }
            }
        }
        let injected = session.armedFaults
        var result = RunResult(plan: plan, seed: seed, failures: failures, fired: injected.fired, firedAt: injected.firedAt,
                               unfired: plan.rules.indices.filter { injected.fired[$0] == 0 }
                                   .map { UnfiredRule(rule: plan.rules[$0], matched: injected.matched[$0]) },
                               checkedSites: injected.checkedSites, commands: command, hangs: hangs,
                               transcript: transcript, traceHash: "", findings: findings)
        result.configs = configInputs
        if !stuck && oopsQuirk == nil {
            session.armedFaults.removeAll()
            for f in livenessPhase(session: session, box: box, adminCPUs: adminCPUs, transcript: &result.liveness) {
                result.findings.insert(f.message)
                if !baselineFindings.contains(f.message) && !baseline { result.failures.append(f) }
            }
        }
        result.traceHash = session.machine.trace.hashHex
        if keepTrace { result.traceText = Self.traceText(session) }
        return result
    }

    /// Every command's trace, with the steps where a fault was injected marked `!!`.
    static func traceText(_ session: LabSession) -> RunResult.RenderedTrace {
        var lines = "", explained = ""
        let events = session.machine.trace.events
        for r in session.records {
            let head = "# \(r.index + 1): jhsim \(r.commandLine)  (\(r.start) → \(r.end))\n"
            lines += head; explained += head
            let mine = events.filter { $0.seq >= r.firstSeq && $0.seq < r.endSeq }.sorted { ($0.time, $0.seq) < ($1.time, $1.seq) }
            for e in mine {
                let mark = e.layer == .fault ? "!! " : "   "
                lines += mark + JHLab.TraceText.line(e) + "\n"
                if e.layer == .fault || Narration.isKeyStep(e) {
                    explained += mark + JHLab.TraceText.stamp(e.time) + " " + Narration.explain(e) + "\n"
                }
            }
        }
        return RunResult.RenderedTrace(lines: lines, explained: explained)
    }

    /// `ok`, the errno, `hang`, or the exit status and message of a command that failed
    /// before it reached the machine.
    static func shown(_ r: ScenarioCommandResult) -> String {
        var shown = r.outcome.map { $0.hang != nil ? "hang" : ($0.errno?.name ?? "ok") } ?? (r.status == 0 ? "ok" : "status \(r.status)")
        if r.outcome == nil, r.status != 0 { shown += ": " + r.stderr.trimmingCharacters(in: .whitespacesAndNewlines) }
        return shown
    }

    /// The liveness phase (VOPR's "after the faults stop, the cluster must recover"): with
    /// no fault armed, every remaining non-root cell must be destroyable; the CPUs the
    /// scenario's admin offlined (or failed to online) by hand come back; `disable` must
    /// then succeed, and every CPU must come back online. Each step that fails is one
    /// `liveness` finding. CPUs the *driver* left offline are not onlined before disable:
    /// the driver must give them back itself. Upstream's quirk 5 (a failed `add_cpu` on
    /// destroy leaves the CPU offline in root and forgotten) makes disable fail with
    /// EBUSY, and the finding names it.
    func livenessPhase(session: LabSession, box: SimulatedBox, adminCPUs: CPUSet, transcript: inout [String]) -> [Failure] {
        var out: [Failure] = []
        func step(_ words: [String]) -> ScenarioCommandResult {
            let text = words.joined(separator: " ")
            let r = labRunner.runScenarioCommand(words, text: text, signalAfter: nil, baseDirectory: target.baseDirectory,
                                                 session: session)
            transcript.append("(liveness) $ jhsim \(text) → \(Self.shown(r))")
            return r
        }
        func fail(_ what: String, _ r: ScenarioCommandResult, quirk: Quirk? = nil) {
            // No times or addresses in the message: the baseline's own failure to recover
            // must match a faulted run's word for word.
            let why = r.outcome?.hang != nil ? "it never returns" : "it fails with \(Self.shown(r))"
            out.append(Failure(kind: .liveness, command: 0, commandLine: what, line: 0,
                               message: "after the faults stop, \(what) cannot succeed: \(why)", quirk: quirk))
        }
        if box.driver.enabled {
            // By id: a mutated config may give a cell a name that reads as an id (or none).
            for name in box.driver.cells.filter({ $0 !== box.driver.rootCell }).map({ "\($0.id)" }) {
                let r = step(["cell", "destroy", name])
                if r.status != 0 || r.outcome?.hang != nil {
                    fail("cell destroy \(name)", r)
                    if r.outcome?.hang != nil { return out }
                }
            }
            for cpu in adminCPUs where cpu < box.machine.cpuCount && !box.kernel.online.contains(cpu) {
                let r = step(["cpu", "online", "\(cpu)"])
                if r.status != 0 || r.outcome?.hang != nil { fail("cpu online \(cpu)", r) }
            }
            let r = step(["disable"])
            if r.status != 0 || r.outcome?.hang != nil {
                let offlineRoot = (box.driver.rootCell?.cpusAssigned ?? CPUSet()).subtracting(box.kernel.online)
                let q5 = r.outcome?.errno == .busy && !offlineRoot.isEmpty && box.machine.profile.has(.destroyAddCPUFailureOnlyLogged)
                    ? Quirk.destroyAddCPUFailureOnlyLogged : nil
                fail("disable", r, quirk: q5)
                if r.outcome?.hang != nil { return out }
            }
        }
        for cpu in 0..<box.machine.cpuCount where !box.kernel.online.contains(cpu) {
            let r = step(["cpu", "online", "\(cpu)"])
            if r.status != 0 || r.outcome?.hang != nil { fail("cpu online \(cpu)", r) }
        }
        return out
    }

    /// CPUs whose bring-up (or its hotplug rollback) had a fault injected among the
    /// injections since `from` (the injector's own log, not the trace).
    static func failedCPUUps(_ session: LabSession, since from: Int) -> CPUSet {
        var cpus = CPUSet()
        for site in session.armedFaults.injections.dropFirst(from)
            where site.name == LinuxFaultSites.cpuUp || site.name == LinuxFaultSites.cpuUpBringup
                || site.name == LinuxFaultSites.cpuhpRollback {
            if let cpu = site.cpu { cpus.insert(cpu) }
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

    /// The scenario's commands (1-based, as in `Failure.command`) that pass a config to the
    /// driver: `enable` and `cell create`.
    var configCommands: [Int] {
        var out: [Int] = [], n = 0
        for line in target.scenario.lines {
            guard case .command(let argv, _) = line.step else { continue }
            n += 1
            let w = argv.first == "jhsim" ? Array(argv.dropFirst()) : argv
            if w.first == "enable" || (w.count >= 2 && w[0] == "cell" && w[1] == "create") { out.append(n) }
        }
        return out
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
        if let f = target.path ?? target.file { words.append(f) }
        if let profile = settings.profile { words += ["--profile", profile] }
        if plan.isRandom { words += ["--seed", "\(seed)"] }
        if settings.checkExpectations { words.append("--check-expect") }
        for r in plan.rules { words += ["--rule", r.description] }
        for p in plan.patches { words += ["--patch", p.description] }
        return words
    }
}
