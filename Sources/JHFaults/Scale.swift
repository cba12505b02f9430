import Foundation
import JHLab

/// `faults sweep|campaign` with the cluster-scale options: `--shard K/N`, `--out FILE`,
/// `--jsonl`, `--resume FILE`, `--jobs J` (and the workers' own `--skip-recorded FILE`).
///
/// Every path ends in the same place: records go into one `RunTally`, and the report is
/// rendered from the stream header and the tally — the function `faults merge` uses — so
/// one process, J jobs, N shards and an interrupted-and-resumed run print the same bytes.
enum Scale {
    /// Live sinks of the `jhsim` executable (nil in-process: output is captured).
    struct Sinks {
        var standardOutput: ((String) -> Void)?
    }

    final class State: @unchecked Sendable {
        var tally = RunTally()
        var writers: [StreamWriter] = []
        var finished = 0
    }

    static func execute(_ sub: String, _ o: FaultsCLI.Options, runner: FaultRunner, env: LabEnvironment,
                        executable: String?, progress: ((Int, Int, String) -> Void)?, sinks: Sinks) throws -> CommandResult {
        if o.resume != nil && o.out != nil { throw FaultsCLI.Usage(message: "--resume FILE continues FILE; it takes no --out") }
        if o.jsonl && o.json { throw FaultsCLI.Usage(message: "--jsonl streams run records to standard output; it takes no --json") }
        if o.jobs != nil, executable == nil {
            throw FaultsCLI.Usage(message: "--jobs needs the jhsim executable (its workers are jhsim processes)")
        }
        let prepared: any PreparedRuns
        var header: StreamHeader
        if sub == "sweep" {
            let p = try Sweep(runner: runner, sites: o.sites, allErrnos: o.allErrnos, maxRuns: o.maxRuns, depth: o.depth,
                              compareProfiles: o.compare)
                .prepared(progress: progress)
            header = Self.header(sub, o, p.runner, p.baseline, total: p.total, env: env)
            header.coverage = p.coverage
            header.truncated = p.truncated
            header.vacuity = p.vacuity
            header.compared = p.comparison != nil
            prepared = p
        } else {
            guard let seed = o.seed else { throw FaultsCLI.Usage(message: "faults campaign needs --seed S") }
            guard let runs = o.runs else { throw FaultsCLI.Usage(message: "faults campaign needs --runs N") }
            if o.workload == .random && o.mutateConfigs {
                throw FaultsCLI.Usage(message: "faults campaign: --mutate-configs mutates a scenario's configs; a random workload has none to mutate")
            }
            var c = Campaign(runner: runner, seed: seed, runs: runs, rulesPerRun: o.rulesPerRun, shrink: o.shrink,
                             sites: o.sites, mutateConfigs: o.mutateConfigs)
            c.workload = o.workload
            let p = try c.prepared()
            header = Self.header(sub, o, p.runner, p.baseline, total: p.total, env: env)
            header.vacuity = p.vacuity
            header.discovered = p.discovered
            prepared = p
        }
        let shard = o.shard ?? .whole
        let total = prepared.total
        let state = State()
        var done = RunSet(total: total)
        var notes = ""
        var captured = ""
        var temporary: String?
        defer {
            for w in state.writers { w.close() }
            if let t = temporary { try? FileManager.default.removeItem(atPath: t) }
        }
        func path(_ f: String) -> String { f.hasPrefix("/") ? f : env.currentDirectory + "/" + f }
        if let r = o.resume {
            let c = try Recorded.forResume(r, file: path(r), header: header, shard: shard)
            for n in c.notes { notes += "jhsim: \(n)\n" }
            do {
                let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path(r)))
                try h.truncate(atOffset: c.goodEnd)
                try h.close()
            } catch { throw LabError("cannot cut \(r) back to its last whole line: \(error.localizedDescription)") }
            state.writers.append(try StreamWriter(path: path(r), name: r, append: true))
            done = c.done
            state.tally = c.tally
        } else if let out = o.out {
            let w = try StreamWriter(path: path(out), name: out, append: false)
            try w.write(header.line(shard: shard))
            state.writers.append(w)
        }
        if o.jsonl {
            let w = StreamWriter(name: "standard output", sink: sinks.standardOutput ?? { captured += $0 })
            try w.write(header.line(shard: shard))
            state.writers.append(w)
        }
        if let skip = o.skipRecorded { done = try Recorded.runs(in: path(skip), total: total) }
        let todo = shard.runs(of: total).reduce(0) { $0 + (done.contains($1) ? 0 : 1) }
        let emit: (FaultRunRecord) throws(LabError) -> Void = { rec in
            for w in state.writers { try w.write(StreamLine.run(rec)) }
            state.tally.add(rec)
            state.finished += 1
            progress?(state.finished, todo, "")
        }
        if let jobs = o.jobs, let executable {
            // Workers skip what the stream file holds: the --out/--resume file, or a
            // temporary one when the result only goes to standard output.
            var file = o.resume ?? o.out
            if file == nil {
                let t = NSTemporaryDirectory() + "jhsim-jobs-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString).jsonl"
                let w = try StreamWriter(path: t, append: false)
                try w.write(header.line(shard: shard))
                state.writers.append(w)
                temporary = t
                file = t
            }
            progress?(0, todo, "\(jobs) workers")
            try Jobs(executable: executable, directory: env.currentDirectory, jobs: jobs,
                     arguments: ["faults"] + header.arguments + (o.isolate ? ["--isolate"] : []), shard: shard,
                     recordedFile: path(file ?? ""), headerLine: header.line(shard: shard))
                .run(prepared, done: done, each: emit)
        } else {
            var k = 0
            for i in shard.runs(of: total) where !done.contains(i) {
                progress?(k, todo, prepared.describe(i))
                let rec = try prepared.run(i)
                for w in state.writers { try w.write(StreamLine.run(rec)) }
                state.tally.add(rec)
                k += 1
            }
        }
        progress?(todo, todo, "")
        let (text, status) = header.render(state.tally, json: o.json)
        for w in state.writers { try w.write(StreamLine.summary(state.tally, shard: shard, status: status)) }
        return CommandResult(stdout: o.jsonl ? captured : text, stderr: notes, status: status)
    }

    /// The stream header: the identity of the campaign (canonical arguments, scenario
    /// digest) and what its report needs from the fault-free run.
    static func header(_ sub: String, _ o: FaultsCLI.Options, _ runner: FaultRunner, _ base: RunResult, total: Int,
                       env: LabEnvironment) -> StreamHeader {
        var args = [sub]
        if let s = o.scenario { args.append(s) }
        if let p = o.profile { args += ["--profile", p] }
        if sub == "sweep" {
            if let s = o.sites { args += ["--sites", s.joined(separator: ",")] }
            if o.allErrnos { args.append("--errnos") }
            if let m = o.maxRuns { args += ["--max-runs", String(m)] }
            if o.depth != 1 { args += ["--depth", String(o.depth)] }
            if o.compare { args.append("--compare-profiles") }
        } else {
            args += ["--seed", String(o.seed ?? 0), "--runs", String(o.runs ?? 0), "--rules-per-run", String(o.rulesPerRun)]
            if let s = o.sites { args += ["--sites", s.joined(separator: ",")] }
            if !o.shrink { args.append("--no-shrink") }
            if o.workload == .random { args += ["--workload", "random"] }
            if o.mutateConfigs { args.append("--mutate-configs") }
        }
        if o.checkExpect { args.append("--check-expect") }
        // The built-in scenario's digest is that of Docs/scenarios/faults-default.jhsim.
        var bytes = Array((DefaultScenario.text.hasSuffix("\n") ? DefaultScenario.text : DefaultScenario.text + "\n").utf8)
        if let f = o.scenario {
            let p = f.hasPrefix("/") ? f : env.currentDirectory + "/" + f
            bytes = FileManager.default.contents(atPath: p).map { Array($0) } ?? []
        }
        if o.workload == .random { bytes = Array(RandomWorkload.name.utf8) }
        return StreamHeader(tool: sub, version: JHSimVersion.string, arguments: args,
                            scenario: o.workload == .random ? RandomWorkload.name : runner.target.file ?? DefaultScenario.name,
                            scenarioSHA256: SHA256.hex(bytes),
                            profile: runner.profileName, seed: o.seed ?? 0, runs: o.runs ?? 0, rulesPerRun: o.rulesPerRun,
                            total: total, baselineFailures: base.failures, coverage: [], truncated: false,
                            baselineTraceHash: base.traceHash)
    }
}
