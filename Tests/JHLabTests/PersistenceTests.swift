import Foundation
import Testing
@testable import JHLab

struct SimulatedCrash: Error {}

@Suite struct PersistenceTests {
    @Test func labSurvivesAcrossRunners() {
        let lab = TestLab()
        lab.ok("lab init --seed 7 --executor inline")
        lab.ok("enable")
        lab.ok("cell create tiny-demo")
        // A second runner is a new `jhsim` invocation: it only has the file.
        let again = LabCommandRunner(factory: FakeBox.factory, environment: LabEnvironment(currentDirectory: lab.dir))
        let list = again.run(["cell", "list"]).stdout
        #expect(list.contains("tiny-demo"))
        let info = again.run(["lab", "info"]).stdout
        #expect(info.contains("seed 7"))
        #expect(info.contains("2. jhsim cell create tiny-demo"))
    }

    @Test func labDirectoryFromOptionAndEnvironment() {
        let lab = TestLab()
        lab.ok("lab init --lab elsewhere")
        #expect(FileManager.default.fileExists(atPath: lab.dir + "/elsewhere/lab.json"))
        var r = lab.runner
        r.environment.variables["JHSIM_LAB"] = lab.dir + "/elsewhere"
        #expect(r.run(["enable"]).status == 0)
        #expect(lab.run("cell list --lab elsewhere").stdout.contains("QEMU-VM"))
        #expect(lab.run("cell list").status == 1)
    }

    @Test func crashDuringSaveLeavesTheOldLab() throws {
        let lab = TestLab()
        lab.ok("lab init")
        lab.ok("enable")
        let before = try #require(lab.read(".jhsim/lab.json"))
        var crashing = lab.runner
        crashing.afterTemporaryWrite = { _ in throw SimulatedCrash() }
        let r = crashing.run(["cell", "create", "tiny-demo"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("the previous lab is intact"))
        #expect(lab.read(".jhsim/lab.json") == before)
        #expect(!FileManager.default.fileExists(atPath: lab.labFile + ".tmp"))
        #expect(!lab.ok("cell list").stdout.contains("tiny-demo"))
        lab.ok("cell create tiny-demo")
    }

    @Test func corruptLabIsRefusedAndKept() {
        let lab = TestLab()
        lab.ok("lab init")
        lab.write(".jhsim/lab.json", "{ this is not json")
        let r = lab.run("enable")
        #expect(r.status == 1)
        #expect(r.stderr.contains("is corrupt"))
        #expect(lab.read(".jhsim/lab.json") == "{ this is not json")
        #expect(lab.run("lab init").status == 1)
        lab.ok("lab init --force")
    }

    @Test func newerLabIsRefused() throws {
        let lab = TestLab()
        lab.ok("lab init")
        let text = try #require(lab.read(".jhsim/lab.json"))
        let newer = text.replacingOccurrences(of: "\"version\" : 2", with: "\"version\" : 99")
        #expect(newer != text)
        lab.write(".jhsim/lab.json", newer)
        let r = lab.run("cell list")
        #expect(r.stderr.contains("format version 99, newer than this jhsim understands"))
        #expect(lab.read(".jhsim/lab.json") == newer)
    }

    @Test func labWithANonPositiveVersionIsRefusedAndKept() throws {
        let lab = TestLab()
        lab.ok("lab init")
        let text = try #require(lab.read(".jhsim/lab.json"))
        let bad = text.replacingOccurrences(of: "\"version\" : 2", with: "\"version\" : -1")
        #expect(bad != text)
        lab.write(".jhsim/lab.json", bad)
        let r = lab.run("enable")
        #expect(r.status == 1)
        #expect(r.stderr.contains("format version -1 does not exist"))
        #expect(lab.read(".jhsim/lab.json") == bad)
    }

    @Test func replayHashMismatchIsDetected() throws {
        let lab = TestLab()
        lab.ok("lab init")
        lab.ok("enable")
        let text = try #require(lab.read(".jhsim/lab.json"))
        let record = try JSONDecoder().decode(LabRecord.self, from: Data(text.utf8))
        let tampered = text.replacingOccurrences(of: record.traceHash, with: "0123456789abcdef")
        lab.write(".jhsim/lab.json", tampered)
        let r = lab.run("cell list")
        #expect(r.status == 1)
        #expect(r.stderr.contains("made by a different jhsim version"))
    }

    @Test func resetDropsTheLog() {
        let lab = TestLab()
        lab.ok("lab init")
        lab.ok("enable")
        #expect(lab.ok("lab reset").stdout.contains("1 logged commands dropped"))
        #expect(lab.ok("cell list").stdout == "")
    }

    @Test func readOnlyCommandsDoNotRewriteTheLab() throws {
        let lab = TestLab()
        lab.ok("lab init")
        lab.ok("enable")
        let before = try FileManager.default.attributesOfItem(atPath: lab.labFile)[.modificationDate] as? Date
        lab.ok("cell list"); lab.ok("cpus"); lab.ok("trace")
        let after = try FileManager.default.attributesOfItem(atPath: lab.labFile)[.modificationDate] as? Date
        #expect(before == after)
    }
}

@Suite struct OutputFileTests {
    @Test func drawOutputGoesIntoAnExistingFIFOInsteadOfReplacingIt() {
        let lab = TestLab()
        let path = lab.dir + "/pipe"
        #expect(mkfifo(path, 0o600) == 0)
        let reader = open(path, O_RDONLY | O_NONBLOCK)
        defer { close(reader) }
        let r = lab.run("draw states -o pipe")
        #expect(r.status == 0)
        var st = stat()
        #expect(lstat(path, &st) == 0)
        #expect((st.st_mode & S_IFMT) == S_IFIFO)
        var buf = [UInt8](repeating: 0, count: 16)
        #expect(read(reader, &buf, 16) == 16)
        #expect(String(decoding: buf, as: UTF8.self).hasPrefix("digraph"))
    }

    @Test func aFailedOutputWriteSaysWhy() {
        let lab = TestLab()
        let r = lab.run("draw states -o no/such/dir/x.dot")
        #expect(r.status == 1)
        #expect(r.stderr.contains("cannot write \(lab.dir)/no/such/dir/x.dot: No such file or directory"))
    }
}
