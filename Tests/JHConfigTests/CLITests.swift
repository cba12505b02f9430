import Foundation
import JHABI
import Testing
@testable import JHConfig

@Suite("config CLI")
struct CLITests {
    static func path(_ n: String) -> String { FixturePaths.configs.appendingPathComponent(n).path }
    static func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("jhsim-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    @Test("check: valid files exit 0 with a summary; warnings do not fail")
    func checkValid() {
        let out = ConfigCLI.lint(paths: [Self.path("tiny-demo.cell"), Self.path("cpu0-demo.cell")], json: false)
        #expect(out.exitCode == 0)
        #expect(out.stdout.hasPrefix("\(Self.path("tiny-demo.cell")): ok\n"))
        #expect(out.stdout.contains("cpu0-demo.cell: warning: CPU set: the cell asks for CPU 0"))
        #expect(out.stdout.hasSuffix("2 files, 0 errors, 1 warning\n"))
    }

    @Test("check: a bad file exits 1 and the JSON lists file, severity, field, offset, message")
    func checkBadJSON() {
        let bad = FixturePaths.bad.appendingPathComponent("wrong-revision.cell").path
        let out = ConfigCLI.lint(paths: [bad, "/nonexistent.cell"], json: true)
        #expect(out.exitCode == 1)
        #expect(out.stdout.contains("\"file\": \"\(bad)\""))
        #expect(out.stdout.contains("\"severity\": \"error\""))
        #expect(out.stdout.contains("\"field\": \"revision\""))
        #expect(out.stdout.contains("\"offset\": 6"))
        #expect(out.stdout.contains("\"offset\": null"))
        #expect(out.stdout.contains("\"message\": \"/nonexistent.cell does not exist\""))
        #expect(ConfigCLI.lint(paths: [], json: false).exitCode == 1)
    }

    @Test("show: text lists named flags, hex addresses and CPU ranges")
    func showText() {
        let out = ConfigCLI.show(path: Self.path("linux-x86-demo.cell"), format: .text)
        #expect(out.exitCode == 0)
        #expect(out.stdout.hasPrefix("cell config \"linux-x86-demo\": revision 14, x86, 692 bytes\n"))
        #expect(out.stdout.contains("  flags: PASSIVE_COMMREG|VIRTUAL_CONSOLE_PERMITTED\n"))
        #expect(out.stdout.contains("  cpus: 2-3 (cpu_set_size 8)\n"))
        #expect(out.stdout.contains("    [0] phys 0x3a600000-0x3a6fffff -> virt 0x0, 1 MiB, READ|WRITE|EXECUTE|DMA|LOADABLE\n"))
        #expect(out.stdout.contains("    [0] 0xfec00000 id 0xff00 pins 3-4\n"))
        let sys = ConfigCLI.show(path: Self.path("qemu-x86.cell"), format: .text)
        #expect(sys.stdout.contains("  hypervisor memory: 0x3a000000-0x3a5fffff (6 MiB; the hypervisor's memory pool)\n"))
        #expect(sys.stdout.contains("  root cell \"QEMU-VM\":\n    flags: (none)\n    cpus: 0-3 (cpu_set_size 8)\n"))
    }

    @Test("show: a broken file goes to stderr with exit 1")
    func showBroken() {
        let out = ConfigCLI.show(path: FixturePaths.bad.appendingPathComponent("truncated-pio-regions.cell").path, format: .json)
        #expect(out.exitCode == 1 && out.stdout.isEmpty)
        #expect(out.stderr.contains("PIO regions: file ends at byte 226"))
    }

    @Test("show --format yaml, then build, gives identical bytes; build writes atomically")
    func showThenBuild() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        for n in ["qemu-x86.cell", "ivshmem-demo.cell"] {
            let yaml = ConfigCLI.show(path: Self.path(n), format: .yaml).stdout
            let src = dir.appendingPathComponent("\(n).yaml")
            try yaml.write(to: src, atomically: true, encoding: .utf8)
            let out = dir.appendingPathComponent(n)
            let r = ConfigCLI.build(source: src.path, output: out.path)
            #expect(r.exitCode == 0, "\(r.stderr)")
            #expect(try FixturePaths.bytes(out) == FixturePaths.config(n))
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }

    @Test("build: a source with errors is refused unless forced; a bad source names the line")
    func buildErrors() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let src = dir.appendingPathComponent("e.yaml")
        try "kind: cell\nname: e\n".write(to: src, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("e.cell")
        var r = ConfigCLI.build(source: src.path, output: out.path)
        #expect(r.exitCode == 1)
        #expect(r.stderr.contains("the CPU bitmap at offset 132 is empty"))
        #expect(!FileManager.default.fileExists(atPath: out.path))
        r = ConfigCLI.build(source: src.path, output: out.path, force: true)
        #expect(r.exitCode == 0 && FileManager.default.fileExists(atPath: out.path))
        try "kind: cell\ncpus: x\n".write(to: src, atomically: true, encoding: .utf8)
        r = ConfigCLI.build(source: src.path, output: out.path)
        #expect(r.exitCode == 1 && r.stderr.contains("source line 2: cpus: expected a CPU list"))
        r = ConfigCLI.build(source: dir.appendingPathComponent("missing.yaml").path, output: out.path)
        #expect(r.exitCode == 1 && r.stderr.contains("does not exist"))
    }

    @Test("synth writes a system config and k-CPU cells that check clean together")
    func synth() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = ConfigCLI.synth(cpus: 16, perCell: 4, maxCells: nil, yaml: true, outputDir: dir.path)
        #expect(r.exitCode == 0)
        #expect(r.stdout == "\(dir.path): system.cell (16 CPUs) and 3 cells of 4 CPUs\n")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(files == ["cell-1.cell", "cell-1.yaml", "cell-2.cell", "cell-2.yaml", "cell-3.cell", "cell-3.yaml",
                          "system.cell", "system.yaml"])
        let check = ConfigCLI.lint(paths: files.filter { $0.hasSuffix(".cell") }.map { dir.appendingPathComponent($0).path }, json: false)
        #expect(check.exitCode == 0 && check.stdout.hasSuffix("4 files, 0 errors, 0 warnings\n"), "\(check.stdout)")
        let c3 = try CellConfig.decode(FixturePaths.bytes(dir.appendingPathComponent("cell-3.cell")))
        #expect(c3.cpus == CPUSet(range: 9 ..< 13))
    }

    @Test("synth rejects nonsense without trapping", arguments: [(0, 1), (4097, 1), (4, 0), (4, 4), (-3, 1)])
    func synthRejects(cpus: Int, k: Int) {
        let r = ConfigCLI.synth(cpus: cpus, perCell: k, maxCells: nil, yaml: false, outputDir: "/tmp/unused-jhsim-synth")
        #expect(r.exitCode == 1 && r.stderr.hasPrefix("config synth: "))
    }
}

@Suite("Synthetic machines")
struct SynthTests {
    @Test("synthetic machines of 1 to 4096 CPUs check clean, with cells never on CPU 0",
          arguments: [(1, 1), (2, 1), (64, 8), (256, 1), (1024, 64), (1024, 1), (4096, 16)])
    func machines(cpus: Int, k: Int) {
        let sys = Synth.system(cpus: cpus, perCell: k)
        let cells = Synth.cells(cpus: cpus, perCell: k)
        #expect(cells.count == (cpus - 1) / k)
        #expect(sys.rootCell.cpus.count == cpus)
        #expect(cells.allSatisfy { !$0.cpus.contains(0) && $0.cpus.count == k })
        let f = ConfigChecker.check(files: [(name: "system", bytes: sys.encode())]
            + cells.enumerated().map { (name: "cell-\($0.offset)", bytes: $0.element.encode()) })
        #expect(f.isEmpty, "\(f.prefix(3))")
    }

    @Test("the hypervisor window grows with the CPU count")
    func hypervisorWindow() {
        #expect(Synth.hypervisorSize(cpus: 4) == 0x80_0000)
        #expect(Synth.hypervisorSize(cpus: 1024) > 1024 * 0x1_0000)
        #expect(Synth.cpuSetSize(cpus: 1024) == 128 && Synth.cpuSetSize(cpus: 4096) == 512 && Synth.cpuSetSize(cpus: 1) == 8)
    }
}

@Suite struct OutputFileTests {
    /// A FIFO with a non-blocking reader open, so a writer neither blocks nor fails.
    static func fifo() -> (path: String, reader: Int32) {
        let path = NSTemporaryDirectory() + "jhsim-fifo-" + UUID().uuidString
        #expect(mkfifo(path, 0o600) == 0)
        return (path, open(path, O_RDONLY | O_NONBLOCK))
    }

    @Test func writingToANonRegularFileWritesInPlaceInsteadOfReplacingIt() throws {
        let (path, reader) = Self.fifo()
        defer { close(reader); unlink(path) }
        try ConfigCLI.writeAtomically([1, 2, 3], to: path)
        var st = stat()
        #expect(lstat(path, &st) == 0)
        #expect((st.st_mode & S_IFMT) == S_IFIFO)
        var buf = [UInt8](repeating: 0, count: 8)
        #expect(read(reader, &buf, 8) == 3)
        #expect(Array(buf.prefix(3)) == [1, 2, 3])
    }
}
