import Foundation
import Testing
@testable import JHLab

/// Representative hostile inputs for every kind of argument: each must end in a clear
/// message and a non-zero status (never a trap, never a hang), on the real box.
@Suite struct BadInputTests {
    struct Case: CustomStringConvertible, Sendable {
        var setup: [String] = ["lab init", "enable"]
        var line: String
        var status: Int32 = 1
        var stderr: String
        var description: String { line }
    }

    static let cases: [Case] = [
        Case(setup: [], line: "lab init --cpus 4097", stderr: "jhsim: --cpus takes 1…4096, not '4097'"),
        Case(setup: [], line: "lab init --cpus 0x", stderr: "jhsim: --cpus takes 1…4096, not '0x'"),
        Case(setup: [], line: "lab init --cpus 99999999999999999999", stderr: "jhsim: --cpus takes 1…4096"),
        Case(setup: [], line: "lab init --seed -1", stderr: "jhsim: --seed takes a non-negative number"),
        Case(setup: [], line: "lab init --cost hypercall=-1", stderr: "jhsim: bad --cost 'hypercall=-1'"),
        Case(setup: [], line: "lab init --profile bogus", stderr: "jhsim: unknown profile 'bogus'"),
        Case(setup: [], line: "enable", stderr: "jhsim: no lab in"),
        Case(setup: ["lab init"], line: "enable no-such-file", stderr: "opening no-such-file: No such file or directory"),
        // read_file: open(2) succeeds on a directory, read(2) fails.
        Case(setup: ["lab init"], line: "enable dir", stderr: "reading dir: Is a directory"),
        Case(setup: ["lab init"], line: "enable ''", stderr: "opening : No such file or directory"),
        Case(line: "cell load 0 dir", stderr: "reading dir: Is a directory"),
        Case(setup: ["lab init"], line: "enable garbage.bin", stderr: "JAILHOUSE_ENABLE: Invalid argument"),
        Case(line: "cell create empty.cell", stderr: "JAILHOUSE_CELL_CREATE: Invalid argument"),
        Case(line: "cell create garbage.bin", stderr: "JAILHOUSE_CELL_CREATE: Invalid argument"),
        Case(line: "cell start 99999999999999999999", stderr: "JAILHOUSE_CELL_START: No such file or directory"),
        Case(line: "cell destroy 2147483648", stderr: "JAILHOUSE_CELL_DESTROY: No such file or directory"),
        Case(line: "cell load 0 -s x", stderr: "JAILHOUSE_CELL_LOAD: Invalid argument"),
        Case(line: "cell load tiny-demo -s", stderr: "jhsim: -s needs a string"),
        Case(line: "cell load 0 -s x -a 0x", stderr: "jhsim: -a takes an address in C syntax (0x…, 0…, decimal), not '0x'"),
        Case(line: "cell stats nosuch", stderr: "cell stats: no such cell 'nosuch'"),
        Case(line: "cpu offline 99999", stderr: "jhsim: cpu offline needs a CPU number 0…4095, not '99999'"),
        Case(line: "cpu online -1", stderr: "jhsim: cpu online needs a CPU number 0…4095, not '-1'"),
        Case(line: "cpu offline 7", stderr: "/sys/devices/system/cpu/cpu7/online: No such file or directory"),
        Case(line: "inmate 0 bogus", stderr: "jhsim: unknown inmate kind 'bogus'"),
        Case(line: "cell create tiny-demo --fault cpu_down:errno=99999", stderr: "jhsim: bad --fault rule: unknown errno '99999'"),
        Case(line: "cell create tiny-demo --fault cpu_down:cpu=5000", stderr: "jhsim: bad --fault rule: bad cpu '5000'"),
        Case(line: "cell create tiny-demo --fault ''", stderr: "jhsim: bad --fault rule: empty fault rule"),
        Case(line: "--caps zzz enable", stderr: "jhsim: bad --caps 'zzz'"),
        Case(line: "trace --last 0", stderr: "jhsim: --last takes a number ≥ 1"),
        Case(line: "draw zzz", stderr: "jhsim: usage: jhsim draw"),
        Case(line: "draw timeline -o dir", stderr: "jhsim: cannot write"),
        Case(line: "run no-such.jhsim", stderr: "jhsim: cannot read scenario no-such.jhsim"),
        Case(line: "run garbage.bin", stderr: "jhsim: cannot read scenario garbage.bin"),
        Case(line: "run bad.jhsim", stderr: "jhsim: bad.jhsim:1: bad cpus '0'"),
        Case(line: "run early.jhsim", stderr: "jhsim: early.jhsim:1: `expect ok` needs a command before it to check"),
        Case(setup: ["lab init", "@corrupt"], line: "cell list", stderr: "jhsim: the lab file"),
    ]

    @Test(arguments: cases)
    func badInputGivesAMessageAndAStatus(_ c: Case) throws {
        let lab = TestLab(factory: .standard)
        try FileManager.default.createDirectory(atPath: lab.dir + "/dir", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: lab.dir + "/empty.cell", contents: Data())
        var rng = SplitMix(seed: 7)
        let garbage = Data((0..<600).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        _ = FileManager.default.createFile(atPath: lab.dir + "/garbage.bin", contents: garbage)
        lab.write("bad.jhsim", "machine cpus=0\nenable\n")
        lab.write("early.jhsim", "expect ok\nenable\n")
        for s in c.setup {
            if s == "@corrupt" { lab.write(".jhsim/lab.json", "{\"format\":\"jhsim-lab\",\"version\":1}"); continue }
            #expect(lab.run(s).status == 0, "setup \(s)")
        }
        let before = lab.read(".jhsim/lab.json")
        let r = lab.run(c.line)
        #expect(r.status == c.status)
        #expect(r.stderr.hasPrefix(c.stderr), "stderr: \(r.stderr)")
        if c.line.hasPrefix("lab init") == false, before != nil {
            // A refused command leaves a readable lab behind.
            #expect(lab.read(".jhsim/lab.json") != nil)
        }
    }

    /// A tiny seeded generator, so the garbage is the same on every run.
    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
