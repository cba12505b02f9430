import Foundation
import Testing

/// One end-to-end run of the real `jhsim` binary; the command logic itself is tested
/// in-process in JHConfigTests/CLITests.swift.
@Suite("jhsim config (subprocess)")
struct ConfigSmokeTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let binary = repo.appendingPathComponent(".build/debug/jhsim")

    static func run(_ args: [String]) throws -> (stdout: String, stderr: String, status: Int32) {
        let r = try JHSimProcess.spawn(binary.path, args)
        return (r.stdout, r.stderr, r.status)
    }

    @Test("check, show and a bad argument behave as documented",
          .enabled(if: FileManager.default.isExecutableFile(atPath: binary.path)))
    func smoke() throws {
        let cfg = Self.repo.appendingPathComponent("Fixtures/configs").path
        var r = try Self.run(["config", "lint", "\(cfg)/qemu-x86.cell", "\(cfg)/tiny-demo.cell", "\(cfg)/apic-demo.cell"])
        #expect(r.status == 0)
        #expect(r.stdout.hasSuffix("3 files, 0 errors, 0 warnings\n"))
        r = try Self.run(["config", "lint", Self.repo.appendingPathComponent("Fixtures/bad/wrong-revision.cell").path])
        #expect(r.status == 1)
        #expect(r.stdout.contains("cell descriptor: revision 13 at offset 6, expected 14"))
        r = try Self.run(["config", "check", "\(cfg)/imb-a180.cell"])
        #expect(r.status == 1 && r.stdout.contains("In cell 'IMB-A180', region 4\n"))
        r = try Self.run(["config", "check", "\(cfg)/qemu-x86.cell", "\(cfg)/tiny-demo.cell"])
        #expect(r.status == 0 && r.stdout.hasSuffix("Missing resource interceptions for architecture x86: None\n"))
        r = try Self.run(["config", "check"])
        #expect(r.status == 2 && r.stderr.contains("the following arguments are required: SYSCONFIG"))
        r = try Self.run(["config", "show", "\(cfg)/tiny-demo.cell", "--format", "json"])
        #expect(r.status == 0 && r.stdout.hasPrefix("{\n  \"kind\": \"cell\",\n  \"revision\": 14,"))
        r = try Self.run(["config", "show", "\(cfg)/tiny-demo.cell", "--format", "xml"])
        #expect(r.status != 0 && r.stderr.contains("xml"))
        r = try Self.run(["config", "synth", "--cpus", "99999"])
        #expect(r.status == 1 && r.stderr.contains("--cpus must be 1…4096"))
    }
}
