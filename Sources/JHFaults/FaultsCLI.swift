import Foundation
import JHABI
import JHDriver
import JHLab
import JHMachine

extension LabCommandRunner {
    /// This runner with `jhsim faults sweep|campaign|shrink|run` plugged in. The `jhsim`
    /// executable and in-process tests use it; JHLab itself never imports JHFaults.
    /// - Parameter executable: the `jhsim` binary, for `--isolate` (runs in child
    ///   processes); nil makes `--isolate` a usage error.
    /// - Parameter standardOutput: where `--jsonl` lines go as they are written (the
    ///   executable's standard output); nil collects them into the command's result.
    public func withFaultTools(executable: String? = nil,
                               standardOutput: (@Sendable (String) -> Void)? = nil) -> LabCommandRunner {
        var r = self
        r.faultTools = { args, runner, progress in
            FaultsCLI.run(args, runner: runner, progress: progress, executable: executable, standardOutput: standardOutput)
        }
        return r
    }
}

/// `jhsim faults sweep|campaign|shrink|run`: argument parsing and output. The work is in
/// `Sweep`, `Campaign`, `Shrinker` and `FaultRunner`.
public enum FaultsCLI {
    struct Usage: Error { var message: String }

    struct Options {
        var scenario: String?
        var profile: String?
        var sites: [String]?
        var allErrnos = false
        var maxRuns: Int?
        var json = false
        var seed: UInt64?
        var runs: Int?
        var rulesPerRun = 3
        var rules: [String] = []
        var planFile: String?
        var checkExpect = false
        var shrink = true
        var isolate = false
        // Cluster scale (Scale.swift): shards, streams, resume, local workers.
        var shard: Shard?
        var out: String?
        var jsonl = false
        var resume: String?
        var jobs: Int?
        /// Internal (`--jobs` workers): skip the runs this file already records.
        var skipRecorded: String?
        /// `faults merge FILE…`
        var files: [String] = []
        var depth = 1
        var compare = false
        var trace = false
        var explain = false
        /// `campaign --workload random`.
        var workload: Campaign.Workload = .scenario
        /// `workload --run I`.
        var run: Int?
        /// `campaign --mutate-configs` (ConfigMutation.swift).
        var mutateConfigs = false
    }

    /// - Returns: the captured output and the exit status (0 clean, 1 usage, 2 invariant,
    ///   3 hang, 4 expectation).
    public static func run(_ args: [String], runner: LabCommandRunner, progress: ((String) -> Void)?,
                           executable: String? = nil, standardOutput: ((String) -> Void)? = nil) -> CommandResult {
        do {
            return try dispatch(args, runner: runner, progress: runner.environment.stderrIsTerminal ? progress : nil,
                                executable: executable, standardOutput: standardOutput)
        } catch let e as Usage {
            return CommandResult(stderr: "jhsim: \(e.message)\nTry 'jhsim faults --help' for more information.\n", status: 1)
        } catch let e as LabError {
            return CommandResult(stderr: "jhsim: \(e.message)\n", status: 1)
        } catch {
            return CommandResult(stderr: "jhsim: \(error)\n", status: 1)
        }
    }

    static let scaleOptions: Set<String> = ["--shard", "--out", "--jsonl", "--resume", "--jobs", "--skip-recorded"]

    static func parse(_ sub: String, _ args: ArraySlice<String>) throws(Usage) -> Options {
        var o = Options()
        var rest = args
        let allowed: Set<String> = switch sub {
        case "sweep": scaleOptions.union(["--profile", "--sites", "--errnos", "--max-runs", "--json", "--check-expect", "--isolate",
                                          "--depth", "--compare-profiles"])
        case "campaign": scaleOptions.union(["--profile", "--seed", "--runs", "--rules-per-run", "--json", "--check-expect",
                                             "--no-shrink", "--isolate", "--sites", "--workload", "--mutate-configs"])
        case "workload": ["--profile", "--seed", "--run"]
        case "merge": ["--json"]
        case "shrink": ["--profile", "--seed", "--rule", "--patch", "--plan", "--json", "--check-expect", "--isolate"]
        default: ["--profile", "--seed", "--rule", "--patch", "--plan", "--json", "--check-expect", "--trace", "--explain", "--compare-profiles"]
        }
        while var a = rest.popFirst() {
            var inline: String? = nil
            if a.hasPrefix("--"), let eq = a.firstIndex(of: "=") {
                inline = String(a[a.index(after: eq)...]); a = String(a[..<eq])
            }
            func value() throws(Usage) -> String {
                if let inline { return inline }
                guard let v = rest.popFirst() else { throw Usage(message: "option \(a) needs a value") }
                return v
            }
            func number(_ min: Int, _ max: Int) throws(Usage) -> Int {
                let v = try value()
                guard let n = Int(v), n >= min, n <= max else { throw Usage(message: "\(a) takes \(min)…\(max), not '\(v)'") }
                return n
            }
            if a.hasPrefix("-"), a != "-" {
                guard allowed.contains(a) else {
                    throw Usage(message: "unknown option '\(a)' for faults \(sub); valid: \(allowed.sorted().joined(separator: ", "))")
                }
            }
            switch a {
            case "--profile":
                let v = try value()
                guard Profile.named(v) != nil else { throw Usage(message: "unknown profile '\(v)'; valid profiles: upstream, fixed") }
                o.profile = v
            case "--sites":
                let names = try value().split(separator: ",").map(String.init)
                let catalog = SimulatedBox.faultCatalog.map(\.name)
                for n in names where !catalog.contains(n) {
                    throw Usage(message: "unknown fault site '\(n)'; valid sites: \(catalog.joined(separator: ", "))")
                }
                guard !names.isEmpty else { throw Usage(message: "--sites needs at least one site") }
                o.sites = names
            case "--errnos": o.allErrnos = true
            case "--max-runs": o.maxRuns = try number(1, 10_000_000)
            case "--json": o.json = true
            case "--check-expect": o.checkExpect = true
            case "--no-shrink": o.shrink = false
            case "--isolate": o.isolate = true
            case "--seed":
                let v = try value()
                guard let s = UInt64(v) ?? (v.hasPrefix("0x") ? UInt64(v.dropFirst(2), radix: 16) : nil) else {
                    throw Usage(message: "--seed takes a non-negative 64-bit number, not '\(v)'")
                }
                o.seed = s
            case "--runs": o.runs = try number(1, 10_000_000)
            case "--rules-per-run": o.rulesPerRun = try number(1, 64)
            case "--rule": o.rules.append(try value())
            case "--patch":
                let v = try value()
                guard ConfigPatch.isPatch(v) else { throw Usage(message: "--patch takes config@COMMAND[:len=N][:0xOFFSET=HEX]…, not '\(v)'") }
                o.rules.append(v)
            case "--mutate-configs": o.mutateConfigs = true
            case "--plan": o.planFile = try value()
            case "--depth": o.depth = try number(1, 2)
            case "--compare-profiles": o.compare = true
            case "--workload":
                let v = try value()
                guard let w = Campaign.Workload(rawValue: v), w == .random else {
                    throw Usage(message: "--workload takes 'random' (without it, every run replays the scenario), not '\(v)'")
                }
                o.workload = w
            case "--run": o.run = try number(1, 10_000_000)
            case "--trace": o.trace = true
            case "--explain": o.explain = true
            case "--shard":
                do { o.shard = try Shard(parsing: try value()) } catch let e as LabError { throw Usage(message: e.message) } catch {
                    throw Usage(message: "\(error)")
                }
            case "--out": o.out = try value()
            case "--jsonl": o.jsonl = true
            case "--resume": o.resume = try value()
            case "--jobs": o.jobs = try number(1, 1024)
            case "--skip-recorded": o.skipRecorded = try value()
            default:
                if sub == "merge" { o.files.append(a); continue }
                guard o.scenario == nil else { throw Usage(message: "faults \(sub) takes one scenario file, not also '\(a)'") }
                o.scenario = a
            }
        }
        return o
    }

    static func dispatch(_ args: [String], runner lab: LabCommandRunner, progress: ((String) -> Void)?,
                         executable: String?, standardOutput: ((String) -> Void)? = nil) throws -> CommandResult {
        guard let sub = args.first else { throw Usage(message: "faults needs a subcommand: list, sweep, campaign, shrink, run, merge, workload") }
        guard ["sweep", "campaign", "shrink", "run", "merge", "workload"].contains(sub) else {
            throw Usage(message: "unknown faults subcommand '\(sub)'; valid: list, sweep, campaign, shrink, run, merge, workload")
        }
        let o = try parse(sub, args.dropFirst())
        if o.trace && o.explain { throw Usage(message: "faults run takes --trace or --explain, not both") }
        if sub == "merge" {
            guard !o.files.isEmpty else { throw Usage(message: "faults merge needs the .jsonl files of one campaign or sweep") }
            let cwd = lab.environment.currentDirectory
            return try Recorded.merge(o.files.map { (name: $0, path: (($0.hasPrefix("/") ? $0 : cwd + "/" + $0) as NSString).standardizingPath) }, json: o.json)
        }
        let env = lab.environment
        if o.workload == .random, let s = o.scenario {
            throw Usage(message: "--workload random draws every run's commands; it takes no scenario ('\(s)')")
        }
        if o.workload == .random, o.isolate {
            // An isolated child replays a scenario file; random workloads exist only in memory.
            throw Usage(message: "--workload random cannot be combined with --isolate")
        }
        if sub == "workload" {
            guard o.scenario == nil else { throw Usage(message: "faults workload takes no scenario") }
            guard let seed = o.seed, let run = o.run else {
                throw Usage(message: "faults workload needs --seed S --run I (run I of `faults campaign --workload random --seed S`)")
            }
            return CommandResult(stdout: try RandomWorkload.scenario(campaignSeed: seed, run: run, profile: o.profile ?? "upstream",
                                                                    directory: env.currentDirectory))
        }
        let target = try o.scenario.map { try FaultScenario.load($0, currentDirectory: env.currentDirectory) }
            ?? FaultScenario.builtin(baseDirectory: env.currentDirectory)
        var runner = FaultRunner(target: target, settings: RunSettings(profile: o.profile, checkExpectations: o.checkExpect),
                                 environment: LabEnvironment(currentDirectory: env.currentDirectory))
        if o.isolate {
            guard let executable else { throw Usage(message: "--isolate needs the jhsim executable (it runs every fault run as a child process)") }
            runner.isolatedExecutable = executable
        }
        var lastWidth = 0
        let report: ((Int, Int, String) -> Void)? = progress.map { sink in
            { done, total, what in
                var line = done == total ? "" : "[\(done + 1)/\(total)] \(what)"
                if line.count > 100 { line = String(line.prefix(99)) + "…" }
                sink("\r" + line + String(repeating: " ", count: max(0, lastWidth - line.count)) + (done == total ? "\r" : ""))
                lastWidth = line.count
            }
        }
        func render(_ text: String, _ json: JSONValue, _ status: Int32) -> CommandResult {
            CommandResult(stdout: o.json ? json.text(indent: 2) + "\n" : text, status: status)
        }
        switch sub {
        case "sweep", "campaign":
            return try Scale.execute(sub, o, runner: runner, env: env, executable: executable, progress: report,
                                     sinks: Scale.Sinks(standardOutput: standardOutput))
        default:
            var plan = FaultPlan()
            let catalog = SimulatedBox.faultCatalog
            if let f = o.planFile {
                let path = f.hasPrefix("/") ? f : env.currentDirectory + "/" + f
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw LabError("cannot read plan \(f)") }
                do { plan = try FaultPlan(parsing: text, catalog: catalog) } catch { throw Usage(message: "bad plan \(f): \(error.message)") }
            }
            for r in o.rules {
                do { try plan.append(parsing: r, catalog: catalog) } catch {
                    throw Usage(message: "bad \(ConfigPatch.isPatch(r) ? "--patch" : "--rule"): \(error.message)")
                }
            }
            let seed = o.seed ?? 0
            try runner.validate(plan)
            // Hangs and findings of the fault-free run are expected, exactly as in sweeps and campaigns.
            runner = try runner.prepared().0
            if sub == "run" {
                runner.isolatedExecutable = nil
                runner.keepTrace = o.trace || o.explain
                let r = try runner.run(plan, seed: seed)
                let repro = runner.reproducer(plan, seed: seed)
                var text = ReportText.run(r, reproducer: repro)
                if let t = r.traceText { text = (o.explain ? t.explained : t.lines) + "\n" + text }
                var json = ReportJSON.run(r, reproducer: repro)
                var status = r.worst?.exitStatus ?? 0
                if o.compare {
                    let d = try ProfileComparison(runner: runner).compare(plan, seed: seed)
                    text += ReportText.differences(d.map { [$0] } ?? [])
                    if case .object(var fields) = json {
                        fields.append(("difference", d.map(ReportJSON.difference) ?? .null))
                        json = .object(fields)
                    }
                    if d != nil, status == 0 { status = FailureClass.quirk.exitStatus }
                }
                return render(text, json, status)
            }
            guard !plan.rules.isEmpty else { throw Usage(message: "faults shrink needs a plan: --rule RULE... or --plan FILE") }
            let first = try runner.run(plan, seed: seed)
            guard let worst = first.worst,
                  let s = try Shrinker(runner: runner).shrink(plan, seed: seed, like: first) else {
                let text = "Plan: \(plan)\nThe plan does not fail; nothing to shrink.\n"
                return render(text, .object([("kind", .string("shrink")), ("plan", ReportJSON.plan(plan)),
                                             ("failing", .bool(false))]), 0)
            }
            let repro = runner.reproducer(s.plan, seed: seed)
            let text = "Plan: \(plan)\nFails with [\(worst.rawValue)]; shrunk in \(s.runs) runs to: \(s.plan)\n"
                + ReportText.failures(s.failures) + "minimal reproducer: \(repro)\n"
            let json: JSONValue = .object([
                ("kind", .string("shrink")), ("plan", ReportJSON.plan(plan)), ("failing", .bool(true)),
                ("class", .string(worst.rawValue)), ("minimal", ReportJSON.plan(s.plan)),
                ("shrinkRuns", .int(Int64(s.runs))), ("failures", .array(s.failures.map(ReportJSON.failure))),
                ("reproducer", .string(repro)),
            ])
            return render(text, json, worst.exitStatus)
        }
    }
}
