import Foundation
import JHABI
import JHConfig
import JHMachine

/// What running one command printed and returned.
public struct CommandResult: Hashable, Sendable {
    public var stdout: String
    public var stderr: String
    public var status: Int32
    public init(stdout: String = "", stderr: String = "", status: Int32 = 0) {
        self.stdout = stdout; self.stderr = stderr; self.status = status
    }
}

/// The process environment a command sees, passed in rather than read from globals so
/// commands run in-process under tests exactly as in the real binary.
public struct LabEnvironment: Sendable {
    public var currentDirectory: String
    public var variables: [String: String]
    /// Progress lines are shown only on a terminal.
    public var stderrIsTerminal: Bool
    public init(currentDirectory: String, variables: [String: String] = [:], stderrIsTerminal: Bool = false) {
        self.currentDirectory = currentDirectory; self.variables = variables
        self.stderrIsTerminal = stderrIsTerminal
    }
}

/// Collected output of a command.
public struct Output {
    public var stdout = ""
    public var stderr = ""
    /// Both streams interleaved in order (for scenario transcripts).
    public var merged = ""
    /// Live sink for progress lines, which bypass the captured streams.
    var progress: ((String) -> Void)?
    public init() {}
    public mutating func out(_ s: String) { stdout += s; merged += s }
    public mutating func err(_ s: String) { stderr += s; merged += s }
}

/// A usage error: the message plus the usage lines of the command.
struct UsageError: Error, CustomStringConvertible {
    var message: String
    /// The message alone, so a usage error that surfaces inside another message (a lab
    /// whose saved `--cost` no longer parses) does not print as `UsageError(message: …)`.
    var description: String { message }
}

/// The version `jhsim --version` prints and lab files record.
public enum JHSimVersion {
    public static let string = "0.1.0"
}

/// Runs a `jhsim` command line (without the program name) and captures its output.
///
/// This is the whole learner-facing CLI; the `jhsim` executable only forwards argv here
/// and prints the result, so tests run every command in-process.
public struct LabCommandRunner: Sendable {
    public var factory: BoxFactory
    public var environment: LabEnvironment
    /// Test seam for crash-during-save tests.
    public var afterTemporaryWrite: @Sendable (String) throws -> Void = { _ in }
    /// `jhsim faults SUB …` for every SUB but `list`: the fault-injection tools. They live
    /// in JHFaults, which sits above JHLab, so they are handed in (JHFaults'
    /// `LabCommandRunner.withFaultTools()`) rather than imported; nil leaves only `list`.
    public var faultTools: FaultTools?
    /// The language of explanations (`--lang`, else LC_ALL/LC_MESSAGES/LANG).
    public var language: Narration.Language = .en

    /// Runs `jhsim faults ARGS…` (ARGS without `faults`) with this runner's factory and
    /// environment; `progress` is the live terminal sink, nil when there is none.
    public typealias FaultTools = @Sendable (_ args: [String], _ runner: LabCommandRunner,
                                             _ progress: ((String) -> Void)?) -> CommandResult

    /// Where libjhsim-preload.so is (next to the jhsim binary), for `exec` and
    /// `preload-path`; nil when it is not there.
    public var preloadLibrary: String?
    /// The jhsim binary itself, handed to the library as `JHSIM_BIN`.
    public var executable: String?

    public init(factory: BoxFactory, environment: LabEnvironment) {
        self.factory = factory
        self.environment = environment
    }

    /// What `jhsim exec -- COMMAND…` runs: the command, found on `PATH` like a shell does,
    /// with the library preloaded and the lab selected.
    public struct ExecPlan: Hashable, Sendable {
        public var arguments: [String]
        /// The whole environment of the command.
        public var environment: [String: String]
    }

    /// Either the command to run or what to print instead.
    public enum ExecOutcome: Hashable, Sendable {
        case run(ExecPlan)
        case finish(CommandResult)
    }

    /// Parses `exec [--lab DIR] [--fault RULE]… [--] COMMAND…` into the command and its
    /// environment, or the result to print instead (usage, `--help`, no library).
    public func execPlan(_ argv: [String]) -> ExecOutcome {
        var out = Output()
        do {
            let g = try GlobalOptions.extract(argv)
            guard g.args.first == "exec" else { throw UsageError(message: "not an exec command") }
            var command = Array(g.args.dropFirst())
            if command.first == "--help" || command.first == "-h" {
                out.out(Help.usage("exec") ?? "")
                return .finish(CommandResult(stdout: out.stdout, status: 0))
            }
            if command.first == "--" { command.removeFirst() }
            guard !command.isEmpty else { throw UsageError(message: "usage: jhsim exec [--lab DIR] [--fault RULE]... -- COMMAND [ARG]...") }
            guard g.caps == nil else {
                throw UsageError(message: "exec runs a real program, which has its own credentials; --caps applies to jhsim's commands")
            }
            for f in g.faults {
                do { _ = try FaultRule(parsing: f, catalog: factory.faultCatalog) } catch {
                    throw UsageError(message: "bad --fault rule: \(error.message)")
                }
            }
            let library = try preloadPath()
            var env = environment.variables
            let others = (env["LD_PRELOAD"] ?? "").split(whereSeparator: { $0 == " " || $0 == ":" }).map(String.init)
                .filter { $0 != library }
            env["LD_PRELOAD"] = ([library] + others).joined(separator: " ")
            env["JHSIM_LAB"] = labDirectory(g)
            if let executable { env["JHSIM_BIN"] = executable }
            if !g.faults.isEmpty { env["JHSIM_FAULT"] = g.faults.joined(separator: " ") }
            return .run(ExecPlan(arguments: command, environment: env))
        } catch {
            _ = report(error, &out)
            return .finish(CommandResult(stdout: out.stdout, stderr: out.stderr, status: 1))
        }
    }

    /// The library's path, or why there is none.
    func preloadPath() throws(LabError) -> String {
        guard let lib = preloadLibrary, FileManager.default.fileExists(atPath: lib) else {
            throw LabError("libjhsim-preload.so is not next to the jhsim binary\(preloadLibrary.map { " (\($0))" } ?? ""); build it with `swift build`")
        }
        return lib
    }

    public func run(_ argv: [String]) -> CommandResult {
        var out = Output()
        let status = run(argv, &out)
        return CommandResult(stdout: out.stdout, stderr: out.stderr, status: status)
    }

    /// Runs with live progress reporting to `progress` (the binary passes stderr).
    public func run(_ argv: [String], progress: @escaping (String) -> Void) -> CommandResult {
        var out = Output()
        out.progress = progress
        let status = run(argv, &out)
        return CommandResult(stdout: out.stdout, stderr: out.stderr, status: status)
    }

    func run(_ argv: [String], _ out: inout Output) -> Int32 {
        do {
            var global = try GlobalOptions.extract(argv)
            var me = self
            me.language = global.lang ?? Narration.Language.from(environment: environment.variables)
            return try me.dispatch(&global, &out)
        } catch {
            return report(error, &out)
        }
    }

    /// Prints an error the way every command does; returns the exit status.
    func report(_ error: any Error, _ out: inout Output) -> Int32 {
        do { throw error } catch let e as UsageError {
            out.err("jhsim: \(e.message)\n")
            out.err("Try 'jhsim --help' for more information.\n")
            // Like tools/jailhouse.c, a usage error exits with status 1.
            return Help.usageStatus
        } catch let e as LabError {
            out.err("jhsim: \(e.message)\n")
            return 1
        } catch {
            out.err("jhsim: \(error)\n")
            return 1
        }
    }

    // MARK: Global options

    struct GlobalOptions {
        var args: [String]
        var lab: String?
        var faults: [String] = []
        /// `--caps TEXT`: run the command's process with these capabilities.
        var caps: String?
        /// `--lang en|zh`: the language of explanations.
        var lang: Narration.Language?

        /// Pulls `--lab DIR` and `--fault RULE` (also `--x=value`) out of any position,
        /// except right after `-s/--string`, whose value is free text, and after `--`,
        /// behind which `exec`'s command keeps its own options.
        static func extract(_ argv: [String]) throws(UsageError) -> GlobalOptions {
            var g = GlobalOptions(args: [])
            var i = 0
            while i < argv.count {
                let a = argv[i]
                if a == "--" {
                    g.args += argv[i...]
                    break
                }
                if a == "-s" || a == "--string" {
                    g.args.append(a)
                    if i + 1 < argv.count { g.args.append(argv[i + 1]) }
                    i += 2; continue
                }
                if a == "--lab" || a == "--fault" || a == "--caps" {
                    guard i + 1 < argv.count else { throw UsageError(message: "option \(a) needs a value") }
                    switch a {
                    case "--lab": g.lab = argv[i + 1]
                    case "--caps": g.caps = argv[i + 1]
                    default: g.faults.append(argv[i + 1])
                    }
                    i += 2; continue
                }
                if a == "--lang" || a.hasPrefix("--lang=") {
                    let v: String
                    if a == "--lang" {
                        guard i + 1 < argv.count else { throw UsageError(message: "option --lang needs a value: en or zh") }
                        v = argv[i + 1]; i += 2
                    } else {
                        v = String(a.dropFirst(7)); i += 1
                    }
                    guard let l = Narration.Language(rawValue: v) else { throw UsageError(message: "unknown language '\(v)'; valid: en, zh") }
                    g.lang = l
                    continue
                }
                if a.hasPrefix("--caps=") { g.caps = String(a.dropFirst(7)); i += 1; continue }
                if a.hasPrefix("--lab=") { g.lab = String(a.dropFirst(6)); i += 1; continue }
                if a.hasPrefix("--fault=") { g.faults.append(String(a.dropFirst(8))); i += 1; continue }
                g.args.append(a)
                i += 1
            }
            return g
        }
    }

    func labDirectory(_ g: GlobalOptions) -> String {
        let d = g.lab ?? environment.variables["JHSIM_LAB"] ?? ".jhsim"
        return absolute(d)
    }

    func absolute(_ path: String, base: String? = nil) -> String {
        if path.hasPrefix("/") { return path }
        let b = base ?? environment.currentDirectory
        return b.hasSuffix("/") ? b + path : b + "/" + path
    }

    func store(_ g: GlobalOptions) -> LabStore {
        LabStore(directory: labDirectory(g), afterTemporaryWrite: afterTemporaryWrite)
    }

    // MARK: Dispatch

    func dispatch(_ g: inout GlobalOptions, _ out: inout Output) throws -> Int32 {
        guard let cmd = g.args.first else {
            out.err(Help.main)
            return Help.usageStatus
        }
        if cmd == "exec" {
            // Reached only in-process (tests): the binary runs the plan itself.
            switch execPlan(g.args) {
            case .finish(let r): out.out(r.stdout); out.err(r.stderr); return r.status
            case .run: throw LabError("exec replaces the jhsim process; it runs only from the jhsim binary")
            }
        }
        if cmd == "faults", Self.asksForHelp(g.args.dropFirst()), let sub = g.args.dropFirst().first,
           let usage = Help.faultsUsage(sub) {
            out.out(usage)
            return 0
        }
        if Self.asksForHelp(g.args.dropFirst()), let usage = Help.usage(cmd) {
            out.out(usage)
            return 0
        }
        switch cmd {
        case "--help", "-h":
            out.out(Help.main); return 0
        case "help":
            out.out(try Help.help(g.args.dropFirst())); return 0
        case "--version", "-V":
            out.out("jhsim \(JHSimVersion.string) (simulating Jailhouse e57d1eff)\n"); return 0
        case "lab":
            return try labCommand(Array(g.args.dropFirst()), g, &out)
        case "faults":
            return try faultsCommand(Array(g.args.dropFirst()), g, &out)
        case "quirks":
            return try quirksCommand(Array(g.args.dropFirst()), g, &out)
        case "preload-path":
            guard g.args.count == 1 else { throw UsageError(message: "preload-path takes no arguments") }
            out.out(try preloadPath() + "\n")
            return 0
        case "draw" where g.args.dropFirst().first == "states":
            return try drawStates(Array(g.args.dropFirst(2)), &out)
        case "run":
            return try runScenarioCommand(Array(g.args.dropFirst()), g, &out)
        case "demo":
            guard g.args.count == 1 else { throw UsageError(message: "demo takes no arguments") }
            return Demo.run(factory: factory, language: language, &out)
        case "enable", "disable", "console", "cell", "cpu", "cpus", "inmate", "trace", "draw", "dmesg", "cat", "ioctl":
            return try labMachineCommand(g, &out)
        case "config":
            throw UsageError(message: "`jhsim config` is parsed by the jhsim binary; run it there")
        default:
            throw UsageError(message: "unknown command '\(cmd)'\(NearMiss.hint(for: cmd, among: Help.commands))")
        }
    }

    /// `--help`/`-h` anywhere, except as the value of `-s/--string` (free text).
    static func asksForHelp(_ args: ArraySlice<String>) -> Bool {
        var previous: String? = nil
        for a in args {
            if (a == "--help" || a == "-h"), previous != "-s", previous != "--string" { return true }
            previous = a
        }
        return false
    }

    // MARK: lab init/reset/info

    func labCommand(_ args: [String], _ g: GlobalOptions, _ out: inout Output) throws -> Int32 {
        guard let sub = args.first else { throw UsageError(message: "lab needs a subcommand: init, reset or info") }
        let st = store(g)
        switch sub {
        case "init":
            var p = BoxParameters()
            var force = false
            var rest = args.dropFirst()
            while let a = rest.popFirst() {
                func value() throws(UsageError) -> String {
                    guard let v = rest.popFirst() else { throw UsageError(message: "option \(a) needs a value") }
                    return v
                }
                switch a {
                case "--cpus":
                    let v = try value()
                    guard let n = CNumber.unsigned(v), n >= 1, n <= UInt64(Machine.maxCPUs) else {
                        throw UsageError(message: "--cpus takes 1…\(Machine.maxCPUs), not '\(v)'")
                    }
                    p.cpus = Int(n)
                case "--seed":
                    let v = try value()
                    guard let n = CNumber.unsigned(v) else { throw UsageError(message: "--seed takes a non-negative number, not '\(v)'") }
                    p.seed = n
                case "--profile":
                    let v = try value()
                    guard Profile.named(v) != nil else { throw UsageError(message: "unknown profile '\(v)'; valid profiles: upstream, fixed") }
                    p.profile = v
                case "--executor":
                    let v = try value()
                    guard let k = ExecutorKind(rawValue: v) else { throw UsageError(message: "unknown executor '\(v)'; valid executors: dispatch, inline") }
                    p.executor = k
                case "--cost":
                    p.costOverrides.append(try value())
                    _ = try p.costModel()
                case "--kernel":
                    let v = try value()
                    guard let k = KernelVersion(argument: v) else {
                        throw UsageError(message: "unknown kernel '\(v)'; valid: \(KernelVersion.usage)")
                    }
                    p.kernel = k
                case "--force": force = true
                default: throw UsageError(message: "unknown option '\(a)' for lab init")
                }
            }
            if st.exists && !force {
                throw LabError("a lab already exists in \(st.directory); use `jhsim lab reset` to power-cycle it or `jhsim lab init --force` to replace it")
            }
            let session = try LabSession(parameters: p, factory: factory)
            try save(session, st)
            out.out("Created a lab in \(st.directory): \(p.cpus) CPUs, seed \(p.seed), profile \(p.profile), executor \(p.executor.rawValue)\(p.kernelNote)\n")
            return 0
        case "reset":
            guard args.count == 1 else { throw UsageError(message: "lab reset takes no arguments") }
            let record = try st.withLock { () throws -> LabRecord in
                let record = try st.load()
                try save(try LabSession(parameters: record.parameters, factory: factory), st)
                return record
            }
            out.out("Reset the lab in \(st.directory): a freshly booted machine (\(record.commands.count) logged commands dropped)\n")
            return 0
        case "info":
            guard args.count == 1 else { throw UsageError(message: "lab info takes no arguments") }
            let (session, record) = try loadSession(st)
            let p = record.parameters
            out.out("Lab:       \(st.path)\n")
            out.out("Machine:   \(p.cpus) CPUs, seed \(p.seed), profile \(p.profile), executor \(p.executor.rawValue)\(p.kernelNote)\n")
            if !p.costOverrides.isEmpty { out.out("Costs:     \(p.costOverrides.joined(separator: " "))\n") }
            out.out("Commands:  \(record.commands.count)\n")
            out.out("Clock:     \(session.machine.now)\n")
            out.out("Trace:     \(record.eventCount) events, hash \(record.traceHash)\n")
            for (i, c) in record.commands.enumerated() {
                let r = session.records[i]
                let res = r.outcome.hang != nil ? " → never returns (hang)" : r.outcome.errno.map { " → \($0.name)" } ?? ""
                // Labs made before the command line kept its --fault rules list them apart.
                let faults = c.faults.isEmpty || c.commandLine.contains("--fault")
                    ? "" : "  (faults: \(c.faults.joined(separator: ", ")))"
                out.out("  \(i + 1). \(c.displayLine)\(res)\(faults)\n")
            }
            return 0
        default:
            throw UsageError(message: "unknown lab subcommand '\(sub)'; valid: init, reset, info")
        }
    }

    func loadSession(_ st: LabStore) throws(LabError) -> (LabSession, LabRecord) {
        let record = try st.load()
        let session = try LabSession(parameters: record.parameters, factory: factory)
        try session.replay(record.commands)
        if record.version < 2 {
            // Version 1 hashed the text line of every event: check the replay against that.
            guard let legacy = session.machine.trace.legacyTextHashHex else {
                throw LabError("the lab in \(st.directory) has format version \(record.version), whose trace hash covers every event's text, but its replay keeps only the newest \(session.machine.trace.events.count) of \(session.machine.trace.recordedCount) events, so it cannot be checked; it was left untouched — start over with `jhsim lab init --force`")
            }
            guard legacy == record.traceHash else {
                throw LabError("replaying the lab in \(st.directory) (format version \(record.version)) gave text trace hash \(legacy), not the saved \(record.traceHash): the lab was made by a jhsim whose trace reads differently, or edited by hand; it was left untouched — start over with `jhsim lab init --force`")
            }
            return (session, record)
        }
        guard session.machine.trace.hashHex == record.traceHash else {
            throw LabError("replaying the lab in \(st.directory) gave trace hash \(session.machine.trace.hashHex), not the saved \(record.traceHash): the lab was made by a different jhsim version or edited by hand; it was left untouched — start over with `jhsim lab init --force`")
        }
        return (session, record)
    }

    func save(_ session: LabSession, _ st: LabStore) throws(LabError) {
        try st.save(LabRecord(format: LabRecord.formatName, version: LabRecord.currentVersion,
                              writtenBy: JHSimVersion.string, parameters: session.parameters,
                              commands: session.log, traceHash: session.machine.trace.hashHex,
                              eventCount: session.machine.trace.recordedCount))
    }

    // MARK: Commands on the lab's machine

    func labMachineCommand(_ g: GlobalOptions, _ out: inout Output) throws -> Int32 {
        // Parse first, so a usage error never needs (or touches) the lab.
        let parsed = try MachineCommand.parse(g.args, factory: factory)
        for f in g.faults {
            do { _ = try FaultRule(parsing: f, catalog: factory.faultCatalog) } catch {
                throw UsageError(message: "bad --fault rule: \(error.message)")
            }
        }
        if let caps = g.caps, factory.parseCredentials(caps) == nil {
            throw UsageError(message: "bad --caps '\(caps)': not a capability set in libcap text form (for example '=', '=ep' or 'cap_sys_admin=ep')")
        }
        let st = store(g)
        return try st.withLock { () throws -> Int32 in
            let (session, _) = try loadSession(st)
            let before = session.log.count
            let ctx = MachineContext(factory: factory, baseDirectory: environment.currentDirectory, runner: self)
            // The command as typed, minus --lab: the trace header and `lab info` show the
            // --fault and --caps it ran with.
            var words = g.args
            for f in g.faults { words += ["--fault", f] }
            if let caps = g.caps { words += ["--caps", caps] }
            let line = words.map(ScenarioLexer.quoteIfNeeded).joined(separator: " ")
            let status = try ctx.execute(parsed, faults: g.faults, signalAfter: nil, commandLine: line, caps: g.caps,
                                         session: session, &out)
            if session.log.count != before { try save(session, st) }
            return status
        }
    }

    // MARK: faults / quirks

    func faultsCommand(_ args: [String], _ g: GlobalOptions, _ out: inout Output) throws -> Int32 {
        if let tools = faultTools, let sub = args.first, sub != "list" {
            guard g.faults.isEmpty else {
                throw UsageError(message: "faults \(sub) takes its plan as --rule RULE (counted over the whole scenario), not --fault")
            }
            let r = tools(args, self, out.progress)
            out.out(r.stdout); out.err(r.stderr)
            return r.status
        }
        if args == ["list", "--json"] {
            out.out(JSONValue.array(factory.faultCatalog.map { s in
                .object([("name", .string(s.name)), ("layer", .string(s.layer.rawValue)), ("errno", .string(s.defaultErrno.name)),
                         ("perCPU", .bool(s.perCPU)), ("meaning", .string(s.meaning)),
                         ("states", s.details.map { .array($0.map { .string($0) }) } ?? .null)])
            }).text(indent: 2) + "\n")
            return 0
        }
        guard args == ["list"] else {
            throw UsageError(message: faultTools == nil ? "usage: jhsim faults list [--json]"
                             : "usage: jhsim faults list|sweep|campaign|shrink|run|merge (see jhsim faults --help)")
        }
        var rows: [[String]] = []
        for s in factory.faultCatalog {
            rows.append([s.name, s.layer.rawValue, s.defaultErrno.name, s.perCPU ? "yes" : "no", s.meaning])
        }
        out.out(TextTable.render(header: ["SITE", "LAYER", "ERRNO", "CPU", "MEANING"], rows: rows))
        out.out("\nUse a site with --fault 'SITE[:cpu=N][:state=S][:nth=N][:after=N][:count=N][:prob=P][:errno=E]' on any command that runs the machine.\n")
        return 0
    }

    func quirksCommand(_ args: [String], _ g: GlobalOptions, _ out: inout Output) throws -> Int32 {
        if args.first == "--show" {
            guard args.count == 2, let n = Int(args[1]), let q = Quirk.allCases.first(where: { $0.number == n }) else {
                let known = Quirk.allCases.map { String($0.number) }.joined(separator: ", ")
                throw UsageError(message: "usage: jhsim quirks [--show N]; N is one of \(known)")
            }
            out.out(try QuirkShow.render(q, factory: factory))
            return 0
        }
        guard args.isEmpty else { throw UsageError(message: "usage: jhsim quirks [--show N]") }
        var profile: Profile? = nil
        var note = "(no lab: showing whether each profile has it)\n"
        let st = store(g)
        if st.exists, let record = try? st.load(), let p = Profile.named(record.parameters.profile) {
            profile = p
            note = "(lab profile: \(p.name))\n"
        }
        out.out(note)
        var rows: [[String]] = []
        for q in Quirk.allCases {
            let has: String
            if let profile { has = profile.has(q) ? "yes" : "no" } else {
                has = "upstream:" + (Profile.upstream.has(q) ? "yes" : "no") + " fixed:" + (Profile.fixed.has(q) ? "yes" : "no")
            }
            rows.append(["\(q.number)", q.rawValue, has, q.summary])
        }
        out.out(TextTable.render(header: ["#", "QUIRK", "IN PROFILE", "SUMMARY"], rows: rows))
        out.out("\nHow to trigger each (jhsim quirks --show N runs its scenario on both profiles, side by side):\n")
        for q in Quirk.allCases {
            out.out("  " + "\(q.number)".padding(toLength: 4, withPad: " ", startingAt: 0) + q.trigger + "\n")
        }
        return 0
    }

    // MARK: draw states

    func drawStates(_ args: [String], _ out: inout Output) throws -> Int32 {
        var rest = ArraySlice(args)
        var file: String? = nil
        var format: String? = nil
        while let a = rest.popFirst() {
            switch a {
            case "-o", "--output":
                guard let v = rest.popFirst() else { throw UsageError(message: "option \(a) needs a file") }
                file = v
            case "--format":
                guard let v = rest.popFirst(), v == "dot" || v == "svg" else {
                    throw UsageError(message: "--format takes dot or svg")
                }
                format = v
            default: throw UsageError(message: "unknown argument '\(a)' for draw states; valid: --format dot|svg, -o FILE")
            }
        }
        // An .svg output file asks for SVG; otherwise DOT, as before.
        let svg = (format ?? (file?.lowercased().hasSuffix(".svg") == true ? "svg" : "dot")) == "svg"
        let dot = svg ? StatesDOT.renderSVG() : StatesDOT.render()
        if let file {
            try write(dot, to: absolute(file))
        } else {
            out.out(dot)
        }
        return 0
    }

    /// Writes an output file (`-o`, `--chrome`) in place, creating or truncating it.
    /// Not `FileManager.createFile`, which writes a temporary file and renames it over
    /// the destination: `-o /dev/null` or `-o /dev/stdout` then replaced the device node
    /// with a plain file, and a full disk (`/dev/full`) went unreported.
    func write(_ text: String, to path: String) throws(LabError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw LabError("cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { posixWrite(fd, $0.baseAddress! + done, bytes.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw LabError("cannot write \(path): \(String(cString: strerror(errno)))") }
            done += n
        }
    }

    // MARK: run

    func runScenarioCommand(_ args: [String], _ g: GlobalOptions, _ out: inout Output) throws -> Int32 {
        var rest = ArraySlice(args)
        var file: String? = nil
        var trace = false, json = false, inLab = false
        var profile: String? = nil
        var kernel: KernelVersion? = nil
        while let a = rest.popFirst() {
            switch a {
            case "--profile":
                guard let v = rest.popFirst() else { throw UsageError(message: "option --profile needs a value: upstream or fixed") }
                guard Profile.named(v) != nil else { throw UsageError(message: "unknown profile '\(v)'; valid profiles: upstream, fixed") }
                profile = v
            case "--kernel":
                guard let v = rest.popFirst() else { throw UsageError(message: "option --kernel needs a value: \(KernelVersion.usage)") }
                guard let k = KernelVersion(argument: v) else { throw UsageError(message: "unknown kernel '\(v)'; valid: \(KernelVersion.usage)") }
                kernel = k
            case "--trace": trace = true
            case "--json": json = true
            case "--in-lab": inLab = true
            default:
                if a.hasPrefix("-") && a != "-" { throw UsageError(message: "unknown option '\(a)' for run") }
                guard file == nil else { throw UsageError(message: "run takes one scenario file") }
                file = a
            }
        }
        guard let file else { throw UsageError(message: "usage: jhsim run SCENARIO [--profile upstream|fixed] [--kernel 5.6|current] [--trace] [--json] [--in-lab]") }
        if profile != nil && inLab {
            throw UsageError(message: "--profile cannot be combined with --in-lab: the lab keeps the profile it was made with")
        }
        if kernel != nil && inLab {
            throw UsageError(message: "--kernel cannot be combined with --in-lab: the lab keeps the kernel it was made with")
        }
        let path = absolute(file)
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw LabError("cannot read scenario \(file)")
        }
        var scenario = try Scenario.parse(text, file: file, factory: factory)
        if let profile { scenario.parameters.profile = profile }
        if let kernel { scenario.parameters.kernel = kernel }
        let base = (path as NSString).deletingLastPathComponent
        let st: LabStore? = inLab ? store(g) : nil
        func go(_ out: inout Output) throws -> Int32 {
            let session = try st.map { try loadSession($0).0 } ?? LabSession(parameters: scenario.parameters, factory: factory)
            let before = session.log.count
            let runner = ScenarioRunner(factory: factory, baseDirectory: base, commandRunner: self,
                                        showProgress: environment.stderrIsTerminal)
            let result = runner.run(scenario, session: session, extraFaults: g.faults, &out, json: json)
            if trace {
                out.out(TraceText.render(records: session.records[before...], events: session.machine.trace.events, explain: false))
            }
            if let st, session.log.count != before { try save(session, st) }
            return result
        }
        guard let st else { return try go(&out) }
        return try st.withLock { try go(&out) }
    }
}

/// `write(2)`, reachable from types that have a `write` method of their own.
private func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    write(fd, p, n)
}
