import Foundation
import Testing

/// `--jobs` workers and interrupted streams through the real executable.
@Suite struct ScaleBinaryTests {
    static let campaign = ["faults", "campaign", "--seed", "5", "--runs", "30"]

    @Test func jobsPrintWhatOneProcessPrints() throws {
        let d = JHSimProcess.tempDir()
        let one = try JHSimProcess.run(Self.campaign, in: d)
        #expect(one.status == 0, "\(one.stderr)")
        let jobs = try JHSimProcess.run(Self.campaign + ["--jobs", "3", "--out", "j.jsonl"], in: d)
        #expect(jobs.status == 0, "\(jobs.stderr)")
        #expect(jobs.stdout == one.stdout)
        #expect(try JHSimProcess.run(["faults", "merge", "j.jsonl"], in: d).stdout == one.stdout)
        // --isolate with --jobs: each worker runs its isolated children, workers in parallel.
        let sweep = ["faults", "sweep", "--sites", "cell_kzalloc,pci_bind"]
        let isolated = try JHSimProcess.run(sweep + ["--isolate", "--jobs", "2"], in: d)
        #expect(isolated.status == 0, "\(isolated.stderr)")
        #expect(isolated.stdout == (try JHSimProcess.run(sweep, in: d)).stdout)
    }

    /// A stand-in worker passes on its real jhsim's header and first two runs, then dies
    /// of SIGTRAP as a Swift trap would: the run it was in is a `trap` run, a new worker
    /// does the rest, and the campaign ends with every run accounted for.
    @Test func aWorkerThatDiesMakesATrapRunNotTheEnd() throws {
        let d = JHSimProcess.tempDir()
        let fake = d + "/dying-jhsim"
        try "#!/bin/sh\n\"$JHSIM_REAL\" \"$@\" | head -n 3\nkill -TRAP $$\n".write(toFile: fake, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake)
        let args = ["faults", "campaign", "--seed", "5", "--runs", "8", "--no-shrink", "--jobs", "2", "--out", "c.jsonl"]
        let r = try JHSimProcess.run(args, in: d, env: ["JHSIM_WORKER": fake, "JHSIM_REAL": JHSimProcess.binary])
        #expect(r.status == 5, "\(r.stderr)")
        #expect(r.stdout.contains("8 runs, "))
        #expect(r.stdout.contains("2 failing runs (trap 2):\n"))
        #expect(r.stdout.contains("FAIL [trap] run 5 seed "))
        #expect(r.stdout.contains("FAIL [trap] run 6 seed "))
        #expect(r.stdout.contains("the worker process running it died of signal 5"))
        let merged = try JHSimProcess.run(["faults", "merge", "c.jsonl"], in: d)
        #expect(merged.stdout == r.stdout)
        #expect(merged.status == 5)
    }

    /// SIGKILL at any moment leaves whole lines (and maybe one cut-off line); resuming
    /// gives the uninterrupted report.
    @Test func aKilledCampaignLeavesValidLinesAndResumes() throws {
        let d = JHSimProcess.tempDir()
        let args = ["faults", "campaign", "--seed", "9", "--runs", "200", "--no-shrink"]
        let p = Process()
        p.executableURL = URL(fileURLWithPath: JHSimProcess.binary)
        p.arguments = args + ["--out", "k.jsonl"]
        p.currentDirectoryURL = URL(fileURLWithPath: d)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let file = d + "/k.jsonl"
        for _ in 0..<2000 {
            let n = (try? String(contentsOfFile: file, encoding: .utf8))?.split(separator: "\n").count ?? 0
            if n >= 6 { break }
            usleep(5_000)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let text = try String(contentsOfFile: file, encoding: .utf8)
        let whole = text.hasSuffix("\n") ? text.split(separator: "\n") : text.split(separator: "\n").dropLast()
        #expect(whole.count >= 6)
        for line in whole { #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "\(line)") }
        #expect(!text.contains("\"kind\":\"summary\""))
        let resumed = try JHSimProcess.run(args + ["--resume", "k.jsonl"], in: d)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout == (try JHSimProcess.run(args, in: d)).stdout)
    }
}
