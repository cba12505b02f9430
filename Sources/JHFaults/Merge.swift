import Foundation
import JHLab

/// Reading `.jsonl` result files back: `--resume` (continue one file), `--jobs` workers
/// (skip what the parent's file has), and `faults merge` (many files, one report).
enum Recorded {
    /// What a file holds so far.
    struct Contents {
        var done: RunSet
        var tally = RunTally()
        /// Things the user should hear about (a cut-off last line).
        var notes: [String] = []
        /// Where the valid part ends: the header and whole run lines, not an old summary
        /// nor a cut-off line.
        var goodEnd: UInt64 = 0
    }

    /// Reads `path` for `--resume`: the header must be this campaign's (and shard's), every
    /// complete line valid; a cut-off last line is dropped (its run is run again).
    static func forResume(_ path: String, file: String, header: StreamHeader, shard: Shard) throws(LabError) -> Contents {
        var reader: LineReader
        do { reader = try LineReader(path: file) } catch { throw LabError(error.message.replacingOccurrences(of: file, with: path)) }
        guard let first = reader.next() else { throw LabError("\(path) is empty: not a jhsim faults .jsonl file (use --out to start one)") }
        guard first.complete, let obj = StreamLine.object(first.line) else {
            throw LabError("\(path) line 1: not a jhsim faults header (use --out to start a new file)")
        }
        let theirs: (shard: Shard, campaign: [String: Any], header: StreamHeader)
        do { theirs = try StreamLine.header(obj) } catch { throw LabError("\(path) line 1: \(error.message)") }
        if let diff = StreamLine.difference(theirs.campaign, identityDictionary(header)) {
            throw LabError("\(path) holds a different campaign: \(diff)")
        }
        guard theirs.shard == shard else {
            throw LabError("\(path) holds shard \(theirs.shard), not \(shard): resume it with --shard \(theirs.shard)")
        }
        var c = Contents(done: RunSet(total: header.total))
        c.goodEnd = reader.offset
        while let (line, complete) = reader.next() {
            let n = reader.lineNumber
            guard let o = StreamLine.object(line) else {
                if !complete {
                    c.notes.append("\(path): line \(n) was cut off mid-write; ignoring it, and its run runs again")
                    break
                }
                throw LabError("\(path) line \(n): not valid JSON")
            }
            if o["kind"] as? String == "summary" { continue }
            let rec: FaultRunRecord
            do { rec = try StreamLine.record(o) } catch { throw LabError("\(path) line \(n): \(error.message)") }
            guard rec.index >= 1, rec.index <= header.total, shard.contains(rec.index) else {
                throw LabError("\(path) line \(n): run \(rec.index) is not one of shard \(shard)'s runs of 1…\(header.total)")
            }
            guard c.done.insert(rec.index) else { throw LabError("\(path) line \(n): run \(rec.index) is recorded twice") }
            c.tally.add(rec)
            c.goodEnd = reader.offset
        }
        return c
    }

    /// The runs recorded in `path` so far (a `--jobs` worker skips them). The file may be
    /// growing; a cut-off last line is simply not counted.
    static func runs(in path: String, total: Int) throws(LabError) -> RunSet {
        var reader = try LineReader(path: path)
        var done = RunSet(total: total)
        _ = reader.next()
        while let (line, complete) = reader.next(), complete {
            guard let o = StreamLine.object(line), o["kind"] as? String == "run", let i = o["run"] as? Int else { continue }
            done.insert(i)
        }
        return done
    }

    static func identityDictionary(_ h: StreamHeader) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(h.identity.text().utf8))) as? [String: Any] ?? [:]
    }

    /// `jhsim faults merge FILE…`: one report from the `.jsonl` files of one campaign's
    /// shards, byte for byte what one process would have printed.
    static func merge(_ files: [(name: String, path: String)], json: Bool) throws(LabError) -> CommandResult {
        guard !files.isEmpty else { throw LabError("faults merge needs the .jsonl files of a campaign or sweep") }
        var first: (path: String, campaign: [String: Any], header: StreamHeader)?
        var done = RunSet(total: 0)
        var tally = RunTally()
        var duplicates: [Int] = []
        var shardCounts = Set<Int>()
        var cutOff: [String] = []
        var given = Set<String>()
        for (path, file) in files {
            guard given.insert(file).inserted else { throw LabError("\(path) is given twice") }
            var reader: LineReader
            do { reader = try LineReader(path: file) } catch { throw LabError(error.message.replacingOccurrences(of: file, with: path)) }
            guard let h = reader.next() else { throw LabError("\(path) is empty: not a jhsim faults .jsonl file") }
            guard h.complete, let obj = StreamLine.object(h.line) else { throw LabError("\(path) line 1: not a jhsim faults header") }
            let header: (shard: Shard, campaign: [String: Any], header: StreamHeader)
            do { header = try StreamLine.header(obj) } catch { throw LabError("\(path) line 1: \(error.message)") }
            if let f = first {
                if let diff = StreamLine.difference(f.campaign, header.campaign) {
                    throw LabError("\(path) is from a different campaign than \(f.path): \(diff)")
                }
            } else {
                first = (path, header.campaign, header.header)
                done = RunSet(total: header.header.total)
            }
            shardCounts.insert(header.shard.count)
            let total = header.header.total
            while let (line, complete) = reader.next() {
                let n = reader.lineNumber
                guard let o = StreamLine.object(line) else {
                    if !complete { cutOff.append(path); break }
                    throw LabError("\(path) line \(n): not valid JSON")
                }
                if o["kind"] as? String == "summary" { continue }
                let rec: FaultRunRecord
                do { rec = try StreamLine.record(o) } catch { throw LabError("\(path) line \(n): \(error.message)") }
                guard rec.index >= 1, rec.index <= total else { throw LabError("\(path) line \(n): run \(rec.index) is outside 1…\(total)") }
                if done.insert(rec.index) { tally.add(rec) } else { duplicates.append(rec.index) }
            }
        }
        guard let f = first else { throw LabError("faults merge needs the .jsonl files of a campaign or sweep") }
        if !duplicates.isEmpty {
            let runs = Array(Set(duplicates)).sorted()
            throw LabError("\(runs.count) run\(runs.count == 1 ? "" : "s") recorded more than once: " + where_(runs.prefix(3), files)
                           + (runs.count > 3 ? "; …" : ""))
        }
        var missing: [Int] = []
        var missingCount = 0
        for i in stride(from: 1, through: f.header.total, by: 1) where !done.contains(i) {
            missingCount += 1
            if missing.count < 10 { missing.append(i) }
        }
        if missingCount > 0 {
            var msg = "\(missingCount) of \(f.header.total) runs missing: "
                + missing.map(String.init).joined(separator: ", ") + (missingCount > missing.count ? ", …" : "")
            if shardCounts.count == 1, let n = shardCounts.first, n > 1 {
                var shards = Set<Int>()
                for i in stride(from: 1, through: f.header.total, by: 1) where !done.contains(i) { shards.insert((i - 1) % n) }
                msg += " (of shard\(shards.count == 1 ? "" : "s") " + shards.sorted().map { "\($0)/\(n)" }.joined(separator: ", ") + ")"
            }
            for p in cutOff { msg += "; \(p) ends in a cut-off line (finish it with --resume \(p))" }
            throw LabError(msg)
        }
        let (text, status) = f.header.render(tally, json: json)
        return CommandResult(stdout: text, status: status)
    }

    /// "run 7 (a.jsonl line 8, b.jsonl line 3)" for each duplicated run: a second pass over
    /// the files, keeping only the few runs asked about.
    private static func where_(_ runs: ArraySlice<Int>, _ files: [(name: String, path: String)]) -> String {
        var seen: [Int: [String]] = [:]
        let wanted = Set(runs)
        for (path, file) in files {
            guard var reader = try? LineReader(path: file) else { continue }
            while let (line, _) = reader.next() {
                guard let o = StreamLine.object(line), o["kind"] as? String == "run", let i = o["run"] as? Int, wanted.contains(i) else { continue }
                seen[i, default: []].append("\(path) line \(reader.lineNumber)")
            }
        }
        return runs.map { "run \($0) (\((seen[$0] ?? []).joined(separator: ", ")))" }.joined(separator: "; ")
    }
}
