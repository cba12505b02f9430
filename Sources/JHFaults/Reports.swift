import JHLab
import JHMachine

// Human text and JSON views of sweeps, campaigns, shrinks and single runs. Everything
// printed is a function of the inputs (no timings, no dictionary order), so a report
// can be compared byte for byte. One run's record renders alone (`ReportJSON.case`), so
// streams and merges reuse it.

/// Where a report came from, for `--json`: which jhsim, which scenario text, and the
/// fault-free run's trace hash.
public struct ReportMeta: Sendable, Hashable {
    public var jhsimVersion = JHSimVersion.string
    public var scenarioSHA256 = ""
    public var baselineTraceHash = ""
    public init() {}
}

enum ReportText {
    static func failures(_ fs: [Failure], indent: String = "  ") -> String {
        fs.map { f in
            let quirk = f.quirk.map { " quirk \($0.number) (\($0.rawValue))" } ?? ""
            let place = f.command == 0 ? "in the liveness phase (\(f.commandLine))"
                : "after command \(f.command) (line \(f.line): \(f.commandLine))"
            return "\(indent)[\(f.kind.rawValue)]\(quirk) \(place): \(f.message)\n"
        }.joined()
    }

    static func failing(_ r: FailingRun, label: String) -> String {
        "FAIL [\(r.worst.rawValue)] \(label)\(r.plan)\n" + failures(r.failures) + "  reproduce: \(r.reproducer)\n"
    }

    static func warnings(_ unfired: [UnfiredRule]) -> String {
        unfired.map { "  warning: \($0.warning)\n" }.joined()
    }

    static func baseline(_ fs: [Failure], scenario: String) -> String {
        "The scenario fails without any fault, so nothing was injected; fix the scenario first (`jhsim run \(scenario)` shows it):\n"
            + failures(fs)
    }

    static func vacuous(_ reason: String, baseline fs: [Failure], scenario: String) -> String {
        "VACUOUS: \(reason).\n" + (fs.isEmpty ? "" : baseline(fs, scenario: scenario))
    }

    /// - Parameter runs: how many plans were compared (a sweep's runs; nil: one plan).
    static func differences(_ ds: [ProfileDifference], of runs: Int? = nil) -> String {
        guard !ds.isEmpty else { return runs.map { "\nThe profiles agree on all \($0) plans.\n" } ?? "\nThe profiles agree on this plan.\n" }
        var s = "\n\(ds.count)\(runs.map { " of \($0)" } ?? "") plans behave differently on upstream and fixed:\n"
        if runs != nil {
            // Which quirks the differences come down to, so a sweep reads as a list of causes.
            var byQuirk: [Int: Int] = [:]
            for d in ds { byQuirk[d.quirk?.number ?? 0, default: 0] += 1 }
            let named = Quirk.allCases.filter { byQuirk[$0.number] != nil }.map { "quirk \($0.number) (\($0.rawValue)) ×\(byQuirk[$0.number] ?? 0)" }
            let unexplained = byQuirk[0].map { ["no single quirk ×\($0)"] } ?? []
            s += "  by cause: " + (named + unexplained).joined(separator: ", ") + "\n"
        }
        for d in ds {
            let q = d.quirk.map { "quirk \($0.number) (\($0.rawValue)): \($0.summary)" } ?? "no single quirk explains it"
            s += "DIFF \(d.plan): upstream \(d.upstream?.rawValue ?? "clean"), fixed \(d.fixed?.rawValue ?? "clean") — \(q)\n"
            if let u = d.upstreamLine, let f = d.fixedLine { s += "  upstream: \(u)\n  fixed:    \(f)\n" }
            s += "  reproduce: \(d.reproducer)\n"
        }
        return s
    }

    static func sweep(_ r: SweepReport) -> String {
        var s = "Fault sweep of \(r.scenario), profile \(r.profile)\n"
        if let v = r.vacuity { return s + vacuous(v, baseline: r.baselineFailures, scenario: r.scenario) }
        s += "\(r.runs) runs over \(r.rows.count) sites\(r.truncated ? " (sampled by --max-runs)" : "")\n\n"
        s += TextTable.render(header: ["SITE", "HITS", "RUNS", "FIRED", "FAILURES"],
                              rows: r.rows.map { [$0.coverage.site, "\($0.coverage.hits)", "\($0.runs)", "\($0.fired)", "\($0.failures)"] })
        s += "\nHits by CPU and detail:\n"
        for row in r.rows { s += "  \(row.coverage.site): \(row.coverage.summary)\n" }
        s += "\n"
        if r.failing.isEmpty {
            s += "No failures: every run left a consistent box.\n"
        } else {
            s += "\(r.failing.count) failing runs (\(r.outcomes.summary)):\n"
            for f in r.failing { s += failing(f, label: "") }
        }
        if r.compared { s += differences(r.differences, of: r.runs) }
        return s
    }

    static func campaign(_ r: Campaign.Report, runs: Int, rulesPerRun: Int) -> String {
        var s = "SEED=\(r.seed)\n"
        s += "Fault campaign of \(r.scenario), profile \(r.profile): \(runs) runs, up to \(rulesPerRun) rules each\n"
        if let v = r.vacuity { return s + vacuous(v, baseline: r.baselineFailures, scenario: r.scenario) }
        s += "\(r.runsDone) runs, \(r.injected) faults injected into \(r.sitesInjected.count) sites: \(r.sitesInjected.joined(separator: ", "))\n"
        if !r.discovered.isEmpty { s += "Reached only under faults (discovered): \(r.discovered.joined(separator: ", "))\n" }
        s += "\n"
        if r.records.isEmpty {
            s += "No failures: every run left a consistent box.\n"
        } else {
            s += "\(r.records.count) failing runs (\(r.outcomes.summary)):\n"
            for rec in r.records {
                guard let f = rec.failing else { continue }
                s += failing(f, label: "run \(rec.index) seed \(rec.seed): ")
                if let w = rec.workload {
                    // Saved under the name the reproducer uses, the workload replays exactly.
                    let name = RandomWorkload.fileName(seed: r.seed, run: rec.index)
                    s += "  workload (save as \(name), or `jhsim faults workload --seed \(r.seed) --run \(rec.index) > \(name)`):\n"
                    s += w.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { "    | \($0)\n" }.joined()
                }
                if let m = rec.minimal {
                    s += "  shrunk in \(rec.shrinkRuns) runs to: \(m.plan)\n  minimal reproducer: \(m.reproducer)\n"
                }
            }
        }
        return s
    }

    static func run(_ r: RunResult, reproducer: String) -> String {
        var s = "Plan: \(r.plan.rules.isEmpty ? "(none)" : r.plan.description)\n"
        for line in r.transcript + r.liveness { s += line + "\n" }
        let fired = zip(r.plan.rules, r.fired).map { "\($0.0.description) fired \($0.1)×" }
        if !fired.isEmpty { s += "Injected: " + fired.joined(separator: ", ") + "\n" }
        s += warnings(r.unfired)
        if r.failures.isEmpty {
            s += "OK: the box stayed consistent after every command\(r.liveness.isEmpty ? "" : " and recovered once the faults stopped").\n"
        } else {
            s += "FAIL [\(r.worst?.rawValue ?? "")]\n" + failures(r.failures) + "  reproduce: \(reproducer)\n"
        }
        return s
    }
}

enum ReportJSON {
    static func failure(_ f: Failure) -> JSONValue {
        .object([("class", .string(f.kind.rawValue)), ("command", .int(Int64(f.command))),
                 ("line", .int(Int64(f.line))), ("commandLine", .string(f.commandLine)), ("message", .string(f.message)),
                 ("quirk", quirk(f.quirk))])
    }

    static func quirk(_ q: Quirk?) -> JSONValue {
        q.map { .object([("number", .int(Int64($0.number))), ("name", .string($0.rawValue))]) } ?? .null
    }

    static func plan(_ p: FaultPlan) -> JSONValue { .array(p.words.map { .string($0) }) }

    static func failing(_ r: FailingRun) -> JSONValue {
        .object([("class", .string(r.worst.rawValue)), ("plan", plan(r.plan)),
                 ("seed", .string(String(r.seed))), ("failures", .array(r.failures.map(failure))),
                 ("reproducer", .string(r.reproducer))])
    }

    /// One case (a non-clean run): the fields tools key on first, then the details.
    static func `case`(_ r: FaultRunRecord) -> JSONValue {
        var o: [(String, JSONValue)] = [
            ("site", r.site.map { .string($0) } ?? .null), ("hit", r.hit.map { .int(Int64($0)) } ?? .null),
            ("plan", plan(r.plan)), ("outcome", .string(r.outcome?.rawValue ?? "clean")),
            ("errno", r.errno.map { .string($0.name) } ?? .null),
            ("invariants", .array(r.invariants.map { .string($0) })), ("quirk", quirk(r.quirk)),
            ("command", r.lead.map { .string($0.commandLine) } ?? .null),
            ("line", r.lead.map { .int(Int64($0.line)) } ?? .null),
            ("reproduce", .string(r.failing?.reproducer ?? "")),
            ("run", .int(Int64(r.index))), ("seed", .string(String(r.seed))),
            ("failures", .array((r.failing?.failures ?? []).map(failure))),
        ]
        if let w = r.workload { o.append(("workload", .string(w))) }
        if let m = r.minimal {
            o.append(("minimal", .object([("plan", plan(m.plan)), ("reproduce", .string(m.reproducer)),
                                          ("shrinkRuns", .int(Int64(r.shrinkRuns))), ("failures", .array(m.failures.map(failure)))])))
        }
        return .object(o)
    }

    /// The head every sweep and campaign object starts with.
    static func head(kind: String, scenario: String, profile: String, meta: ReportMeta, outcomes: OutcomeCounts,
                     vacuity: String?, exitStatus: Int32, baselineFailures: [Failure]) -> [(String, JSONValue)] {
        [
            ("kind", .string(kind)), ("jhsimVersion", .string(meta.jhsimVersion)),
            ("scenario", .string(scenario)), ("scenarioSHA256", .string(meta.scenarioSHA256)),
            ("profile", .string(profile)), ("baselineTraceHash", .string(meta.baselineTraceHash)),
            ("runs", .int(Int64(outcomes.runs))), ("clean", .int(Int64(outcomes.clean))),
            ("violations", .int(Int64(outcomes.count(.invariant)))), ("quirks", .int(Int64(outcomes.count(.quirk)))),
            ("hangs", .int(Int64(outcomes.count(.hang)))), ("crashes", .int(Int64(outcomes.count(.trap)))),
            ("liveness", .int(Int64(outcomes.count(.liveness)))), ("expectations", .int(Int64(outcomes.count(.expectation)))),
            ("exitStatus", .int(Int64(exitStatus))), ("vacuous", vacuity.map { .string($0) } ?? .null),
            ("baselineFailures", .array(baselineFailures.map(failure))),
        ]
    }

    static func difference(_ d: ProfileDifference) -> JSONValue {
        .object([("plan", plan(d.plan)), ("upstream", .string(d.upstream?.rawValue ?? "clean")),
                 ("fixed", .string(d.fixed?.rawValue ?? "clean")), ("quirk", quirk(d.quirk)),
                 ("upstreamLine", d.upstreamLine.map { .string($0) } ?? .null),
                 ("fixedLine", d.fixedLine.map { .string($0) } ?? .null), ("reproduce", .string(d.reproducer))])
    }

    static func sweep(_ r: SweepReport) -> JSONValue {
        var o = head(kind: "sweep", scenario: r.scenario, profile: r.profile, meta: r.meta, outcomes: r.outcomes,
                     vacuity: r.vacuity, exitStatus: r.exitStatus, baselineFailures: r.baselineFailures)
        o += [
            ("cases", .array(r.cases.map(`case`))), ("truncated", .bool(r.truncated)),
        ]
        if r.compared {
            o += [("differing", .int(Int64(r.differences.count))), ("differences", .array(r.differences.map(difference)))]
        }
        o += [
            ("sites", .array(r.rows.map { row in
                .object([("site", .string(row.coverage.site)), ("hits", .int(Int64(row.coverage.hits))),
                         ("runs", .int(Int64(row.runs))), ("fired", .int(Int64(row.fired))),
                         ("failures", .int(Int64(row.failures))),
                         ("breakdown", .array(row.coverage.breakdown.map {
                             .object([("where", .string($0.key)), ("hits", .int(Int64($0.hits)))])
                         }))])
            })),
        ]
        return .object(o)
    }

    static func campaign(_ r: Campaign.Report, runs: Int, rulesPerRun: Int) -> JSONValue {
        var o = head(kind: "campaign", scenario: r.scenario, profile: r.profile, meta: r.meta, outcomes: r.outcomes,
                     vacuity: r.vacuity, exitStatus: r.exitStatus, baselineFailures: r.baselineFailures)
        o += [
            ("cases", .array(r.records.map(`case`))),
            ("seed", .string(String(r.seed))), ("requestedRuns", .int(Int64(runs))), ("rulesPerRun", .int(Int64(rulesPerRun))),
            ("runsDone", .int(Int64(r.runsDone))), ("injected", .int(Int64(r.injected))),
            ("sitesInjected", .array(r.sitesInjected.map { .string($0) })),
            ("discovered", .array(r.discovered.map { .string($0) })),
        ]
        return .object(o)
    }

    static func run(_ r: RunResult, reproducer: String) -> JSONValue {
        .object([
            ("kind", .string("run")), ("plan", plan(r.plan)),
            ("seed", .string(String(r.seed))), ("fired", .array(r.fired.map { .int(Int64($0)) })),
            ("commands", .array(r.transcript.map { .string($0) })),
            ("liveness", .array(r.liveness.map { .string($0) })),
            ("unfired", .array(r.unfired.map { .object([("rule", .string($0.rule.description)), ("matched", .int(Int64($0.matched)))]) })),
            ("class", r.worst.map { .string($0.rawValue) } ?? .null),
            ("exitStatus", .int(Int64(r.worst?.exitStatus ?? 0))),
            ("failures", .array(r.failures.map(failure))),
            ("traceHash", .string(r.traceHash)), ("reproducer", .string(reproducer)),
        ])
    }
}
