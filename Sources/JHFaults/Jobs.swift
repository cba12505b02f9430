import Foundation
import JHLab

/// `--jobs J`: J worker processes, each the `jhsim` executable running one sub-shard of
/// this process's shard with `--jsonl`, their lines merged here as they arrive.
///
/// A worker is a whole process, so a Swift trap in one run kills only that worker: the
/// run it was doing (the next of its shard not yet recorded) is recorded as class `trap`
/// (not shrunk) and a new worker carries on with the rest of the shard, skipping what the
/// stream file already holds. No scheduler beyond that: one process per sub-shard.
struct Jobs {
    var executable: String
    var directory: String
    var jobs: Int
    /// The campaign's canonical arguments (`StreamHeader.arguments`), plus `--isolate`.
    var arguments: [String]
    var shard: Shard
    /// The stream file every record is appended to (workers skip what it holds).
    var recordedFile: String
    /// This campaign's header line: a worker's must name the same campaign (a
    /// `$JHSIM_WORKER` of another jhsim version must not be mixed in).
    var headerLine: String

    /// Lines from all workers funnel through one lock: appended to the file, tallied.
    final class Collector: @unchecked Sendable {
        let lock = NSLock()
        var done: RunSet
        let each: (FaultRunRecord) throws(LabError) -> Void
        var error: LabError?

        init(done: RunSet, each: @escaping (FaultRunRecord) throws(LabError) -> Void) { self.done = done; self.each = each }

        func add(_ r: FaultRunRecord) {
            lock.lock(); defer { lock.unlock() }
            guard error == nil, done.insert(r.index) else { return }
            do { try each(r) } catch { self.error = error }
        }

        func fail(_ e: LabError) {
            lock.lock(); defer { lock.unlock() }
            if error == nil { error = e }
        }

        func isDone(_ i: Int) -> Bool { lock.lock(); defer { lock.unlock() }; return done.contains(i) }
        var failed: Bool { lock.lock(); defer { lock.unlock() }; return error != nil }
    }

    /// Runs every not-yet-recorded run of `shard` in workers.
    /// - Parameter each: called (one at a time, under a lock) with every record.
    func run(_ prepared: any PreparedRuns, done: RunSet, each: @escaping (FaultRunRecord) throws(LabError) -> Void) throws(LabError) {
        let collector = Collector(done: done, each: each)
        let group = DispatchGroup()
        for j in 0..<jobs {
            let part = shard.part(j, of: jobs)
            group.enter()
            let t = Thread { [self] in
                worker(part, prepared, collector)
                group.leave()
            }
            t.stackSize = 1 << 20
            t.start()
        }
        group.wait()
        if let e = collector.error { throw e }
    }

    /// One sub-shard: start a worker; when it dies mid-shard, record its run as a trap and
    /// start another for the rest.
    private func worker(_ part: Shard, _ prepared: any PreparedRuns, _ c: Collector) {
        var last = 0
        while !c.failed {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: executable)
            p.arguments = arguments + ["--shard", part.description, "--jsonl", "--skip-recorded", recordedFile]
            p.currentDirectoryURL = URL(fileURLWithPath: directory)
            let out = Pipe()
            p.standardOutput = out
            let errPath = NSTemporaryDirectory() + "jhsim-worker-\(ProcessInfo.processInfo.processIdentifier)-\(part.index)-\(UUID().uuidString).err"
            FileManager.default.createFile(atPath: errPath, contents: nil)
            defer { try? FileManager.default.removeItem(atPath: errPath) }
            p.standardError = FileHandle(forWritingAtPath: errPath)
            do { try p.run() } catch {
                c.fail(LabError("cannot start worker \(executable): \(error.localizedDescription)"))
                return
            }
            var reader = LineReader(pipe: out.fileHandleForReading)
            var sawHeader = false, sawSummary = false
            while let (line, complete) = reader.next() {
                guard complete, let o = StreamLine.object(line) else { continue }
                switch o["kind"] as? String {
                case "header":
                    sawHeader = true
                    let mine = StreamLine.object(Data(headerLine.utf8))?["campaign"] as? [String: Any] ?? [:]
                    if let diff = StreamLine.difference(mine, o["campaign"] as? [String: Any] ?? [:]) {
                        c.fail(LabError("worker \(executable) runs a different campaign: \(diff)"))
                        p.terminate()
                    }
                case "summary": sawSummary = true
                case "run":
                    do {
                        let r = try StreamLine.record(o)
                        last = max(last, r.index)
                        c.add(r)
                    } catch {
                        c.fail(LabError("worker \(part) sent a bad line: \(error.message)"))
                    }
                default: break
                }
            }
            p.waitUntilExit()
            let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
            let died = p.terminationReason == .uncaughtSignal
            if sawSummary && !died { return }
            guard sawHeader else {
                c.fail(LabError("worker for shard \(part) exited \(p.terminationStatus) before starting: \(stderr.trimmingCharacters(in: .whitespacesAndNewlines))"))
                return
            }
            if !died && p.terminationStatus == 1 {
                c.fail(LabError("worker for shard \(part) failed: \(stderr.trimmingCharacters(in: .whitespacesAndNewlines))"))
                return
            }
            // The run in flight: the next of this sub-shard after the last one it finished.
            guard let next = part.runs(of: prepared.total).first(where: { $0 > last && !c.isDone($0) }) else { return }
            let tail = stderr.split(separator: "\n").suffix(3).joined(separator: " | ")
            let how = died ? "died of signal \(p.terminationStatus)" : "exited \(p.terminationStatus) without finishing"
            c.add(prepared.crashed(next, message: "the worker process running it \(how)\(tail.isEmpty ? "" : ": " + tail)"))
            last = next
        }
    }
}

extension LineReader {
    /// Reads a pipe as its data arrives (not in fixed-size blocks), for workers' lines.
    init(pipe: FileHandle) { self.init(handle: pipe, streaming: true) }
}
