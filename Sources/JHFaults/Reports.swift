import JHLab
import JHMachine

// Human text and JSON views of sweeps, campaigns, shrinks and single runs. Everything
// printed is a function of the inputs (no timings, no dictionary order), so a report
// can be compared byte for byte. The per-run pieces (`ReportText.record`,
// `ReportJSON.record`) render one `RunRecord` alone, for streaming writers.

enum ReportText {
    static func failures(_ fs: [Failure], indent: String = "  ") -> String {
        fs.map { f in
            let quirk = f.quirk.map { " quirk \($0.number) (\($0.rawValue))" } ?? ""
            let place = f.command == 0 ? "in the liveness phase (\(f.commandLine))"
                : "after command \(f.command) (line \(f.line): \(f.commandLine))"
            return "\(indent)[\(f.kind.rawValue)]\(quirk) \(place): \(f.message)\n"
        }.joined()
    }

    static func warnings(_ unfired: [UnfiredRule]) -> String {
        unfired.map { "  warning: \($0.warning)\n" }.joined()
    }

    /// One non-clean run with its findings and reproducer(s).
    static func record(_ r: RunRecord, label: String) -> String {
        var s = "FAIL [\(r.outcome?.rawValue ?? "clean")] \(label)\(r.plan)\n" + failures(r.failures) + warnings(r.unfired)
        s += "  reproduce: \(r.reproducer)\n"
        if let m = r.minimal {
            s += "  shrunk in \(m.runs) runs to: \(m.plan)\n  minimal reproducer: \(m.reproducer)\n"
        }
        return s
    }

    static func baseline(_ fs: [Failure], scenario: String) -> String {
        "The scenario fails without any fault, so nothing was injected; fix the scenario first (`jhsim run \(scenario)` shows it):\n"
            + failures(fs)
    }

    static func vacuous(_ v: Vacuity, baseline fs: [Failure], scenario: String) -> String {
        var s = "VACUOUS: \(v.reason).\n"
        if case .baselineFails = v { s += baseline(fs, scenario: scenario) }
        return s
    }

    static func differences(_ ds: [ProfileDifference]) -> String {
        guard !ds.isEmpty else { return "\nThe profiles agree on every plan.\n" }
        var s = "\n\(ds.count) plans behave differently on upstream and fixed:\n"
        for d in ds {
            let q = d.quirk.map { "quirk \($0.number) (\($0.rawValue)): \($0.summary)" } ?? "no single quirk explains it"
            s += "DIFF \(d.plan): upstream \(d.upstream?.rawValue ?? "clean"), fixed \(d.fixed?.rawValue ?? "clean") — \(q)\n"
            if let u = d.upstreamLine, let f = d.fixedLine { s += "  upstream: \(u)\n  fixed:    \(f)\n" }
            s += "  reproduce: \(d.reproducer)\n"
        }
        return s
    }

    static func sweep(_ r: SweepReport) -> String {
        var s = "Fault sweep of \(r.scenario), profile \(r.profile)\(r.depth >= 2 ? ", pairs of faults" : "")\n"
        if let v = r.vacuity { return s + vacuous(v, baseline: r.baselineFailures, scenario: r.scenario) }
        let what = r.depth >= 2 ? "two failing hits each" : "one failing hit each"
        s += "\(r.runs) runs over \(r.rows.count) sites, \(what)\(r.truncated ? " (sampled by --max-runs from \(r.planned))" : "")\n\n"
        s += TextTable.render(header: ["SITE", "HITS", "RUNS", "FIRED", "FAILURES"],
                              rows: r.rows.map { [$0.coverage.site, "\($0.coverage.hits)", "\($0.runs)", "\($0.fired)", "\($0.failures)"] })
        s += "\nHits by CPU and detail:\n"
        for row in r.rows { s += "  \(row.coverage.site): \(row.coverage.summary)\n" }
        s += "\n"
        if r.failing.isEmpty {
            s += "No failures: every run left a consistent box.\n"
        } else {
            s += "\(r.failing.count) failing runs (\(r.tally.summary)):\n"
            for f in r.failing { s += record(f, label: "") }
        }
        if !r.differences.isEmpty || r.compared { s += differences(r.differences) }
        return s
    }

    static func campaign(_ r: Campaign.Report, runs: Int, rulesPerRun: Int) -> String {
        var s = "SEED=\(r.seed)\n"
        s += "Fault campaign of \(r.scenario), profile \(r.profile): \(runs) runs, up to \(rulesPerRun) rules each\n"
        if let v = r.vacuity { return s + vacuous(v, baseline: r.baselineFailures, scenario: r.scenario) }
        s += "\(r.tally.runs) runs, \(r.tally.faultsInjected) faults injected into \(r.sitesInjected.count) sites: \(r.sitesInjected.joined(separator: ", "))\n"
        if !r.discovered.isEmpty {
            s += "Reached only under faults (discovered): \(r.discovered.joined(separator: ", "))\n"
        }
        if r.exhausted { s += "Stopped early: no new plan could be drawn.\n" }
        s += "\n"
        if r.failing.isEmpty {
            s += "No failures: every run left a consistent box.\n"
        } else {
            s += "\(r.failing.count) failing runs (\(r.tally.summary)):\n"
            for rec in r.failing { s += record(rec, label: "run \(rec.index) seed \(rec.seed): ") }
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

    static func plan(_ p: FaultPlan) -> JSONValue { .array(p.rules.map { .string($0.description) }) }

    /// One case (a non-clean run): the fields tools key on first, then the details.
    static func record(_ r: RunRecord) -> JSONValue {
        var o: [(String, JSONValue)] = [
            ("site", r.site.map { .string($0) } ?? .null), ("hit", r.hit.map { .int(Int64($0)) } ?? .null),
            ("plan", plan(r.plan)), ("outcome", .string(r.outcome?.rawValue ?? "clean")),
            ("errno", r.errno.map { .string($0.name) } ?? .null),
            ("invariants", .array(r.invariants.map { .string($0) })), ("quirk", quirk(r.quirk)),
            ("command", r.lead.map { .string($0.commandLine) } ?? .null),
            ("line", r.lead.map { .int(Int64($0.line)) } ?? .null),
            ("reproduce", .string(r.reproducer)),
            ("run", .int(Int64(r.index))), ("seed", .string(String(r.seed))),
            ("failures", .array(r.failures.map(failure))),
            ("unfired", .array(r.unfired.map { .object([("rule", .string($0.rule.description)), ("matched", .int(Int64($0.matched)))]) })),
        ]
        if let m = r.minimal {
            o.append(("minimal", .object([("plan", plan(m.plan)), ("reproduce", .string(m.reproducer)),
                                          ("shrinkRuns", .int(Int64(m.runs))), ("failures", .array(m.failures.map(failure)))])))
        }
        return .object(o)
    }

    /// The head every sweep and campaign object starts with.
    static func head(kind: String, origin: ReportOrigin, tally: FaultTally, vacuity: Vacuity?, exitStatus: Int32,
                     baselineFailures: [Failure]) -> [(String, JSONValue)] {
        [
            ("kind", .string(kind)), ("jhsimVersion", .string(origin.jhsimVersion)),
            ("scenario", .string(origin.scenario)), ("scenarioSHA256", .string(origin.scenarioSHA256)),
            ("profile", .string(origin.profile)), ("baselineTraceHash", .string(origin.baselineTraceHash)),
            ("runs", .int(Int64(tally.runs))), ("clean", .int(Int64(tally.clean))),
            ("violations", .int(Int64(tally.count(.invariant)))), ("quirks", .int(Int64(tally.count(.quirk)))),
            ("hangs", .int(Int64(tally.count(.hang)))), ("crashes", .int(Int64(tally.count(.trap)))),
            ("liveness", .int(Int64(tally.count(.liveness)))), ("expectations", .int(Int64(tally.count(.expectation)))),
            ("exitStatus", .int(Int64(exitStatus))),
            ("vacuous", vacuity.map { .string($0.reason) } ?? .null),
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
        var o = head(kind: "sweep", origin: r.origin, tally: r.tally, vacuity: r.vacuity, exitStatus: r.exitStatus,
                     baselineFailures: r.baselineFailures)
        o += [
            ("cases", .array(r.failing.map(record))),
            ("depth", .int(Int64(r.depth))), ("planned", .int(Int64(r.planned))), ("truncated", .bool(r.truncated)),
            ("sites", .array(r.rows.map { row in
                .object([("site", .string(row.coverage.site)), ("hits", .int(Int64(row.coverage.hits))),
                         ("runs", .int(Int64(row.runs))), ("fired", .int(Int64(row.fired))),
                         ("failures", .int(Int64(row.failures))),
                         ("breakdown", .array(row.coverage.breakdown.map {
                             .object([("where", .string($0.key)), ("hits", .int(Int64($0.hits)))])
                         }))])
            })),
        ]
        if r.compared { o.append(("differences", .array(r.differences.map(difference)))) }
        return .object(o)
    }

    static func campaign(_ r: Campaign.Report, runs: Int, rulesPerRun: Int) -> JSONValue {
        var o = head(kind: "campaign", origin: r.origin, tally: r.tally, vacuity: r.vacuity, exitStatus: r.exitStatus,
                     baselineFailures: r.baselineFailures)
        o += [
            ("cases", .array(r.failing.map(record))),
            ("seed", .string(String(r.seed))), ("requestedRuns", .int(Int64(runs))), ("rulesPerRun", .int(Int64(rulesPerRun))),
            ("faultsInjected", .int(Int64(r.tally.faultsInjected))),
            ("sitesInjected", .array(r.sitesInjected.map { .string($0) })),
            ("discovered", .array(r.discovered.map { .string($0) })), ("exhausted", .bool(r.exhausted)),
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
