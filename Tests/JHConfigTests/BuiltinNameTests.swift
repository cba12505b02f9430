import Testing
@testable import JHConfig

/// Built-in configs by name wherever a config file is accepted, and "did you mean".
@Suite struct BuiltinNameTests {
    @Test func configListShowsEveryBuiltinWithKindCPUsAndSize() {
        let out = ConfigCLI.list()
        #expect(out.exitCode == 0)
        let lines = out.stdout.split(separator: "\n").map(String.init)
        #expect(lines[0] == "NAME            KIND    CELL NAME       CPUS  SIZE")
        #expect(lines[1] == "qemu-x86        system  QEMU-VM         0-3   \(BuiltinConfigs.qemuX86.count) bytes")
        #expect(lines[2] == "tiny-demo       cell    tiny-demo       2     \(BuiltinConfigs.tinyDemo.count) bytes")
        #expect(lines.contains("cpu0-demo       cell    cpu0-demo       0     \(BuiltinConfigs.cpu0Demo.count) bytes"))
        #expect(BuiltinConfigs.summaries.count == BuiltinConfigs.allNames.count)
    }

    @Test func showAndCheckAcceptBuiltinNames() {
        let show = ConfigCLI.show(path: "tiny-demo", format: .text)
        #expect(show.exitCode == 0 && show.stdout.hasPrefix("cell config \"tiny-demo\": revision 14"))
        #expect(ConfigCLI.show(path: "qemu-x86.cell", format: .text).stdout.hasPrefix("system config \"QEMU-VM\""))
        let check = ConfigCLI.lint(paths: ["qemu-x86", "tiny-demo", "apic-demo"], json: false)
        #expect(check.exitCode == 0 && check.stdout.hasSuffix("3 files, 0 errors, 0 warnings\n"))
    }

    @Test func aNearMissSuggestsTheBuiltin() {
        let r = ConfigCLI.show(path: "tiny-dmeo", format: .text)
        #expect(r.exitCode == 1)
        #expect(r.stderr == "tiny-dmeo does not exist; did you mean the built-in 'tiny-demo'?\n")
        #expect(ConfigCLI.show(path: "tiny", format: .text).stderr.hasSuffix("did you mean the built-in 'tiny-demo'?\n"))
        #expect(ConfigCLI.show(path: "/no/tiny-demo", format: .text).stderr == "/no/tiny-demo does not exist\n")
        #expect(ConfigCLI.show(path: "zzzz", format: .text).stderr == "zzzz does not exist\n")
    }

    @Test func nearMissIsEditDistanceWithTranspositions() {
        #expect(NearMiss.suggestion(for: "enabel", among: ["enable", "disable"]) == "enable")
        #expect(NearMiss.suggestion(for: "cpu", among: ["cpus", "cell"]) == "cpus")
        #expect(NearMiss.suggestion(for: "quux", among: ["enable", "disable"]) == nil)
        #expect(NearMiss.suggestion(for: "enable", among: ["enable"]) == nil)
        #expect(NearMiss.distance(Array("ab"), Array("ba")) == 1)
        #expect(NearMiss.distance(Array("kitten"), Array("sitting")) == 3)
    }
}
