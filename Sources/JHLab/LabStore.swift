import Foundation
import JHMachine

/// What a lab file holds: the machine parameters and the ordered command log. Loading
/// builds a fresh box and replays the log; determinism makes that exact, and the saved
/// trace hash proves it.
public struct LabRecord: Hashable, Sendable, Codable {
    /// Always `jhsim-lab`, so a stray JSON file is not mistaken for a lab.
    public var format: String
    /// Bumped when the file layout changes; newer files are refused, never overwritten.
    public var version: Int
    /// The jhsim that wrote it (for messages only).
    public var writtenBy: String
    public var parameters: BoxParameters
    public var commands: [LoggedCommand]
    /// The determinism hash of the trace after replaying `commands`, as hex: over the
    /// binary form of the typed events since version 2, over the text lines in version 1.
    public var traceHash: String
    public var eventCount: UInt64

    public static let formatName = "jhsim-lab"
    /// 2: the trace hash covers typed events (version 1 hashed text lines; such labs are
    /// replayed and checked against the text form, then saved as version 2).
    public static let currentVersion = 2
}

/// Where the lab lives on disk and how it is read and written.
///
/// Saves are atomic: write `lab.json.tmp`, fsync it, rename it over `lab.json`, fsync the
/// directory. A crash at any point leaves either the old or the new lab, never a mix.
public struct LabStore: Sendable {
    public var directory: String
    /// Test seam: runs after the temporary file is written and synced, before the rename;
    /// throwing from it simulates a crash mid-save.
    public var afterTemporaryWrite: @Sendable (String) throws -> Void

    public static let fileName = "lab.json"

    public init(directory: String, afterTemporaryWrite: @escaping @Sendable (String) throws -> Void = { _ in }) {
        self.directory = directory
        self.afterTemporaryWrite = afterTemporaryWrite
    }

    public var path: String { directory + "/" + Self.fileName }
    public var exists: Bool { FileManager.default.fileExists(atPath: path) }

    /// Reads and checks a lab file.
    /// - Throws: `LabError` for a missing, unreadable, corrupt or newer-version lab.
    public func load() throws(LabError) -> LabRecord {
        guard exists else {
            throw LabError("no lab in \(directory); create one with `jhsim lab init` (or pass --lab DIR)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LabError("cannot read the lab file \(path)")
        }
        struct Header: Decodable { var format: String?; var version: Int? }
        guard let header = try? JSONDecoder().decode(Header.self, from: data),
              header.format == LabRecord.formatName, let version = header.version else {
            throw LabError("the lab file \(path) is corrupt (not a jhsim lab); it was left untouched — remove it or run `jhsim lab init --force`")
        }
        // Versions start at 1; a zero or negative one was written by hand, not by jhsim,
        // and must not be silently upgraded by the next save.
        guard version >= 1 else {
            throw LabError("the lab file \(path) is corrupt (format version \(version) does not exist); it was left untouched — remove it or run `jhsim lab init --force`")
        }
        guard version <= LabRecord.currentVersion else {
            throw LabError("the lab file \(path) has format version \(version), newer than this jhsim understands (\(LabRecord.currentVersion)); it was left untouched — use a newer jhsim")
        }
        do {
            return try JSONDecoder().decode(LabRecord.self, from: data)
        } catch {
            throw LabError("the lab file \(path) is corrupt (\(Self.describe(error))); it was left untouched — remove it or run `jhsim lab init --force`")
        }
    }

    /// Writes the lab atomically.
    public func save(_ record: LabRecord) throws(LabError) {
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw LabError("cannot create the lab directory \(directory): \(error.localizedDescription)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try encoder.encode(record) } catch {
            throw LabError("cannot encode the lab: \(error)")
        }
        let tmp = path + ".tmp"
        guard fm.createFile(atPath: tmp, contents: nil) else {
            throw LabError("cannot write \(tmp)")
        }
        do {
            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: tmp))
            try h.write(contentsOf: data)
            try h.synchronize()
            try h.close()
            try afterTemporaryWrite(tmp)
        } catch {
            try? fm.removeItem(atPath: tmp)
            throw LabError("saving the lab failed (\(error)); the previous lab is intact")
        }
        guard rename(tmp, path) == 0 else {
            try? fm.removeItem(atPath: tmp)
            throw LabError("cannot rename \(tmp) to \(path); the previous lab is intact")
        }
        // Make the rename itself durable.
        let dfd = open(directory, O_RDONLY)
        if dfd >= 0 { _ = fsync(dfd); _ = close(dfd) }
    }

    /// Runs `body` holding an exclusive `flock` on `DIR/lock`, so two `jhsim` processes
    /// working on one lab take turns instead of one silently losing the other's command.
    /// Without a lab directory there is nothing to protect, and `body` just runs.
    public func withLock<T>(_ body: () throws -> T) throws -> T {
        guard FileManager.default.fileExists(atPath: directory) else { return try body() }
        let fd = open(directory + "/lock", O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { return try body() }
        defer { _ = flock(fd, LOCK_UN); _ = close(fd) }
        _ = flock(fd, LOCK_EX)
        return try body()
    }

    public func remove() throws(LabError) {
        guard exists else { return }
        do { try FileManager.default.removeItem(atPath: path) } catch {
            throw LabError("cannot remove \(path): \(error.localizedDescription)")
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let c): return c.debugDescription
        case DecodingError.keyNotFound(let k, _): return "missing field '\(k.stringValue)'"
        case DecodingError.typeMismatch(_, let c): return "wrong type at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.valueNotFound(_, let c): return "missing value at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
        default: return "\(error)"
        }
    }
}
