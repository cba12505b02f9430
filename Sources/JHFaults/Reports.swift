import JHLab
import JHMachine

// Human text and JSON views of sweeps, campaigns, shrinks and single runs. Everything
// printed is a function of the inputs (no timings, no dictionary order), so a report
// can be compared byte for byte.

enum ReportText {
    static func failures(_ fs: [Failure], indent: String = "  ") -> String {
        fs.map { f in
            "\(indent)[\(f.kind.rawValue)] after command \(f.command) (line \(f.line): \(f.commandLine)): \(f.message)\n"
        }.joined()
    }

    static func failing(_ r: FailingRun, label: String) -> String {
        "FAIL [\(r.worst.rawValue)] \(label)\(r.plan)\n" + failures(r.failures) + "  reproduce: \(r.reproducer)\n"
    }

    static func baseline(_ fs: [Failure], scenario: String) -> String {
        "The scenario fails without any fault, so nothing was injected; fix the scenario first (`jhsim run \(scenario)` shows it):\n"
            + failures(fs)
    }

    static func classCounts(_ fs: [FailureClass]) -> String {
        FailureClass.allCases.compactMap { c in
            let n = fs.filter { $0 == c }.count
            return n > 0 ? "\(c.rawValue) \(n)" : nil
        }.joined(separator: ", ")
    }

    static func sweep(_ r: SweepReport) -> String {
        var s = "Fault sweep of \(r.scenario), profile \(r.profile)\n"
        guard r.baselineFailures.isEmpty else { return s + baseline(r.baselineFailures, scenario: r.scenario) }
        s += "\(r.runs) runs over \(r.rows.count) sites, one failing hit each\(r.truncated ? " (stopped at --max-runs)" : "")\n\n"
        s += TextTable.render(header: ["SITE", "HITS", "RUNS", "FIRED", "FAILURES"],
                              rows: r.rows.map { [$0.coverage.site, "\($0.coverage.hits)", "\($0.runs)", "\($0.fired)", "\($0.failures)"] })
        s += "\nHits by CPU and detail:\n"
        for row in r.rows { s += "  \(row.coverage.site): \(row.coverage.summary)\n" }
        s += "\n"
        if r.failing.isEmpty {
            s += "No failures: every run left a consistent box.\n"
        } else {
            s += "\(r.failing.count) failing runs (\(classCounts(r.failing.map(\.worst)))):\n"
            for f in r.failing { s += failing(f, label: "") }
        }
        return s
    }

    static func campaign(_ r: Campaign.Report, runs: Int, rulesPerRun: Int) -> String {
        var s = "SEED=\(r.seed)\n"
        s += "Fault campaign of \(r.scenario), profile \(r.profile): \(runs) runs, up to \(rulesPerRun) rules each\n"
        guard r.baselineFailures.isEmpty else { return s + baseline(r.baselineFailures, scenario: r.scenario) }
        let failingRecords = r.records
        s += "\(r.runsDone) runs, \(r.injected) faults injected into \(r.sitesInjected.count) sites: \(r.sitesInjected.joined(separator: ", "))\n\n"
        if failingRecords.isEmpty {
            s += "No failures: every run left a consistent box.\n"
        } else {
            s += "\(failingRecords.count) failing runs (\(classCounts(failingRecords.compactMap { $0.failing?.worst }))):\n"
            for rec in failingRecords {
                guard let f = rec.failing else { continue }
                s += failing(f, label: "run \(rec.index) seed \(rec.seed): ")
                if let m = rec.minimal {
                    s += "  shrunk in \(rec.shrinkRuns) runs to: \(m.plan)\n  minimal reproducer: \(m.reproducer)\n"
                }
            }
        }
        return s
    }

    static func run(_ r: RunResult, reproducer: String) -> String {
        var s = "Plan: \(r.plan.rules.isEmpty ? "(none)" : r.plan.description)\n"
        for line in r.transcript { s += line + "\n" }
        let fired = zip(r.plan.rules, r.fired).map { "\($0.0.description) fired \($0.1)×" }
        if !fired.isEmpty { s += "Injected: " + fired.joined(separator: ", ") + "\n" }
        if r.failures.isEmpty {
            s += "OK: the box stayed consistent after every command.\n"
        } else {
            s += "FAIL [\(r.worst?.rawValue ?? "")]\n" + failures(r.failures) + "  reproduce: \(reproducer)\n"
        }
        return s
    }
}

enum ReportJSON {
    static func failure(_ f: Failure) -> JSONValue {
        .object([("class", .string(f.kind.rawValue)), ("command", .int(Int64(f.command))),
                 ("line", .int(Int64(f.line))), ("commandLine", .string(f.commandLine)), ("message", .string(f.message))])
    }

    static func failing(_ r: FailingRun) -> JSONValue {
        .object([("class", .string(r.worst.rawValue)), ("plan", .array(r.plan.rules.map { .string($0.description) })),
                 ("seed", .string(String(r.seed))), ("failures", .array(r.failures.map(failure))),
                 ("reproducer", .string(r.reproducer))])
    }

    static func sweep(_ r: SweepReport) -> JSONValue {
        .object([
            ("kind", .string("sweep")), ("scenario", .string(r.scenario)), ("profile", .string(r.profile)),
            ("exitStatus", .int(Int64(r.exitStatus))),
            ("baselineFailures", .array(r.baselineFailures.map(failure))),
            ("runs", .int(Int64(r.runs))), ("truncated", .bool(r.truncated)),
            ("sites", .array(r.rows.map { row in
                .object([("site", .string(row.coverage.site)), ("hits", .int(Int64(row.coverage.hits))),
                         ("runs", .int(Int64(row.runs))), ("fired", .int(Int64(row.fired))),
                         ("failures", .int(Int64(row.failures))),
                         ("breakdown", .array(row.coverage.breakdown.map {
                             .object([("where", .string($0.key)), ("hits", .int(Int64($0.hits)))])
                         }))])
            })),
            ("failing", .array(r.failing.map(failing))),
        ])
    }

    static func campaign(_ r: Campaign.Report, runs: Int, rulesPerRun: Int) -> JSONValue {
        .object([
            ("kind", .string("campaign")), ("seed", .string(String(r.seed))), ("scenario", .string(r.scenario)),
            ("profile", .string(r.profile)), ("runs", .int(Int64(runs))), ("rulesPerRun", .int(Int64(rulesPerRun))),
            ("exitStatus", .int(Int64(r.exitStatus))),
            ("baselineFailures", .array(r.baselineFailures.map(failure))),
            ("sitesInjected", .array(r.sitesInjected.map { .string($0) })),
            ("runsDone", .int(Int64(r.runsDone))), ("injected", .int(Int64(r.injected))),
            // The failing runs only: clean runs are counted, not kept (flat memory).
            ("records", .array(r.records.map { rec in
                var o: [(String, JSONValue)] = [
                    ("run", .int(Int64(rec.index))), ("seed", .string(String(rec.seed))),
                    ("plan", .array(rec.plan.rules.map { .string($0.description) })),
                    ("injected", .int(Int64(rec.injected))),
                    ("failing", rec.failing.map(failing) ?? .null),
                ]
                if let m = rec.minimal { o.append(("minimal", failing(m))); o.append(("shrinkRuns", .int(Int64(rec.shrinkRuns)))) }
                return .object(o)
            })),
        ])
    }

    static func run(_ r: RunResult, reproducer: String) -> JSONValue {
        .object([
            ("kind", .string("run")), ("plan", .array(r.plan.rules.map { .string($0.description) })),
            ("seed", .string(String(r.seed))), ("fired", .array(r.fired.map { .int(Int64($0)) })),
            ("commands", .array(r.transcript.map { .string($0) })),
            ("class", r.worst.map { .string($0.rawValue) } ?? .null),
            ("exitStatus", .int(Int64(r.worst?.exitStatus ?? 0))),
            ("failures", .array(r.failures.map(failure))),
            ("traceHash", .string(r.traceHash)), ("reproducer", .string(reproducer)),
        ])
    }
}
