#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JHABI

/// What a CLI command printed and how it exited; lets tests run commands in-process.
public struct CommandOutput: Hashable, Sendable {
    public var stdout: String
    public var stderr: String
    public var exitCode: Int32
    public init(stdout: String = "", stderr: String = "", exitCode: Int32 = 0) {
        self.stdout = stdout; self.stderr = stderr; self.exitCode = exitCode
    }
}

/// The logic of `jhsim config check|lint|show|build|synth`, kept in the library so that it is
/// tested directly; `Sources/jhsim` only parses arguments and prints.
public enum ConfigCLI {
    /// Reads a whole file.
    /// - Throws: a message naming the path and the reason.
    public static func readFile(_ path: String) throws(ConfigError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDir: ObjCBool = false
            let why = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
                ? (isDir.boolValue ? "is a directory" : "cannot be read") : "does not exist"
            throw ConfigError(structName: "file", field: "path", offset: nil, message: "\(path) \(why)")
        }
        return [UInt8](data)
    }

    /// Reads a binary config: the file, or, when no such file exists and the argument is a
    /// plain name, the built-in config of that name (`tiny-demo`, `qemu-x86.cell`). A name
    /// close to a built-in one gets a "did you mean" in the error.
    public static func readConfig(_ path: String) throws(ConfigError) -> [UInt8] {
        if !path.contains("/"), !FileManager.default.fileExists(atPath: path), let bytes = BuiltinConfigs.named(path) {
            return bytes
        }
        do {
            return try readFile(path)
        } catch {
            guard !path.contains("/") else { throw error }
            let base = path.hasSuffix(".cell") ? String(path.dropLast(5)) : path
            var e = error
            e.message += NearMiss.hint(for: base, among: BuiltinConfigs.allNames)
                .replacingOccurrences(of: "did you mean", with: "did you mean the built-in")
            throw e
        }
    }

    /// `jhsim config list`: the built-in configs, usable by name wherever a config file is.
    public static func list() -> CommandOutput {
        var out = "NAME            KIND    CELL NAME       CPUS  SIZE\n"
        for s in BuiltinConfigs.summaries {
            out += s.name.padded(16) + s.kind.rawValue.padded(8) + s.cellName.padded(16) + s.cpus.padded(6) + "\(s.size) bytes\n"
        }
        out += "\nUse a name wherever a config file goes: `jhsim config show tiny-demo`, `jhsim cell create smp-demo`, `jhsim enable qemu-x86`.\n"
        return CommandOutput(stdout: out)
    }

    /// Writes `bytes` to `path` atomically: a temporary file in the same directory, then
    /// `rename(2)`, so a reader never sees half a config.
    ///
    /// A destination that exists and is not a regular file (`/dev/null`, `/dev/stdout`, a
    /// FIFO) is written in place instead: renaming over it would replace the device node
    /// with a plain file, and atomicity means nothing for a stream anyway.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws(ConfigError) {
        func failure(_ what: String) -> ConfigError {
            ConfigError(structName: "file", field: "path", offset: nil, message: what)
        }
        var st = stat()
        if stat(path, &st) == 0, (st.st_mode & S_IFMT) != S_IFREG, (st.st_mode & S_IFMT) != S_IFDIR {
            let fd = open(path, O_WRONLY | O_TRUNC)
            guard fd >= 0 else { throw failure("cannot write \(path): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            if let err = writeAll(fd, bytes) { throw failure("cannot write \(path): \(err)") }
            return
        }
        let url = URL(fileURLWithPath: path)
        let tmp = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            throw failure("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        if let err = writeAll(fd, bytes) {
            close(fd); unlink(tmp)
            throw failure("cannot write \(path): \(err)")
        }
        close(fd)
        if rename(tmp, path) != 0 {
            let err = String(cString: strerror(errno))
            unlink(tmp)
            throw failure("cannot rename \(tmp) to \(path): \(err)")
        }
    }

    /// Writes every byte, retrying after `EINTR`; returns the `strerror` text of a failure.
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> String? {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return String(cString: strerror(errno)) }
            done += n
        }
        return nil
    }

    /// `FILE: struct: message`, or just the message for file-system errors (which
    /// already name the path).
    static func describe(_ error: ConfigError, _ path: String) -> String {
        error.structName == "file" ? error.message + "\n" : "\(path): \(error)\n"
    }

    // MARK: lint

    /// `jhsim config lint FILE…`: jhsim's own findings (`ConfigChecker`), stricter than
    /// upstream's `config check` (`ConfigCheckReport`) and with the cross-cell RAM and CPU
    /// sharing checks. Exit 0 when no file has an error (warnings do not fail).
    public static func lint(paths: [String], json: Bool) -> CommandOutput {
        var out = CommandOutput()
        guard !paths.isEmpty else {
            return CommandOutput(stderr: "config lint: give at least one config file\n", exitCode: 1)
        }
        var files: [(name: String, bytes: [UInt8])] = []
        var findings: [Finding] = []
        for p in paths {
            do { files.append((p, try readConfig(p))) } catch {
                findings.append(Finding(file: p, severity: .error, structName: "file", field: "path", offset: nil,
                                        message: error.message))
            }
        }
        findings += ConfigChecker.check(files: files)
        let errors = findings.filter { $0.severity == .error }.count
        let warnings = findings.count - errors
        if json {
            out.stdout = SourceValue.list(findings.map { f in
                .map([("file", .string(f.file)), ("severity", .string(f.severity.rawValue)), ("struct", .string(f.structName)),
                      ("field", .string(f.field)),
                      ("offset", f.offset.map { .number(UInt64($0), hex: false) } ?? .null),
                      ("message", .string(f.message))])
            }).json() + "\n"
        } else {
            for p in paths where !findings.contains(where: { $0.file == p }) { out.stdout += "\(p): ok\n" }
            for f in findings { out.stdout += f.description + "\n" }
            out.stdout += "\(paths.count) file\(paths.count == 1 ? "" : "s"), \(errors) error\(errors == 1 ? "" : "s"), "
                + "\(warnings) warning\(warnings == 1 ? "" : "s")\n"
        }
        out.exitCode = errors > 0 ? 1 : 0
        return out
    }

    // MARK: show

    public enum ShowFormat: String, CaseIterable, Sendable { case text, json, yaml }

    /// `jhsim config show FILE [--format text|json|yaml]`.
    public static func show(path: String, format: ShowFormat) -> CommandOutput {
        let file: ConfigFile
        do {
            file = try ConfigFile.decode(try readConfig(path))
        } catch {
            return CommandOutput(stderr: describe(error, path), exitCode: 1)
        }
        switch format {
        case .text: return CommandOutput(stdout: ConfigText.render(file))
        case .json: return CommandOutput(stdout: ConfigSource.json(file))
        case .yaml: return CommandOutput(stdout: ConfigSource.yaml(file))
        }
    }

    // MARK: build

    /// `jhsim config build SOURCE -o FILE`: compiles YAML or JSON source into the binary.
    /// Checker warnings go to stderr; checker errors refuse the build unless `force`
    /// (used to make deliberately bad fixtures).
    public static func build(source: String, output: String, force: Bool = false) -> CommandOutput {
        var out = CommandOutput()
        let file: ConfigFile
        do {
            let bytes = try readFile(source)
            guard let text = String(bytes: bytes, encoding: .utf8) else {
                return CommandOutput(stderr: "\(source): not UTF-8 text\n", exitCode: 1)
            }
            file = try ConfigSource.parse(text)
        } catch {
            return CommandOutput(stderr: describe(error, source), exitCode: 1)
        }
        let image = file.encode()
        let findings = ConfigChecker.check(file: output, bytes: image).findings
        for f in findings { out.stderr += f.description + "\n" }
        if findings.contains(where: { $0.severity == .error }) && !force {
            out.stderr += "\(source): not written: the config has errors (use --force to write it anyway)\n"
            out.exitCode = 1
            return out
        }
        do { try writeAtomically(image, to: output) } catch {
            out.stderr += "\(error.message)\n"; out.exitCode = 1; return out
        }
        out.stdout = "\(output): \(file.kind.rawValue) config \"\(file.cell.name)\", \(image.count) bytes\n"
        return out
    }

    // MARK: synth

    /// `jhsim config synth --cpus N [--cells k] [--max-cells M] [--yaml] [-o DIR]`.
    public static func synth(cpus: Int, perCell k: Int, maxCells: Int?, yaml: Bool, outputDir: String) -> CommandOutput {
        guard cpus >= 1, cpus <= Synth.maxCPUs else {
            return CommandOutput(stderr: "config synth: --cpus must be 1…\(Synth.maxCPUs), got \(cpus)\n", exitCode: 1)
        }
        guard k >= 1, k < max(2, cpus) else {
            return CommandOutput(stderr: "config synth: --cells must be 1…\(max(1, cpus - 1)) (CPU 0 stays in the root), got \(k)\n",
                                 exitCode: 1)
        }
        if let m = maxCells, m < 0 {
            return CommandOutput(stderr: "config synth: --max-cells must not be negative\n", exitCode: 1)
        }
        do {
            try FileManager.default.createDirectory(atPath: outputDir, withIntermediateDirectories: true)
        } catch {
            return CommandOutput(stderr: "config synth: cannot create \(outputDir): \(error.localizedDescription)\n", exitCode: 1)
        }
        var out = CommandOutput()
        let system = Synth.system(cpus: cpus, perCell: k)
        let cells = Synth.cells(cpus: cpus, perCell: k, limit: maxCells)
        let width = String(cells.count).count
        var written: [(String, ConfigFile)] = [("system", .system(system))]
        for (i, c) in cells.enumerated() {
            let n = String(i + 1)
            written.append(("cell-" + String(repeating: "0", count: width - n.count) + n, .cell(c)))
        }
        do {
            for (stem, f) in written {
                let base = (outputDir as NSString).appendingPathComponent(stem)
                try writeAtomically(f.encode(), to: base + ".cell")
                if yaml { try writeAtomically(Array(ConfigSource.yaml(f).utf8), to: base + ".yaml") }
            }
        } catch {
            return CommandOutput(stderr: "config synth: \(error.message)\n", exitCode: 1)
        }
        out.stdout = "\(outputDir): system.cell (\(cpus) CPUs) and \(cells.count) cell\(cells.count == 1 ? "" : "s") of \(k) CPU\(k == 1 ? "" : "s")\n"
        return out
    }
}

extension String {
    /// Left-justified in `n` columns, with at least one space after it.
    func padded(_ n: Int) -> String {
        count >= n ? self + " " : self + String(repeating: " ", count: n - count)
    }
}
