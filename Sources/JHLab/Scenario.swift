import Foundation
import JHABI
import JHMachine

/// Splits a scenario line into words like a POSIX shell does for simple cases: blanks
/// separate words, '…' and "…" quote, a backslash escapes the next character, and an
/// unquoted `#` at the start of a word begins a comment.
public enum ScenarioLexer {
    public static func split(_ line: String) throws(LabError) -> [String] {
        var words: [String] = []
        var cur = ""
        var inWord = false
        var quote: Character? = nil
        var it = line.makeIterator()
        while let c = it.next() {
            if let q = quote {
                if c == q { quote = nil; continue }
                if c == "\\" && q == "\"", let n = it.next() { cur.append(n); continue }
                cur.append(c); continue
            }
            switch c {
            case " ", "\t":
                if inWord { words.append(cur); cur = ""; inWord = false }
            case "'", "\"":
                quote = c; inWord = true
            case "\\":
                if let n = it.next() { cur.append(n); inWord = true }
            case "#" where !inWord:
                return words
            default:
                cur.append(c); inWord = true
            }
        }
        if quote != nil { throw LabError("unterminated quote") }
        if inWord { words.append(cur) }
        return words
    }

    /// Quotes a word so `split` gives it back unchanged.
    public static func quoteIfNeeded(_ w: String) -> String {
        if !w.isEmpty, w.allSatisfy({ $0.isLetter || $0.isNumber || "-_./:=,+@%".contains($0) }) { return w }
        return "'" + w.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// A scenario: jhsim commands one per line, plus `expect`, `inmate`, `signal`, `say`,
/// `explain` and comment lines. See Docs/cli.md for the grammar.
public struct Scenario: Sendable {
    public enum Expectation: Hashable, Sendable {
        case status(Int32)
        case errno(Errno?)
        case cell(name: String, state: String?, cpus: String?, failed: String?)
        case noCell(name: String)
        case owner(cpu: Int, cell: String?)
        case online(CPUSet)
        case output(String)
        /// The previous command never returned (the simulator stopped a wait that could
        /// not end). Without it, a hang fails `jhsim run`.
        case hang
    }
    public enum Step: Sendable {
        case command(argv: [String], text: String)
        case expect(Expectation, text: String)
        case signal(nanoseconds: UInt64)
        case say(String)
        case explain
    }
    public struct Line: Sendable {
        public var number: Int
        public var step: Step
    }
    public var file: String
    public var parameters: BoxParameters
    public var lines: [Line]

    public var commandCount: Int {
        lines.reduce(0) { n, l in if case .command = l.step { n + 1 } else { n } }
    }

    /// Parses a scenario; every command line is checked for usage errors up front.
    public static func parse(_ text: String, file: String, factory: BoxFactory) throws(LabError) -> Scenario {
        var s = Scenario(file: file, parameters: BoxParameters(), lines: [])
        var sawCommand = false
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let n = i + 1
            func fail(_ m: String) -> LabError { LabError("\(file):\(n): \(m)") }
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("say ") || trimmed == "say" {
                s.lines.append(Line(number: n, step: .say(String(trimmed.dropFirst(4)))))
                continue
            }
            var words: [String]
            do { words = try ScenarioLexer.split(String(raw)) } catch { throw fail(error.message) }
            if words.first == "jhsim" { words.removeFirst() }
            guard let head = words.first else { continue }
            switch head {
            case "machine":
                guard !sawCommand else { throw fail("`machine` must come before the first command") }
                for w in words.dropFirst() {
                    let kv = w.split(separator: "=", maxSplits: 1).map(String.init)
                    guard kv.count == 2 else { throw fail("machine takes key=value: cpus, seed, profile, executor, kernel") }
                    switch kv[0] {
                    case "cpus":
                        guard let v = CNumber.unsigned(kv[1]), v >= 1, v <= UInt64(Machine.maxCPUs) else { throw fail("bad cpus '\(kv[1])'") }
                        s.parameters.cpus = Int(v)
                    case "seed":
                        guard let v = CNumber.unsigned(kv[1]) else { throw fail("bad seed '\(kv[1])'") }
                        s.parameters.seed = v
                    case "profile":
                        guard Profile.named(kv[1]) != nil else { throw fail("unknown profile '\(kv[1])'; valid: upstream, fixed") }
                        s.parameters.profile = kv[1]
                    case "executor":
                        guard let k = ExecutorKind(rawValue: kv[1]) else { throw fail("unknown executor '\(kv[1])'; valid: dispatch, inline") }
                        s.parameters.executor = k
                    case "kernel":
                        guard let k = KernelVersion(argument: kv[1]) else { throw fail("unknown kernel '\(kv[1])'; valid: \(KernelVersion.usage)") }
                        s.parameters.kernel = k
                    default: throw fail("unknown machine key '\(kv[0])'; valid: cpus, seed, profile, executor, kernel")
                    }
                }
            case "expect":
                let e = try parseExpectation(Array(words.dropFirst()), fail)
                // ok/errno/status/output judge "the previous command"; before the first
                // one they would silently pass against a command that never ran.
                switch e {
                case .status, .errno, .output:
                    guard sawCommand else { throw fail("`\(trimmed)` needs a command before it to check") }
                default: break
                }
                s.lines.append(Line(number: n, step: .expect(e, text: trimmed)))
            case "signal":
                guard words.count == 2, let v = CNumber.unsigned(words[1]) else {
                    throw fail("usage: signal NANOSECONDS (delivered to the next command's process that long after it starts)")
                }
                s.lines.append(Line(number: n, step: .signal(nanoseconds: v)))
            case "explain":
                s.lines.append(Line(number: n, step: .explain))
            case "lab", "run", "demo":
                throw fail("`\(head)` cannot be used inside a scenario")
            default:
                let argv = Array(words)
                do {
                    let g = try LabCommandRunner.GlobalOptions.extract(argv)
                    if g.lab != nil { throw UsageError(message: "--lab cannot be used inside a scenario") }
                    _ = try MachineCommand.parse(g.args, factory: factory)
                    if !g.faults.isEmpty {
                        for f in g.faults {
                            do { _ = try FaultRule(parsing: f, catalog: factory.faultCatalog) } catch {
                                throw UsageError(message: "bad --fault rule: \(error.message)")
                            }
                        }
                    }
                } catch let e as UsageError {
                    throw fail(e.message)
                } catch {
                    throw fail("\(error)")
                }
                sawCommand = true
                s.lines.append(Line(number: n, step: .command(argv: argv, text: trimmed.hasPrefix("jhsim ") ? String(trimmed.dropFirst(6)) : trimmed)))
            }
        }
        return s
    }

    static func parseExpectation(_ w: [String], _ fail: (String) -> LabError) throws(LabError) -> Expectation {
        guard let kind = w.first else { throw fail("expect needs: status, errno, ok, hang, cell, no-cell, owner, online, output") }
        let rest = Array(w.dropFirst())
        switch kind {
        case "status":
            guard rest.count == 1, let v = Int32(rest[0]) else { throw fail("usage: expect status N") }
            return .status(v)
        case "ok":
            guard rest.isEmpty else { throw fail("usage: expect ok") }
            return .errno(nil)
        case "hang":
            guard rest.isEmpty else { throw fail("usage: expect hang") }
            return .hang
        case "errno":
            guard rest.count == 1 else { throw fail("usage: expect errno NAME") }
            if rest[0] == "none" { return .errno(nil) }
            guard let e = Errno(name: rest[0]) else {
                throw fail("unknown errno '\(rest[0])'; valid: \(Errno.known.map(\.name).joined(separator: ", "))")
            }
            return .errno(e)
        case "cell":
            guard let name = rest.first else { throw fail("usage: expect cell NAME [state=S] [cpus=LIST] [failed=LIST]") }
            var state: String?, cpus: String?, failed: String?
            for kv in rest.dropFirst() {
                let p = kv.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                guard p.count == 2 else { throw fail("expect cell takes state=, cpus=, failed=") }
                switch p[0] {
                case "state": state = p[1]
                case "cpus": cpus = p[1]
                case "failed": failed = p[1]
                default: throw fail("unknown key '\(p[0])'; valid: state, cpus, failed")
                }
            }
            return .cell(name: name, state: state, cpus: cpus, failed: failed)
        case "no-cell":
            guard rest.count == 1 else { throw fail("usage: expect no-cell NAME") }
            return .noCell(name: rest[0])
        case "owner":
            guard rest.count == 2, let cpu = Int(rest[0]), cpu >= 0 else { throw fail("usage: expect owner CPU CELL|none") }
            return .owner(cpu: cpu, cell: rest[1] == "none" ? nil : rest[1])
        case "online":
            guard rest.count <= 1, let set = CPUSet(rangeList: rest.first ?? "") else { throw fail("usage: expect online LIST (e.g. 0-1)") }
            return .online(set)
        case "output":
            guard rest.count == 1 else { throw fail("usage: expect output 'TEXT' (quoted)") }
            return .output(rest[0])
        default:
            throw fail("unknown expectation '\(kind)'; valid: status, errno, ok, hang, cell, no-cell, owner, online, output")
        }
    }
}

/// Runs a scenario on a session and prints a transcript.
struct ScenarioRunner {
    var factory: BoxFactory
    var baseDirectory: String
    var commandRunner: LabCommandRunner
    var showProgress: Bool

    /// - Returns: 0 when every expectation held, 1 at the first that did not.
    func run(_ s: Scenario, session: LabSession, extraFaults: [String], _ out: inout Output, json: Bool) -> Int32 {
        var lastStatus: Int32? = nil
        var lastErrno: Errno? = nil
        var lastStdout = ""
        var pendingSignal: UInt64? = nil
        var commands = 0, expectations = 0
        let total = s.commandCount
        var failure: (line: Int, text: String, expected: String, got: String)? = nil
        // A command that never returned, not yet acknowledged by `expect hang`: the next
        // command (or the end) fails the run, so a hang is never reported as a pass.
        var openHang: (line: Int, text: String, message: String)? = nil
        var lastHung = false
        // A command that failed and that no `expect errno`/`expect status` line has
        // checked yet: the run fails when the next command (or the end) comes first.
        var unchecked: (line: Int, text: String, got: String)? = nil
        let ctx = MachineContext(factory: factory, baseDirectory: baseDirectory, runner: commandRunner)
        var transcript = Output()
        loop: for line in s.lines {
            switch line.step {
            case .say(let text):
                transcript.out(text + "\n")
            case .signal(let ns):
                pendingSignal = ns
            case .explain:
                if let r = session.records.last {
                    transcript.out(TraceText.brief(r, session.machine.trace.events, language: commandRunner.language))
                }
            case .command(let argv, let text):
                if let h = openHang {
                    failure = (h.line, "command never returned: \(h.text)", "the command returns", "it never returns (hang): \(h.message)")
                    break loop
                }
                if let u = unchecked {
                    failure = (u.line, "command failed: \(u.text)", Self.uncheckedExpected, u.got)
                    break loop
                }
                transcript.out("$ jhsim \(text)\n")
                var cmdOut = Output()
                let logBefore = session.log.count
                var status: Int32
                do {
                    let g = try LabCommandRunner.GlobalOptions.extract(argv)
                    let cmd = try MachineCommand.parse(g.args, factory: factory)
                    status = try ctx.execute(cmd, faults: extraFaults + g.faults, signalAfter: pendingSignal,
                                             commandLine: text, caps: g.caps, session: session, &cmdOut)
                } catch let e as UsageError {
                    cmdOut.err("jhsim: \(e.message)\n"); status = 1
                } catch {
                    cmdOut.err("jhsim: \(error)\n"); status = 1
                }
                pendingSignal = nil
                // stdout and stderr interleave in the transcript as a terminal shows them.
                transcript.out(cmdOut.merged)
                lastStatus = status
                lastErrno = session.log.count > logBefore ? session.records.last?.outcome.errno : nil
                lastStdout = cmdOut.stdout
                let hang = session.log.count > logBefore ? session.records.last?.outcome.hang : nil
                lastHung = hang != nil
                if let hang { openHang = (line.number, text, hang) }
                if status != 0 {
                    unchecked = (line.number, text, "exit status \(status)" + (lastErrno.map { " (\($0.name))" } ?? ""))
                }
                commands += 1
                if showProgress, total >= 50, commands % 10 == 0 || commands == total {
                    out.progress?("\r[\(commands)/\(total)] commands")
                    if commands == total { out.progress?("\n") }
                }
            case .expect(let e, let text):
                expectations += 1
                if e == .hang { openHang = nil; unchecked = nil }
                if let (expected, got) = check(e, session: session, status: lastStatus, errno: lastErrno, stdout: lastStdout,
                                               hung: lastHung) {
                    failure = (line.number, text, expected, got)
                    break loop
                }
                switch e {
                case .errno, .status: unchecked = nil
                default: break
                }
            }
        }
        if failure == nil, let h = openHang {
            failure = (h.line, "command never returned: \(h.text)", "the command returns", "it never returns (hang): \(h.message)")
        }
        if failure == nil, let u = unchecked {
            failure = (u.line, "command failed: \(u.text)", Self.uncheckedExpected, u.got)
        }
        if json {
            var obj: [(String, JSONValue)] = [
                ("scenario", .string(s.file)), ("passed", .bool(failure == nil)),
                ("commands", .int(Int64(commands))), ("expectations", .int(Int64(expectations))),
                ("traceHash", .string(session.machine.trace.hashHex)),
            ]
            if let f = failure {
                obj.append(("failure", .object([("line", .int(Int64(f.line))), ("expectation", .string(f.text)),
                                                ("expected", .string(f.expected)), ("got", .string(f.got))])))
            }
            out.out(JSONValue.object(obj).text(indent: 2) + "\n")
        } else {
            out.out(transcript.merged)
        }
        if let f = failure {
            let what = f.text.hasPrefix("command failed: ") || f.text.hasPrefix("command never returned: ") ? f.text : "expectation failed: \(f.text)"
            out.err("\(s.file):\(f.line): \(what)\n  expected: \(f.expected)\n  got:      \(f.got)\n")
            return 1
        }
        return 0
    }

    static let uncheckedExpected = "success, or an `expect errno E` / `expect status N` line after it"

    /// nil when the expectation holds, else (expected, got).
    func check(_ e: Scenario.Expectation, session: LabSession, status: Int32?, errno: Errno?, stdout: String,
               hung: Bool = false) -> (String, String)? {
        switch e {
        case .status(let want):
            let got = status.map(String.init) ?? "(no command yet)"
            return status == want ? nil : ("exit status \(want)", "exit status \(got)")
        case .errno(let want):
            // `expect ok` (and `expect errno none`) also needs exit status 0: a command that
            // failed before its ioctl (a missing file, a usage error) has no errno but failed.
            if want == errno, want != nil || status == 0 { return nil }
            if want == nil, errno == nil, let status, status != 0 {
                return ("success", "exit status \(status) without an errno")
            }
            return (want?.name ?? "success", errno?.name ?? (status == 0 ? "success" : "exit status \(status.map(String.init) ?? "-") without an errno"))
        case .cell(let name, let state, let cpus, let failed):
            guard let row = SysfsCells.read(session.box).first(where: { $0.name == name }) else {
                return ("a cell named \(name)", "no such cell")
            }
            var want: [String] = [], got: [String] = []
            if let state { want.append("state=\(state)"); got.append("state=\(row.state)") }
            if let cpus { want.append("cpus=\(cpus)"); got.append("cpus=\(row.cpus)") }
            if let failed { want.append("failed=\(failed)"); got.append("failed=\(row.failedCpus)") }
            return want == got ? nil : (want.joined(separator: " "), got.joined(separator: " "))
        case .noCell(let name):
            return SysfsCells.read(session.box).contains { $0.name == name } ? ("no cell named \(name)", "cell \(name) exists") : nil
        case .owner(let cpu, let cell):
            guard cpu < session.parameters.cpus else { return ("CPU \(cpu)", "the machine has \(session.parameters.cpus) CPUs") }
            let st = session.box.cpuStatus(cpu)
            let gotText = st.owner.map { "\($0) (\(st.ownerName ?? "?"))" } ?? "none"
            guard let cell else { return st.owner == nil ? nil : ("none", gotText) }
            if let id = UInt32(cell), st.owner == id { return nil }
            if st.ownerName == cell { return nil }
            return (cell, gotText)
        case .online(let want):
            let got = CPUSet((0..<session.parameters.cpus).filter { session.box.cpuStatus($0).online })
            return got == want ? nil : (want.rangeList, got.rangeList)
        case .hang:
            return hung ? nil : ("the command never returns (hang)", status.map { "it returned with exit status \($0)" } ?? "(no command yet)")
        case .output(let text):
            return stdout.contains(text) ? nil : ("output containing \(ScenarioLexer.quoteIfNeeded(text))", stdout.isEmpty ? "(no output)" : stdout)
        }
    }
}
