import Foundation
import JHABI
import JHMachine

/// A byte stream to libjhsim-preload: the socket that is the `jhsim _preload` child's
/// stdin and stdout. A protocol so tests can drive the server in-process.
public protocol PreloadChannel: AnyObject {
    /// The next line without its newline; nil at end of stream.
    func readLine() -> String?
    /// Exactly `count` bytes; nil at end of stream.
    func readBytes(_ count: Int) -> [UInt8]?
    /// Writes all bytes; false when the other side is gone.
    @discardableResult func write(_ bytes: [UInt8]) -> Bool
}

/// The lab side of libjhsim-preload (Sources/JHSimPreload): serves one request of a real
/// program — an ioctl on `/dev/jailhouse`, a sysfs write, a sysfs snapshot or the console
/// — with the same load, lock, perform, log and save as a `jhsim` command.
///
/// The wire format (all numbers decimal, one frame per line, payloads raw):
/// - request: frames `KEY LEN\n` + LEN bytes, for `op` (`ioctl`, `write`, `snapshot`,
///   `console`), `lab`, `path`, `data`, `request`, `arg`, `comm`, `argv` (NUL-separated,
///   as /proc/self/cmdline), `faults`; then `end 0\n`.
/// - while an ioctl runs, every `copy_from_user` the driver makes is asked back:
///   `read ADDRESS COUNT\n`, answered `ok COUNT\n` + the bytes, or `fault 0\n`.
/// - the answer: `done RET ERRNO LEN\n` + LEN bytes (the snapshot or the console).
///
/// A snapshot lists a sysfs subtree in byte order: `d PATH` for a directory, `u PATH` for
/// a `statistics` directory left out (asked for separately: a 4096-CPU root cell has
/// 40 000 counters), and `f MODE ERRNO LEN PATH` + LEN bytes for an attribute, MODE being
/// `r`, `w`, `rw` or `-`, ERRNO what its `show` method failed with (0 if nothing).
public struct PreloadServer {
    public var factory: BoxFactory
    public var channel: any PreloadChannel
    /// Where the one stderr line of a failed lab load (or a bad fault rule) goes: the
    /// real program's stderr.
    public var diagnostics: (String) -> Void

    /// The largest single `copy_from_user` forwarded to the program: the driver's own
    /// bound on one image (256 MiB) plus a page. Larger reads fault without asking.
    public static let maxRead = (1 << 28) + 4096

    public init(factory: BoxFactory, channel: any PreloadChannel, diagnostics: @escaping (String) -> Void) {
        self.factory = factory; self.channel = channel; self.diagnostics = diagnostics
    }

    struct Answer {
        var ret: Int64
        var errno: Int32
        var payload: [UInt8] = []
        static func error(_ e: Errno) -> Answer { Answer(ret: -1, errno: e.rawValue) }
    }

    /// Reads one request, serves it, writes the answer. Returns the exit status.
    @discardableResult
    public func serve() -> Int32 {
        guard let request = readRequest() else {
            diagnostics("jhsim: _preload: malformed request (this command serves libjhsim-preload)\n")
            return 2
        }
        let answer = handle(request)
        channel.write(Array("done \(answer.ret) \(answer.errno) \(answer.payload.count)\n".utf8) + answer.payload)
        return 0
    }

    func readRequest() -> [String: [UInt8]]? {
        var fields: [String: [UInt8]] = [:]
        while let line = channel.readLine() {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let n = Int(parts[1]), n >= 0, n <= Self.maxRead else { return nil }
            if parts[0] == "end" { return fields }
            guard let bytes = channel.readBytes(n) else { return nil }
            fields[String(parts[0])] = bytes
        }
        return nil
    }

    func handle(_ r: [String: [UInt8]]) -> Answer {
        func text(_ k: String) -> String? { r[k].map { String(decoding: $0, as: UTF8.self) } }
        guard let op = text("op"), let lab = text("lab") else { return .error(.invalidArgument) }
        let store = LabStore(directory: lab)
        // No lab is no machine: like a host without the driver, nothing is there.
        guard store.exists else { return .error(.noEntry) }
        let faults = (text("faults") ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == ";" })
            .map(String.init)
        let line = Self.commandLine(r["argv"] ?? [])
        do {
            return try store.withLock { () throws -> Answer in
                let runner = LabCommandRunner(factory: factory, environment: LabEnvironment(currentDirectory: lab))
                let session: LabSession
                do throws(LabError) { session = try runner.loadSession(store).0 } catch {
                    diagnostics("jhsim: \(error.message)\n")
                    return .error(.ioError)
                }
                switch op {
                case "snapshot":
                    guard let path = text("path") else { return .error(.invalidArgument) }
                    guard session.box.sysfsEntry(path) != nil else { return .error(.noEntry) }
                    var out: [UInt8] = []
                    Self.snapshot(session.box, path, root: true, &out)
                    return Answer(ret: 0, errno: 0, payload: out)
                case "console":
                    return Answer(ret: 0, errno: 0, payload: Array(session.box.readConsole().utf8))
                case "write", "ioctl":
                    do throws(FaultRuleError) { _ = try session.parseFaults(faults) } catch {
                        diagnostics("jhsim: bad JHSIM_FAULT rule: \(error.message)\n")
                        return .error(.invalidArgument)
                    }
                    let outcome: ActionOutcome
                    if op == "write" {
                        guard let path = text("path"), let data = r["data"] else { return .error(.invalidArgument) }
                        let command = LoggedCommand(action: .sysfsWrite(path: path, value: String(decoding: data, as: UTF8.self)),
                                                    faults: faults, commandLine: line, viaPreload: true)
                        outcome = try session.perform(command)
                    } else {
                        guard let request = text("request").flatMap({ UInt32($0) }),
                              let argument = text("arg").flatMap({ UInt64($0) }) else { return .error(.invalidArgument) }
                        let comm = text("comm").map { $0.isEmpty ? "jailhouse" : $0 } ?? "jailhouse"
                        let command = LoggedCommand(action: .outsideIoctl(request: request, argument: argument, process: comm, reads: []),
                                                    faults: faults, commandLine: line, viaPreload: true)
                        outcome = try session.perform(command, outsideMemory: askProgram)
                    }
                    try runner.save(session, store)
                    if let hang = outcome.hang {
                        diagnostics("jhsim: the command never returns on real hardware — the simulator stopped a \(hang)\n")
                        return .error(.ioError)
                    }
                    return outcome.result < 0 ? Answer(ret: -1, errno: Int32(truncatingIfNeeded: -outcome.result))
                        : Answer(ret: outcome.result, errno: 0)
                default:
                    return .error(.invalidArgument)
                }
            }
        } catch let e as LabError {
            diagnostics("jhsim: \(e.message)\n")
            return .error(.ioError)
        } catch {
            diagnostics("jhsim: \(error)\n")
            return .error(.ioError)
        }
    }

    /// One `copy_from_user` of the real program's memory, asked of the library.
    func askProgram(_ address: UInt64, _ count: Int) -> [UInt8]? {
        guard count >= 0, count <= Self.maxRead else { return nil }
        if count == 0 { return [] }
        guard channel.write(Array("read \(address) \(count)\n".utf8)), let reply = channel.readLine() else { return nil }
        let parts = reply.split(separator: " ")
        guard parts.count == 2, parts[0] == "ok", Int(parts[1]) == count else { return nil }
        return channel.readBytes(count)
    }

    /// The program's argv, NUL-separated as in /proc/self/cmdline, as a shell line.
    static func commandLine(_ argv: [UInt8]) -> String {
        var words = argv.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        if words.last == "" { words.removeLast() }
        return words.map(ScenarioLexer.quoteIfNeeded).joined(separator: " ")
    }

    /// Appends the subtree at `path` in the snapshot format (see the type's comment).
    static func snapshot(_ box: any JailhouseBox, _ path: String, root: Bool, _ out: inout [UInt8]) {
        switch box.sysfsEntry(path) {
        case nil: return
        case .directory:
            if !root, path.hasSuffix("/statistics") {
                out += Array("u \(path)\n".utf8)
                return
            }
            out += Array("d \(path)\n".utf8)
            let children = ((try? box.sysfsList(path)) ?? []).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            for c in children { snapshot(box, path + "/" + c, root: false, &out) }
        case .attribute(let readable, let writable):
            var content: [UInt8] = []
            var failure: Int32 = 0
            if readable {
                do { content = Array(try box.sysfsRead(path).utf8) } catch { failure = error.rawValue }
            }
            let mode = readable && writable ? "rw" : readable ? "r" : writable ? "w" : "-"
            out += Array("f \(mode) \(failure) \(content.count) \(path)\n".utf8) + content
        }
    }
}

/// A `PreloadChannel` over file descriptors (the child's stdin and stdout).
public final class DescriptorChannel: PreloadChannel {
    let input: Int32, output: Int32
    private var buffer: [UInt8] = []
    private var start = 0

    public init(input: Int32, output: Int32) { self.input = input; self.output = output }

    private func fill() -> Bool {
        if start > 0 { buffer.removeFirst(start); start = 0 }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(input, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            buffer += chunk[0..<n]
            return true
        }
    }

    public func readLine() -> String? {
        while true {
            if let nl = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[start..<nl], as: UTF8.self)
                start = nl + 1
                return line
            }
            guard fill() else { return nil }
        }
    }

    public func readBytes(_ count: Int) -> [UInt8]? {
        while buffer.count - start < count { guard fill() else { return nil } }
        let bytes = Array(buffer[start..<start + count])
        start += count
        return bytes
    }

    public func write(_ bytes: [UInt8]) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { posixWrite(output, $0.baseAddress! + done, bytes.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            done += n
        }
        return true
    }
}

private func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { Foundation.write(fd, p, n) }
