import Foundation
import Testing

/// Runs the built `jhsim` binary as a separate process.
struct JHSimProcess {
    /// Next to the test bundle in the build directory, whatever the scratch path.
    static let binary: String = {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("jhsim").path,
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent(".build/debug/jhsim").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }()

    struct Result { var stdout: String; var stderr: String; var status: Int32 }

    static func run(_ args: [String], in dir: String, env: [String: String] = [:]) throws -> Result {
        var e = ProcessInfo.processInfo.environment
        e.removeValue(forKey: "JHSIM_LAB")
        for (k, v) in env { e[k] = v }
        return try spawn(binary, args, in: dir, environment: e)
    }

    /// Runs `executable` with exactly `environment` (nil: this process's) and collects
    /// its output and exit status: the one process runner of the subprocess tests.
    static func spawn(_ executable: String, _ args: [String], in dir: String? = nil,
                      environment: [String: String]? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        if let dir { p.currentDirectoryURL = URL(fileURLWithPath: dir) }
        if let environment { p.environment = environment }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let r = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: r, as: UTF8.self),
                      status: p.terminationStatus)
    }

    /// Starts several invocations at once and waits for all of them.
    static func runConcurrently(_ argvs: [[String]], in dir: String) throws -> [Int32] {
        let procs = try argvs.map { args -> Process in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = args
            p.currentDirectoryURL = URL(fileURLWithPath: dir)
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            return p
        }
        return procs.map { $0.waitUntilExit(); return $0.terminationStatus }
    }

    static func tempDir() -> String {
        let d = NSTemporaryDirectory() + "jhsim-bin-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }
}

@Suite struct BinaryTests {
    @Test func versionAndHelp() throws {
        let d = JHSimProcess.tempDir()
        let v = try JHSimProcess.run(["--version"], in: d)
        #expect(v.status == 0)
        #expect(v.stdout.hasPrefix("jhsim "))
        let h = try JHSimProcess.run(["--help"], in: d)
        #expect(h.status == 0)
        for sub in ["lab", "enable", "cell", "cpus", "trace", "draw", "run", "demo", "faults", "quirks", "config"] {
            #expect(h.stdout.contains("  \(sub) "), "help lists \(sub)")
        }
        let t = try JHSimProcess.run(["help", "trace"], in: d)
        #expect(t.status == 0 && t.stdout.contains("--explain") && !t.stdout.contains("<arguments>"))
        let hc = try JHSimProcess.run(["help", "config"], in: d)
        #expect(hc.status == 0 && hc.stdout.contains("list"))
        let list = try JHSimProcess.run(["config", "list"], in: d)
        #expect(list.status == 0 && list.stdout.contains("tiny-demo       cell    tiny-demo       2"))
        let show = try JHSimProcess.run(["config", "show", "tiny-demo"], in: d)
        #expect(show.status == 0 && show.stdout.hasPrefix("cell config \"tiny-demo\""))
        let c = try JHSimProcess.run(["cell", "--help"], in: d)
        #expect(c.status == 0)
        #expect(c.stdout.hasPrefix("usage: jhsim cell create CELLCONFIG\n"))
    }

    @Test func usageErrorsExitOne() throws {
        let d = JHSimProcess.tempDir()
        for args in [["cell", "frob"], ["cell", "load", "1"], ["cpu", "sideways", "1"], ["trace", "--last", "x"],
                     ["enabel"], ["help", "nosuch"], ["config", "show"], ["config", "frob"], ["config", "synth", "--cpus", "x"]] {
            let r = try JHSimProcess.run(args, in: d)
            #expect(r.status == 1, "\(args)")
            #expect(r.stderr.hasPrefix("jhsim: "), "\(args): \(r.stderr)")
            #expect(r.stdout.isEmpty)
        }
    }

    @Test func drawStatesNeedsNoLab() throws {
        let d = JHSimProcess.tempDir()
        let r = try JHSimProcess.run(["draw", "states"], in: d)
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("digraph jailhouse_states {"))
    }

    @Test func missingLabSaysHowToMakeOne() throws {
        let d = JHSimProcess.tempDir()
        let r = try JHSimProcess.run(["--lab", d + "/nolab", "cell", "list"], in: d)
        #expect(r.status == 1)
        #expect(r.stderr.contains("no lab in \(d)/nolab; create one with `jhsim lab init`"))
        let eq = try JHSimProcess.run(["--lab=\(d)/other", "cpus"], in: d)
        #expect(eq.stderr.contains("no lab in \(d)/other"))
    }

    /// The lab persists across processes (needs the simulated machine).
    @Test func labAcrossProcesses() throws {
        let d = JHSimProcess.tempDir()
        let initR = try JHSimProcess.run(["lab", "init", "--executor", "inline"], in: d)
        guard initR.status == 0 else {
            #expect(initR.stderr.contains("built without the simulated machine"), "\(initR.stderr)")
            return
        }
        #expect(try JHSimProcess.run(["enable"], in: d).status == 0)
        #expect(try JHSimProcess.run(["cell", "create", "tiny-demo"], in: d).status == 0)
        let busy = try JHSimProcess.run(["cell", "create", "linux-x86-demo"], in: d)
        #expect(busy.status == 1)
        #expect(busy.stderr == "JAILHOUSE_CELL_CREATE: Device or resource busy\n")
        let list = try JHSimProcess.run(["cell", "list"], in: d)
        #expect(list.stdout ==
            "ID      Name                    State             Assigned CPUs           Failed CPUs             \n" +
            "0       QEMU-VM                 running           0-1,3                                           \n" +
            "1       tiny-demo               shut down         2                                               \n")
        let env = try JHSimProcess.run(["cell", "list"], in: "/", env: ["JHSIM_LAB": d + "/.jhsim"])
        #expect(env.stdout == list.stdout)
        let demo = try JHSimProcess.run(["demo"], in: d)
        #expect(demo.status == 0, "\(demo.stderr)")
        #expect(demo.stderr.isEmpty, "piped output shows no progress")
    }

    /// Concurrent invocations on one lab take turns (flock): no command is lost.
    @Test func concurrentCommandsAreAllLogged() throws {
        let d = JHSimProcess.tempDir()
        guard try JHSimProcess.run(["lab", "init", "--executor", "inline"], in: d).status == 0 else { return }
        let statuses = try JHSimProcess.runConcurrently((1...3).map { ["cpu", "offline", "\($0)"] }, in: d)
        #expect(statuses == [0, 0, 0])
        let info = try JHSimProcess.run(["lab", "info"], in: d)
        #expect(info.stdout.contains("Commands:  3\n"), "\(info.stdout)")
        let cpus = try JHSimProcess.run(["cpus", "--json"], in: d)
        #expect(cpus.stdout.components(separatedBy: "\"online\": false").count == 4)
    }
}
