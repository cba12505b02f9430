import Foundation
import JHABI
import Testing
@testable import JHLab

/// A scripted channel: the library's side of the conversation is given up front (the
/// request and the answers to the reads the test expects), the server's side is kept.
final class ScriptedChannel: PreloadChannel {
    var input: [UInt8]
    var output: [UInt8] = []
    init(_ input: [UInt8]) { self.input = input }

    func readLine() -> String? {
        guard let nl = input.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let line = String(decoding: input[..<nl], as: UTF8.self)
        input.removeFirst(nl + 1)
        return line
    }
    func readBytes(_ count: Int) -> [UInt8]? {
        guard input.count >= count else { return nil }
        defer { input.removeFirst(count) }
        return Array(input.prefix(count))
    }
    func write(_ bytes: [UInt8]) -> Bool { output += bytes; return true }
    var text: String { String(decoding: output, as: UTF8.self) }
}

/// The lab side of libjhsim-preload, in-process over the fake box.
@Suite struct PreloadServerTests {
    static func request(_ fields: [(String, [UInt8])]) -> [UInt8] {
        var b: [UInt8] = []
        for (k, v) in fields { b += Array("\(k) \(v.count)\n".utf8) + v }
        return b + Array("end 0\n".utf8)
    }
    static func text(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// `struct jailhouse_cell_id` for id 1.
    static let cellOne: [UInt8] = [1, 0, 0, 0] + [UInt8](repeating: 0, count: 36)

    func serve(_ lab: TestLab, _ input: [UInt8]) -> (ScriptedChannel, String) {
        let channel = ScriptedChannel(input)
        var diagnostics = ""
        PreloadServer(factory: FakeBox.factory, channel: channel) { diagnostics += $0 }.serve()
        return (channel, diagnostics)
    }

    func startRequest(_ lab: TestLab, reply: [UInt8]) -> [UInt8] {
        Self.request([("op", Self.text("ioctl")), ("lab", Self.text(lab.dir + "/.jhsim")),
                      ("request", Self.text("\(IoctlCommand.cellStart.rawValue)")), ("arg", Self.text("4096")),
                      ("argv", Self.text("jhclient\0start\u{0}1\0")), ("comm", Self.text("jhclient"))]) + reply
    }

    @Test func anIoctlReadsTheProgramsMemoryAndIsLoggedAndReplayed() {
        let lab = TestLab()
        lab.ok("lab init"); lab.ok("enable"); lab.ok("cell create tiny-demo")
        let (channel, diagnostics) = serve(lab, startRequest(lab, reply: Self.text("ok 40\n") + Self.cellOne))
        #expect(channel.text == "read 4096 40\ndone 0 0 0\n")
        #expect(diagnostics.isEmpty)
        let info = lab.ok("lab info").stdout
        #expect(info.contains("  3. jhclient start 1\n"), "\(info)")
        // A fresh load replays the logged read and checks the trace hash.
        #expect(lab.ok("cell list").stdout.contains("running"))
        #expect(lab.ok("trace").stdout.contains("# 3: jhclient start 1"))
    }

    @Test func anUnmappedArgumentIsEFAULT() {
        let lab = TestLab()
        lab.ok("lab init"); lab.ok("enable"); lab.ok("cell create tiny-demo")
        let (channel, _) = serve(lab, startRequest(lab, reply: Self.text("fault 0\n")))
        #expect(channel.text == "read 4096 40\ndone -1 14 0\n")
        #expect(lab.ok("lab info").stdout.contains("jhclient start 1 → EFAULT"))
    }

    @Test func noLabIsENOENTAndACorruptOneIsEIOWithOneLine() {
        let lab = TestLab()
        let (none, quiet) = serve(lab, startRequest(lab, reply: []))
        #expect(none.text == "done -1 2 0\n" && quiet.isEmpty)
        try? FileManager.default.createDirectory(atPath: lab.dir + "/.jhsim", withIntermediateDirectories: true)
        lab.write(".jhsim/lab.json", "not json")
        let (corrupt, line) = serve(lab, startRequest(lab, reply: []))
        #expect(corrupt.text == "done -1 5 0\n")
        #expect(line.hasPrefix("jhsim: the lab file ") && line.filter { $0 == "\n" }.count == 1, "\(line)")
    }

    @Test func aSysfsWriteIsAdminHotplugAndASnapshotListsTheTree() {
        let lab = TestLab()
        lab.ok("lab init")
        let write = Self.request([("op", Self.text("write")), ("lab", Self.text(lab.dir + "/.jhsim")),
                                  ("path", Self.text("/sys/devices/system/cpu/cpu2/online")), ("data", Self.text("0\n")),
                                  ("argv", Self.text("sh\0-c\0echo 0 > /sys/devices/system/cpu/cpu2/online\0"))])
        #expect(serve(lab, write).0.text == "done 0 0 0\n")
        #expect(lab.ok("cpus").stdout.contains("2    offline"))
        #expect(lab.ok("lab info").stdout.contains("  1. sh -c 'echo 0 > /sys/devices/system/cpu/cpu2/online'\n"))
        lab.ok("cpu online 2"); lab.ok("enable"); lab.ok("cell create tiny-demo")
        let snapshot = Self.request([("op", Self.text("snapshot")), ("lab", Self.text(lab.dir + "/.jhsim")),
                                     ("path", Self.text("/sys/devices/jailhouse/cells"))])
        let answer = serve(lab, snapshot).0.text
        #expect(answer.hasPrefix("done 0 0 "), "\(answer)")
        #expect(answer.contains("d /sys/devices/jailhouse/cells\n"))
        #expect(answer.contains("f r 0 10 /sys/devices/jailhouse/cells/1/name\ntiny-demo\n"), "\(answer)")
        let bad = Self.request([("op", Self.text("write")), ("lab", Self.text(lab.dir + "/.jhsim")),
                                ("path", Self.text("/sys/devices/system/cpu/cpu1/online")), ("data", Self.text("0")),
                                ("faults", Self.text("no_such_site"))])
        let (rejected, why) = serve(lab, bad)
        #expect(rejected.text == "done -1 22 0\n" && why.hasPrefix("jhsim: bad JHSIM_FAULT rule: "))
    }

    @Test func aMalformedRequestIsRefused() {
        let lab = TestLab()
        let channel = ScriptedChannel(Self.text("op x\n"))
        var diagnostics = ""
        let status = PreloadServer(factory: FakeBox.factory, channel: channel) { diagnostics += $0 }.serve()
        #expect(status == 2 && channel.output.isEmpty && diagnostics.contains("malformed"))
        _ = lab
    }
}
