import Foundation
import JHABI
import JHConfig
import JHMachine

/// Where one `cell load` image comes from.
enum ImageSource: Hashable {
    case file(String)
    /// `-s STRING`: loaded with its trailing NUL, as the real tool does.
    case string(String)
}

/// A parsed command that runs on a machine (the lab's or a scenario's).
enum MachineCommand {
    case enable(file: String?)
    case disable
    case console(follow: Bool)
    case cellCreate(file: String)
    case cellList(json: Bool)
    case cellLoad(CellSelector, [(ImageSource, UInt64)])
    case cellStart(CellSelector, inmate: String?)
    case cellShutdown(CellSelector)
    case cellDestroy(CellSelector)
    case cellStats(CellSelector)
    case cpuHotplug(cpu: Int, online: Bool)
    case cpus(json: Bool)
    case inmate(CellSelector, String)
    case trace(last: Int?, explain: Bool, brief: Bool, chrome: String?)
    case drawTimeline(output: String?)
    case drawHTML(output: String?)
    case dmesg
    /// `cat PATH…` of sysfs files (and `ls` of sysfs directories) on the simulated box.
    case cat(paths: [String])
    /// A raw `ioctl(fd, NR, 0)` on /dev/jailhouse, for request numbers the tool never sends.
    case rawIoctl(request: UInt32)

    /// Parses argv (program name dropped) with tools/jailhouse.c's rules where the
    /// commands overlap.
    static func parse(_ argv: [String], factory: BoxFactory) throws(UsageError) -> MachineCommand {
        var a = ArraySlice(argv)
        guard let cmd = a.popFirst() else { throw UsageError(message: "missing command") }
        func noMore(_ what: String) throws(UsageError) {
            if let extra = a.first { throw UsageError(message: "unexpected argument '\(extra)' for \(what)") }
        }
        func cell(_ what: String) throws(UsageError) -> CellSelector {
            guard let c = CellSelector.parse(&a) else {
                throw UsageError(message: "\(what) needs a cell: {ID|[--name] NAME}")
            }
            return c
        }
        switch cmd {
        case "enable":
            let f = a.popFirst()
            try noMore("enable")
            return .enable(file: f)
        case "disable":
            try noMore("disable")
            return .disable
        case "console":
            var follow = false
            if let f = a.first, f == "-f" || f == "--follow" { follow = true; a.removeFirst() }
            try noMore("console")
            return .console(follow: follow)
        case "dmesg":
            try noMore("dmesg")
            return .dmesg
        case "ioctl":
            guard let n = a.popFirst(), let v = CNumber.unsigned(n), v <= UInt64(UInt32.max) else {
                throw UsageError(message: "usage: jhsim ioctl NR (a request number, e.g. 0x1234; the argument is 0)")
            }
            try noMore("ioctl")
            return .rawIoctl(request: UInt32(v))
        case "cat":
            let paths = Array(a)
            guard !paths.isEmpty else { throw UsageError(message: "usage: jhsim cat /sys/PATH...") }
            for p in paths where !p.hasPrefix("/sys/") {
                throw UsageError(message: "cat reads the simulated box's sysfs: a path under /sys/, not '\(p)'")
            }
            return .cat(paths: paths)
        case "cpus":
            var json = false
            if a.first == "--json" { json = true; a.removeFirst() }
            try noMore("cpus")
            return .cpus(json: json)
        case "cpu":
            guard let verb = a.popFirst(), verb == "online" || verb == "offline" else {
                throw UsageError(message: "usage: jhsim cpu online|offline N")
            }
            let n = a.popFirst()
            guard let n, let v = CNumber.unsigned(n), v < UInt64(Machine.maxCPUs) else {
                let got = n.map { ", not '\($0)'" } ?? ""
                throw UsageError(message: "cpu \(verb) needs a CPU number 0…\(Machine.maxCPUs - 1)\(got)")
            }
            try noMore("cpu \(verb)")
            return .cpuHotplug(cpu: Int(v), online: verb == "online")
        case "inmate":
            let c = try cell("inmate")
            guard let kind = a.popFirst() else { throw UsageError(message: "usage: jhsim inmate {ID|[--name] NAME} KIND") }
            try checkInmate(kind, factory)
            try noMore("inmate")
            return .inmate(c, kind)
        case "trace":
            var last: Int? = nil, explain = false, brief = false, chrome: String? = nil
            while let o = a.popFirst() {
                switch o {
                case "--last":
                    guard let v = a.popFirst(), let n = CNumber.unsigned(v), n >= 1, n <= 1_000_000 else {
                        throw UsageError(message: "--last takes a number ≥ 1")
                    }
                    last = Int(n)
                case "--all": last = Int.max
                case "--explain": explain = true
                case "--brief": brief = true
                case "--chrome":
                    guard let v = a.popFirst() else { throw UsageError(message: "--chrome needs a file") }
                    chrome = v
                default: throw UsageError(message: "unknown option '\(o)' for trace; valid: --last N, --all, --explain, --brief, --chrome FILE")
                }
            }
            if explain && brief { throw UsageError(message: "trace takes --explain or --brief, not both") }
            return .trace(last: last, explain: explain, brief: brief, chrome: chrome)
        case "draw":
            guard let what = a.popFirst(), what == "timeline" || what == "html" else {
                throw UsageError(message: "usage: jhsim draw timeline [-o FILE.svg] | draw html [-o FILE.html] | draw states [--format dot|svg] [-o FILE]")
            }
            var output: String? = nil
            while let o = a.popFirst() {
                guard o == "-o" || o == "--output", let v = a.popFirst() else {
                    throw UsageError(message: what == "html" ? "usage: jhsim draw html [-o FILE.html]" : "usage: jhsim draw timeline [-o FILE.svg]")
                }
                output = v
            }
            return what == "html" ? .drawHTML(output: output) : .drawTimeline(output: output)
        case "cell":
            guard let sub = a.popFirst() else {
                throw UsageError(message: "cell needs a subcommand: create, list, load, start, shutdown, destroy, stats")
            }
            switch sub {
            case "create":
                guard let f = a.popFirst() else { throw UsageError(message: "usage: jhsim cell create CELLCONFIG") }
                try noMore("cell create")
                return .cellCreate(file: f)
            case "list":
                var json = false
                if a.first == "--json" { json = true; a.removeFirst() }
                try noMore("cell list")
                return .cellList(json: json)
            case "load":
                let c = try cell("cell load")
                var images: [(ImageSource, UInt64)] = []
                while let x = a.popFirst() {
                    var src: ImageSource
                    if x == "-s" || x == "--string" {
                        guard let s = a.popFirst() else { throw UsageError(message: "\(x) needs a string") }
                        src = .string(s)
                    } else {
                        src = .file(x)
                    }
                    var addr: UInt64 = 0
                    if let o = a.first, o == "-a" || o == "--address" {
                        a.removeFirst()
                        guard let v = a.popFirst() else { throw UsageError(message: "\(o) needs an address") }
                        guard let parsed = CNumber.address(v) else {
                            throw UsageError(message: "\(o) takes an address in C syntax (0x…, 0…, decimal), not '\(v)'")
                        }
                        addr = parsed
                    }
                    images.append((src, addr))
                }
                guard !images.isEmpty else {
                    throw UsageError(message: "usage: jhsim cell load {ID|[--name] NAME} {IMAGE | -s|--string STRING} [-a|--address ADDRESS] ...")
                }
                return .cellLoad(c, images)
            case "start":
                let c = try cell("cell start")
                var inmate: String? = nil
                if a.first == "--inmate" {
                    a.removeFirst()
                    guard let k = a.popFirst() else { throw UsageError(message: "--inmate needs a kind") }
                    try checkInmate(k, factory)
                    inmate = k
                }
                try noMore("cell start")
                return .cellStart(c, inmate: inmate)
            case "shutdown":
                let c = try cell("cell shutdown")
                try noMore("cell shutdown")
                return .cellShutdown(c)
            case "destroy":
                let c = try cell("cell destroy")
                try noMore("cell destroy")
                return .cellDestroy(c)
            case "stats":
                let c = try cell("cell stats")
                try noMore("cell stats")
                return .cellStats(c)
            default:
                throw UsageError(message: "unknown cell subcommand '\(sub)'; valid: create, list, load, start, shutdown, destroy, stats")
            }
        default:
            throw UsageError(message: "unknown command '\(cmd)'")
        }
    }

    static func checkInmate(_ kind: String, _ factory: BoxFactory) throws(UsageError) {
        guard factory.inmateKinds.contains(kind) else {
            throw UsageError(message: "unknown inmate kind '\(kind)'; valid kinds: \(factory.inmateKinds.joined(separator: ", "))")
        }
    }
}

/// Runs parsed machine commands against a session: the shared core of lab commands,
/// scenarios and the demo.
struct MachineContext {
    var factory: BoxFactory
    /// Relative file arguments are resolved against this directory.
    var baseDirectory: String
    var runner: LabCommandRunner

    /// - Returns: the exit status.
    func execute(_ command: MachineCommand, faults: [String], signalAfter: UInt64?, commandLine: String? = nil,
                 caps: String? = nil, session: LabSession, _ out: inout Output) throws -> Int32 {
        let line = commandLine ?? Self.describe(command)
        if let o = session.box.oops {
            // A dead box says so on every command (views still read what is left).
            out.err("jhsim: the simulated kernel oopsed earlier (\(o)); Jailhouse commands block on jailhouse_lock until 'jhsim lab init' starts over\n")
        }
        func perform(_ action: LabAction, outsideMemory: ((UInt64, Int) -> [UInt8]?)? = nil) throws -> ActionOutcome {
            let o: ActionOutcome
            do {
                o = try session.perform(LoggedCommand(action: action, faults: faults,
                                                      signalAfterNanoseconds: signalAfter, commandLine: line,
                                                      caps: caps), outsideMemory: outsideMemory)
            } catch {
                throw UsageError(message: "bad --fault rule: \(error.message)")
            }
            for rule in o.unfiredFaults {
                out.err("jhsim: --fault '\(rule)' never fired: no step of this command hit it (`jhsim faults list` shows where each site is)\n")
            }
            return o
        }
        /// perror-style failure, exit status 1, like tools/jailhouse.c.
        func ioctlResult(_ o: ActionOutcome, _ name: String) -> Int32 {
            if let hang = o.hang {
                if o.oops {
                    out.err("Killed\njhsim: Oops — the simulated kernel oopsed; the process died inside the system call: \(hang)\n")
                } else {
                    out.err("jhsim: the command never returns on real hardware — the simulator stopped a \(hang)\n")
                }
                return 1
            }
            guard let e = o.errno else { return 0 }
            if e == .notPermitted, let caps, let parsed = factory.parseCredentials(caps), !parsed.sysAdmin {
                // tools/jailhouse.c fails in open(2) before any ioctl.
                out.err("opening /dev/jailhouse: \(e.message)\n")
                out.err("jhsim: the process runs with capabilities '\(parsed.canonical)', without cap_sys_admin in its effective set; /dev/jailhouse is root-only on real systems\n")
                return 1
            }
            out.err("\(name): \(e.message)\n")
            return 1
        }
        if !faults.isEmpty {
            switch command {
            case .cellList, .cpus, .console, .trace, .drawTimeline, .drawHTML, .cellStats, .dmesg, .cat:
                throw UsageError(message: "--fault applies to commands that run the machine, not to read-only views")
            default: break
            }
        }
        switch command {
        case .enable(let file):
            let bytes: [UInt8]
            if let file {
                let system = factory.builtinSystemConfig(session.parameters.cpus)
                guard let b = readInput(file, builtin: { name in
                    guard let s = system, s.name == name else { return factory.handMadeConfigs[name] }
                    return s.bytes
                }, builtinNames: system.map { [$0.name] } ?? [], &out) else { return 1 }
                bytes = b
            } else {
                guard let s = factory.builtinSystemConfig(session.parameters.cpus) else {
                    throw UsageError(message: "usage: jhsim enable SYSCONFIG (only a \(BoxParameters.defaultCPUs)-CPU lab has a built-in default)")
                }
                bytes = s.bytes
            }
            return ioctlResult(try perform(.enable(config: Data(bytes))), IoctlCommand.enable.name)
        case .disable:
            return ioctlResult(try perform(.disable), IoctlCommand.disable.name)
        case .cellCreate(let file):
            guard let bytes = readInput(file, builtin: { factory.builtinCellConfig($0) ?? factory.handMadeConfigs[$0] },
                                        builtinNames: factory.builtinCellNames, &out) else { return 1 }
            return ioctlResult(try perform(.cellCreate(config: Data(bytes))), IoctlCommand.cellCreate.name)
        case .cellLoad(let cell, let images):
            var loaded: [PreloadImage] = []
            for (src, addr) in images {
                switch src {
                case .string(let s): loaded.append(PreloadImage(bytes: Data(s.utf8) + Data([0]), target: addr))
                case .file(let f):
                    guard let b = readInput(f, builtin: { _ in nil }, &out) else { return 1 }
                    loaded.append(PreloadImage(bytes: Data(b), target: addr))
                }
            }
            return ioctlResult(try perform(.cellLoad(cell: cell, images: loaded)), IoctlCommand.cellLoad.name)
        case .cellStart(let cell, let inmate):
            return ioctlResult(try perform(.cellStart(cell: cell, inmate: inmate)), IoctlCommand.cellStart.name)
        case .cellShutdown(let cell):
            // The real tool issues CELL_LOAD with no images, and reports it under that name.
            return ioctlResult(try perform(.cellShutdown(cell: cell)), IoctlCommand.cellLoad.name)
        case .cellDestroy(let cell):
            return ioctlResult(try perform(.cellDestroy(cell: cell)), IoctlCommand.cellDestroy.name)
        case .inmate(let cell, let kind):
            let o = try perform(.inmate(cell: cell, kind: kind))
            if let e = o.errno {
                out.err("inmate: \(e == .noEntry ? "no such cell '\(cell)'" : e.message)\n")
                return 1
            }
            return 0
        case .cpuHotplug(let cpu, let online):
            guard cpu < session.parameters.cpus else {
                out.err("/sys/devices/system/cpu/cpu\(cpu)/online: No such file or directory\n")
                return 1
            }
            let o = try perform(.cpuHotplug(cpu: cpu, online: online))
            if let e = o.errno {
                out.err("/sys/devices/system/cpu/cpu\(cpu)/online: \(e.message)\n")
                return 1
            }
            return 0
        case .console:
            out.out(session.box.readConsole())
            return 0
        case .dmesg:
            for line in session.box.dmesg { out.out(line + "\n") }
            return 0
        case .rawIoctl(let request):
            // As a program would issue it with a NULL argument: nothing of its memory is
            // mapped, so any copy_from_user the driver tries faults.
            let o = try perform(.outsideIoctl(request: request, argument: 0, process: "jhsim", reads: []),
                                outsideMemory: { _, _ in nil })
            return ioctlResult(o, IoctlCommand(rawValue: request).name)
        case .cat(let paths):
            // cat(1) on each file in turn; a directory is listed, as `ls` would, sorted.
            var status: Int32 = 0
            for p in paths {
                switch session.box.sysfsEntry(p) {
                case nil:
                    out.err("cat: \(p): \(Errno.noEntry.message)\n"); status = 1
                case .directory:
                    let names = ((try? session.box.sysfsList(p)) ?? []).sorted {
                        Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8))
                    }
                    for n in names { out.out(n + "\n") }
                case .attribute(false, _):
                    out.err("cat: \(p): Permission denied\n"); status = 1
                case .attribute(true, _):
                    do throws(Errno) {
                        out.out(try session.box.sysfsRead(p))
                    } catch {
                        out.err("cat: \(p): \(error.message)\n"); status = 1
                    }
                }
            }
            return status
        case .cellList(let json):
            if json {
                out.out(CellListFormat.json(SysfsCells.read(session.box)))
            } else {
                out.out(CellListFormat.render(SysfsCells.readIfPresent(session.box) ?? []))
            }
            return 0
        case .cpus(let json):
            let rows = (0..<session.parameters.cpus).map(session.box.cpuStatus)
            out.out(json ? CPUTable.json(rows) : CPUTable.render(rows))
            return 0
        case .cellStats(let cell):
            guard let id = session.resolve(cell) else {
                out.err("cell stats: no such cell '\(cell)'\n")
                return 1
            }
            let dir = SysfsCells.cellsDirectory + "/\(id)/statistics"
            let files = ((try? session.box.sysfsList(dir)) ?? []).filter { $0.hasPrefix("vmexits_") }
                .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            let name = SysfsCells.chomp((try? session.box.sysfsRead(SysfsCells.cellsDirectory + "/\(id)/name")) ?? "")
            out.out("Statistics for \(name) cell\n\n")
            var rows: [[String]] = []
            for f in files {
                let v = SysfsCells.chomp((try? session.box.sysfsRead(dir + "/" + f)) ?? "")
                rows.append([String(f.dropFirst("vmexits_".count)), v])
            }
            out.out(TextTable.render(header: ["COUNTER", "TOTAL"], rows: rows))
            return 0
        case .trace(let last, let explain, let brief, let chrome):
            let records = session.records
            if let chrome {
                let json = ChromeTrace.render(session)
                // Outputs land in the current directory, never next to a scenario: running
                // Docs/scenarios/09-timeline.jhsim from a clone must not touch Docs/.
                try runner.write(json, to: runner.absolute(chrome))
                if last == nil && !explain && !brief { return 0 }
            }
            guard !records.isEmpty else {
                out.out("(no commands yet)\n")
                return 0
            }
            let n = min(last ?? 1, records.count)
            out.out(TraceText.render(records: records[(records.count - n)...], events: session.machine.trace.events,
                                     style: brief ? .brief : explain ? .explain : .raw, language: runner.language))
            return 0
        case .drawHTML(let output):
            let html = Explorer.render(session, language: runner.language)
            if let output {
                try runner.write(html, to: runner.absolute(output))
            } else {
                out.out(html)
            }
            return 0
        case .drawTimeline(let output):
            let svg = TimelineSVG.render(session)
            if let output {
                try runner.write(svg, to: runner.absolute(output))
            } else {
                out.out(svg)
            }
            return 0
        }
    }

    /// Reads a config or image file like tools/jailhouse.c `read_file`; a missing file
    /// falls back to a built-in config of that name (with or without `.cell`).
    ///
    /// The steps and messages are those of `read_file`: `open(2)` failing prints
    /// `opening FILE: …`; a directory opens fine and fails in `read(2)`, so it prints
    /// `reading FILE: Is a directory`; an empty name is `ENOENT`, not the current
    /// directory.
    func readInput(_ file: String, builtin: (String) -> [UInt8]?, builtinNames: [String] = [],
                   _ out: inout Output) -> [UInt8]? {
        let path = file.isEmpty ? "" : runner.absolute(file, base: baseDirectory)
        switch readFileLikeTool(path) {
        case .success(let bytes):
            return bytes
        case .failure(.open(let e)):
            if e == ENOENT, !file.contains("/") {
                let base = file.hasSuffix(".cell") ? String(file.dropLast(5)) : file
                if let b = builtin(base) { return b }
            }
            out.err("opening \(file): \(String(cString: strerror(e)))\n")
            if e == ENOENT, !file.contains("/") {
                let base = file.hasSuffix(".cell") ? String(file.dropLast(5)) : file
                if let near = NearMiss.suggestion(for: base, among: builtinNames) {
                    out.err("jhsim: no such file, and no built-in config of that name; did you mean the built-in '\(near)'? (`jhsim config list`)\n")
                }
            }
        case .failure(.read(let e)):
            out.err("reading \(file): \(String(cString: strerror(e)))\n")
        case .failure(.tooBig):
            out.err("insufficient memory\n")
        }
        return nil
    }

    static func describe(_ c: MachineCommand) -> String {
        switch c {
        case .enable(let f): return "enable" + (f.map { " " + $0 } ?? "")
        case .disable: return "disable"
        case .cellCreate(let f): return "cell create \(f)"
        case .cellStart(let c, let i): return "cell start \(c)" + (i.map { " --inmate \($0)" } ?? "")
        case .cellShutdown(let c): return "cell shutdown \(c)"
        case .cellDestroy(let c): return "cell destroy \(c)"
        case .cellLoad(let c, let imgs): return "cell load \(c)" + imgs.map { src, addr in
            switch src {
            case .file(let f): " \(f) -a 0x\(String(addr, radix: 16))"
            case .string(let s): " -s \(ScenarioLexer.quoteIfNeeded(s)) -a 0x\(String(addr, radix: 16))"
            }
        }.joined()
        case .cpuHotplug(let cpu, let on): return "cpu \(on ? "online" : "offline") \(cpu)"
        case .inmate(let c, let k): return "inmate \(c) \(k)"
        default: return "\(c)"
        }
    }
}

/// How `read_file` in tools/jailhouse.c can fail.
enum ToolReadError: Error {
    case open(Int32), read(Int32), tooBig
}

/// `read_file` of tools/jailhouse.c: open, fstat, read `st_size` bytes. Files above
/// 1 GiB are refused as the tool's `malloc` would be ("insufficient memory"), so a huge
/// file cannot exhaust the host.
func readFileLikeTool(_ path: String) -> Result<[UInt8], ToolReadError> {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return .failure(.open(errno)) }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { return .failure(.read(errno)) }
    guard st.st_size <= 1 << 30 else { return .failure(.tooBig) }
    let size = Int(st.st_size)
    // One spare byte so the buffer has an address even for size 0: the tool still calls
    // read(fd, buf, 0), which is how a directory reports EISDIR.
    var bytes = [UInt8](repeating: 0, count: size + 1)
    var done = 0
    repeat {
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, size - done) }
        if n < 0 { if errno == EINTR { continue }; return .failure(.read(errno)) }
        if n == 0 { break }
        done += n
    } while done < size
    return .success(Array(bytes.prefix(done)))
}
