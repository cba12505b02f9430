import Foundation
import JHDriver
import JHLab
import JHMachine

// The `.jsonl` result stream of a campaign or sweep (`--out FILE`, `--jsonl`): one JSON
// object per line, each line written whole and at once, so a process killed at any
// moment leaves a file whose complete lines are all valid.
//
//   {"kind":"header","format":"jhsim-faults/1","shard":"K/N","campaign":{…identity…}}
//   {"kind":"run","run":I,"seed":"S","plan":[…],"injected":N,"sites":[…],"failing":{…}|null[,"minimal":{…},"shrinkRuns":N]}
//   …
//   {"kind":"summary","shard":"K/N","runs":N,"injected":N,"failing":N,"exitStatus":S}
//
// The header's `campaign` object is everything the report needs besides the runs (jhsim
// version, canonical arguments, scenario digest, the fault-free run's failures and
// coverage), so `faults merge` prints a report without rerunning anything, and two files
// belong to one campaign exactly when their `campaign` objects are equal.

/// The identity and the run-independent part of a campaign or sweep.
public struct StreamHeader: Sendable {
    public static let format = "jhsim-faults/1"

    /// `campaign` or `sweep`.
    public var tool: String
    public var version: String
    /// The arguments that decide the runs, in a fixed order (not how they were typed).
    public var arguments: [String]
    public var scenario: String
    public var scenarioSHA256: String
    public var profile: String
    public var seed: UInt64
    /// Campaign: runs asked for; sweep: 0.
    public var runs: Int
    public var rulesPerRun: Int
    /// Runs numbered 1...total (0 when the fault-free run failed).
    public var total: Int
    public var baselineFailures: [Failure]
    /// Sweep only: the swept sites' hits in the fault-free run.
    public var coverage: [SiteCoverage]
    /// Sweep only: `--max-runs` cut the cases.
    public var truncated: Bool
    /// The fault-free run's trace hash.
    public var baselineTraceHash = ""
    /// Why the sweep or campaign tests nothing (exit 8), if so.
    public var vacuity: String? = nil
    /// Campaign: sites found only under faults.
    public var discovered: [String] = []
    /// Sweep: every case also ran on both profiles (`--compare-profiles`).
    public var compared = false

    var identity: JSONValue {
        var o: [(String, JSONValue)] = [
            ("tool", .string(tool)), ("jhsim", .string(version)), ("arguments", .array(arguments.map { .string($0) })),
            ("scenario", .string(scenario)), ("scenarioSHA256", .string(scenarioSHA256)), ("profile", .string(profile)),
            ("seed", .string(String(seed))), ("runs", .int(Int64(runs))), ("rulesPerRun", .int(Int64(rulesPerRun))),
            ("total", .int(Int64(total))), ("baselineFailures", .array(baselineFailures.map(ReportJSON.failure))),
            ("baselineTraceHash", .string(baselineTraceHash)), ("vacuous", vacuity.map { .string($0) } ?? .null),
            ("discovered", .array(discovered.map { .string($0) })),
        ]
        if tool == "sweep" {
            if compared { o.append(("compareProfiles", .bool(true))) }
            o.append(("truncated", .bool(truncated)))
            o.append(("coverage", .array(coverage.map { c in
                .object([("site", .string(c.site)), ("hits", .int(Int64(c.hits))),
                         ("breakdown", .array(c.breakdown.map { .object([("where", .string($0.key)), ("hits", .int(Int64($0.hits)))]) }))])
            })))
        }
        return .object(o)
    }

    var meta: ReportMeta {
        var m = ReportMeta()
        m.jhsimVersion = version
        m.scenarioSHA256 = scenarioSHA256
        m.baselineTraceHash = baselineTraceHash
        return m
    }

    /// The header line (without its newline).
    func line(shard: Shard) -> String {
        JSONValue.object([("kind", .string("header")), ("format", .string(Self.format)), ("shard", .string(shard.description)),
                          ("campaign", identity)]).text()
    }

    /// The text or JSON report of the runs in `tally`, exactly as a one-process run prints it.
    func render(_ tally: RunTally, json: Bool) -> (text: String, status: Int32) {
        if tool == "sweep" {
            var r = SweepReport(tally, scenario: scenario, profile: profile, baselineFailures: baselineFailures,
                                coverage: coverage, truncated: truncated, vacuity: vacuity, compared: compared)
            r.meta = meta
            return (json ? ReportJSON.sweep(r).text(indent: 2) + "\n" : ReportText.sweep(r), r.exitStatus)
        }
        var r = Campaign.Report(tally, seed: seed, scenario: scenario, profile: profile, baselineFailures: baselineFailures)
        r.meta = meta
        r.vacuity = vacuity ?? r.vacuity
        r.discovered = discovered
        return (json ? ReportJSON.campaign(r, runs: runs, rulesPerRun: rulesPerRun).text(indent: 2) + "\n"
                     : ReportText.campaign(r, runs: runs, rulesPerRun: rulesPerRun), r.exitStatus)
    }
}

/// Encoding and decoding of the stream's lines.
enum StreamLine {
    static func run(_ r: FaultRunRecord) -> String {
        var o: [(String, JSONValue)] = [
            ("kind", .string("run")), ("run", .int(Int64(r.index))), ("seed", .string(String(r.seed))),
            ("plan", .array(r.plan.words.map { .string($0) })), ("injected", .int(Int64(r.injected))),
            ("sites", .array(r.sites.map { .string($0) })), ("failing", r.failing.map(ReportJSON.failing) ?? .null),
        ]
        if let m = r.minimal { o.append(("minimal", ReportJSON.failing(m))); o.append(("shrinkRuns", .int(Int64(r.shrinkRuns)))) }
        if let d = r.difference { o.append(("difference", ReportJSON.difference(d))) }
        if let w = r.workload { o.append(("workload", .string(w))) }
        return JSONValue.object(o).text()
    }

    static func summary(_ t: RunTally, shard: Shard, status: Int32) -> String {
        JSONValue.object([("kind", .string("summary")), ("shard", .string(shard.description)), ("runs", .int(Int64(t.runs))),
                          ("injected", .int(Int64(t.injected))), ("failing", .int(Int64(t.failing.count))),
                          ("exitStatus", .int(Int64(status)))]).text()
    }

    struct Bad: Error { var message: String }

    /// A line as a JSON object; nil when it is not one (a cut-off line).
    static func object(_ line: Data) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: line)) as? [String: Any]
    }

    static func string(_ o: [String: Any], _ key: String) throws(Bad) -> String {
        guard let s = o[key] as? String else { throw Bad(message: "'\(key)' is missing or not a string") }
        return s
    }

    static func int(_ o: [String: Any], _ key: String) throws(Bad) -> Int {
        guard let n = o[key] as? Int else { throw Bad(message: "'\(key)' is missing or not a number") }
        return n
    }

    static func plan(_ v: Any?) throws(Bad) -> FaultPlan {
        guard let words = v as? [String] else { throw Bad(message: "'plan' is not a list of rules") }
        var plan = FaultPlan()
        for w in words {
            do { try plan.append(parsing: w, catalog: SimulatedBox.faultCatalog) } catch {
                throw Bad(message: "bad rule '\(w)': \(error.message)")
            }
        }
        return plan
    }

    static func failure(_ v: Any) throws(Bad) -> Failure {
        guard let o = v as? [String: Any] else { throw Bad(message: "a failure is not an object") }
        let c = try string(o, "class")
        guard let kind = FailureClass(rawValue: c) else { throw Bad(message: "unknown failure class '\(c)'") }
        return Failure(kind: kind, command: try int(o, "command"), commandLine: try string(o, "commandLine"),
                       line: try int(o, "line"), message: try string(o, "message"), quirk: try quirk(o["quirk"]))
    }

    /// A quirk object (`{"number":N,"name":…}`) or null.
    static func quirk(_ v: Any?) throws(Bad) -> Quirk? {
        guard let v, !(v is NSNull) else { return nil }
        guard let o = v as? [String: Any], let n = o["number"] as? Int, let q = Quirk.allCases.first(where: { $0.number == n }) else {
            throw Bad(message: "bad quirk \(v)")
        }
        return q
    }

    /// A `--compare-profiles` difference, as `ReportJSON.difference` writes it.
    static func difference(_ v: Any?) throws(Bad) -> ProfileDifference? {
        guard let v, !(v is NSNull) else { return nil }
        guard let o = v as? [String: Any] else { throw Bad(message: "a difference is not an object") }
        func outcome(_ key: String) throws(Bad) -> FailureClass? {
            let s = try string(o, key)
            if s == "clean" { return nil }
            guard let c = FailureClass(rawValue: s) else { throw Bad(message: "unknown outcome '\(s)'") }
            return c
        }
        return ProfileDifference(plan: try plan(o["plan"]), upstream: try outcome("upstream"), fixed: try outcome("fixed"),
                                 upstreamLine: o["upstreamLine"] as? String, fixedLine: o["fixedLine"] as? String,
                                 quirk: try quirk(o["quirk"]), reproducer: try string(o, "reproduce"))
    }

    static func failures(_ v: Any?) throws(Bad) -> [Failure] {
        guard let a = v as? [Any] else { throw Bad(message: "failures are not a list") }
        var out: [Failure] = []
        for f in a { out.append(try failure(f)) }
        return out
    }

    static func failing(_ v: Any?) throws(Bad) -> FailingRun? {
        guard let v, !(v is NSNull) else { return nil }
        guard let o = v as? [String: Any] else { throw Bad(message: "a failing run is not an object") }
        guard let seed = UInt64(try string(o, "seed")) else { throw Bad(message: "bad seed") }
        return FailingRun(plan: try plan(o["plan"]), seed: seed, failures: try failures(o["failures"]),
                          reproducer: try string(o, "reproducer"))
    }

    static func record(_ o: [String: Any]) throws(Bad) -> FaultRunRecord {
        guard let seed = UInt64(try string(o, "seed")) else { throw Bad(message: "bad seed") }
        guard let sites = o["sites"] as? [String] else { throw Bad(message: "'sites' is not a list") }
        var r = FaultRunRecord(index: try int(o, "run"), seed: seed, plan: try plan(o["plan"]), injected: try int(o, "injected"),
                               sites: sites, failing: try failing(o["failing"]))
        if o["minimal"] != nil {
            r.minimal = try failing(o["minimal"])
            r.shrinkRuns = try int(o, "shrinkRuns")
        }
        r.difference = try difference(o["difference"])
        r.workload = o["workload"] as? String
        return r
    }

    /// The header line's fields; `campaign` stays a dictionary for comparison.
    static func header(_ o: [String: Any]) throws(Bad) -> (shard: Shard, campaign: [String: Any], header: StreamHeader) {
        guard o["kind"] as? String == "header" else { throw Bad(message: "the first line is not a jhsim faults header") }
        guard o["format"] as? String == StreamHeader.format else {
            throw Bad(message: "unknown format '\(o["format"] ?? "")' (this jhsim reads \(StreamHeader.format))")
        }
        let shard: Shard
        do { shard = try Shard(parsing: try string(o, "shard")) } catch let e as LabError { throw Bad(message: e.message) } catch {
            throw Bad(message: "bad shard")
        }
        guard let c = o["campaign"] as? [String: Any] else { throw Bad(message: "the header has no campaign") }
        guard let seed = UInt64(try string(c, "seed")) else { throw Bad(message: "bad seed") }
        var h = StreamHeader(tool: try string(c, "tool"), version: try string(c, "jhsim"),
                             arguments: (c["arguments"] as? [String]) ?? [], scenario: try string(c, "scenario"),
                             scenarioSHA256: try string(c, "scenarioSHA256"), profile: try string(c, "profile"), seed: seed,
                             runs: try int(c, "runs"), rulesPerRun: try int(c, "rulesPerRun"), total: try int(c, "total"),
                             baselineFailures: try failures(c["baselineFailures"]), coverage: [], truncated: false)
        h.baselineTraceHash = (c["baselineTraceHash"] as? String) ?? ""
        h.vacuity = c["vacuous"] as? String
        h.discovered = (c["discovered"] as? [String]) ?? []
        if h.tool == "sweep" {
            h.compared = (c["compareProfiles"] as? Bool) ?? false
            h.truncated = (c["truncated"] as? Bool) ?? false
            guard let cov = c["coverage"] as? [[String: Any]] else { throw Bad(message: "a sweep header needs 'coverage'") }
            for row in cov {
                guard let b = row["breakdown"] as? [[String: Any]] else { throw Bad(message: "bad coverage") }
                var breakdown: [(key: String, hits: Int)] = []
                for e in b { breakdown.append((try string(e, "where"), try int(e, "hits"))) }
                h.coverage.append(SiteCoverage(site: try string(row, "site"), hits: try int(row, "hits"), breakdown: breakdown))
            }
        }
        return (shard, c, h)
    }

    /// Names the first field in which two headers' campaigns differ (nil: same campaign).
    static func difference(_ a: [String: Any], _ b: [String: Any]) -> String? {
        func show(_ v: Any?) -> String {
            guard let v else { return "(none)" }
            guard let d = try? JSONSerialization.data(withJSONObject: v, options: [.fragmentsAllowed, .sortedKeys]) else { return "\(v)" }
            return String(decoding: d, as: UTF8.self)
        }
        for key in Set(a.keys).union(b.keys).sorted() where show(a[key]) != show(b[key]) {
            func short(_ s: String) -> String { s.count > 120 ? String(s.prefix(119)) + "…" : s }
            return "\(key) \(short(show(a[key]))) vs \(short(show(b[key])))"
        }
        return nil
    }
}

/// Reads a file line by line in fixed-size chunks (a 10M-run file is gigabytes).
struct LineReader {
    let handle: FileHandle
    /// A pipe: take whatever has arrived instead of waiting for a whole block.
    let streaming: Bool
    private var buffer = Data()
    private var atEnd = false
    /// Byte offset just after the last line returned.
    private(set) var offset: UInt64 = 0
    private(set) var lineNumber = 0

    init(path: String) throws(LabError) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw LabError("\(path): No such file or directory") }
        guard !isDir.boolValue else { throw LabError("reading \(path): Is a directory") }
        guard let h = FileHandle(forReadingAtPath: path) else { throw LabError("\(path): cannot be opened for reading") }
        handle = h
        streaming = false
    }

    init(handle: FileHandle, streaming: Bool) { self.handle = handle; self.streaming = streaming }

    /// The next line without its newline, and whether it ended in one (the last line of a
    /// file cut off mid-write does not).
    mutating func next() -> (line: Data, complete: Bool)? {
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                let line = buffer[buffer.startIndex..<nl]
                buffer = buffer[(nl + 1)...]
                offset += UInt64(line.count + 1)
                lineNumber += 1
                return (Data(line), true)
            }
            if atEnd {
                guard !buffer.isEmpty else { return nil }
                let line = buffer
                buffer = Data()
                offset += UInt64(line.count)
                lineNumber += 1
                return (Data(line), false)
            }
            let chunk = streaming ? handle.availableData : handle.readData(ofLength: 1 << 16)
            if chunk.isEmpty { atEnd = true } else { buffer.append(chunk) }
        }
    }
}

/// Which runs of 1...total have been seen: one bit each (10M runs: 1.25 MB).
struct RunSet {
    private var words: [UInt64]
    let total: Int
    init(total: Int) { self.total = total; words = Array(repeating: 0, count: (max(total, 0) + 64) / 64) }
    func contains(_ i: Int) -> Bool { i >= 1 && i <= total && words[i / 64] & (1 << UInt64(i % 64)) != 0 }
    /// - Returns: false when `i` was already there.
    @discardableResult mutating func insert(_ i: Int) -> Bool {
        guard !contains(i) else { return false }
        words[i / 64] |= 1 << UInt64(i % 64)
        return true
    }
}

/// Where finished lines go: a file (appended to, one write per line) or a live sink.
final class StreamWriter: @unchecked Sendable {
    private let handle: FileHandle?
    private let sink: ((String) -> Void)?
    let name: String

    /// Creates `path` (refusing to overwrite it) or, with `append`, opens it at its end.
    init(path: String, name: String? = nil, append: Bool) throws(LabError) {
        let name = name ?? path
        self.name = name
        if !append {
            guard !FileManager.default.fileExists(atPath: path) else {
                throw LabError("\(name) exists; continue it with --resume \(name), or remove it")
            }
            guard FileManager.default.createFile(atPath: path, contents: nil) else { throw LabError("cannot create \(name)") }
        }
        guard let h = FileHandle(forWritingAtPath: path) else { throw LabError("cannot open \(name) for writing") }
        _ = try? h.seekToEnd()
        handle = h
        sink = nil
    }

    init(name: String, sink: @escaping (String) -> Void) { self.name = name; handle = nil; self.sink = sink }

    /// Writes `line` and its newline in one write, so a kill leaves whole lines or a cut
    /// last line — never two lines mixed.
    func write(_ line: String) throws(LabError) {
        if let sink { sink(line + "\n"); return }
        do { try handle?.write(contentsOf: Data((line + "\n").utf8)) } catch { throw LabError("writing \(name): \(error.localizedDescription)") }
    }

    func close() { try? handle?.close() }
}
