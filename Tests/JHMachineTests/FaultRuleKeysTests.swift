import JHABI
import Testing
@testable import JHMachine

/// Parsing of the keys that mirror Linux's fault attributes, and their clear errors.
@Suite struct FaultRuleKeysTests {
    let catalog = [
        FaultSiteInfo(.toyCPUDown, layer: .linux, meaning: "x", perCPU: true),
        FaultSiteInfo(.toyKmalloc, layer: .linux, meaning: "y", sized: true),
    ]

    func message(_ text: String) -> String? {
        do { _ = try FaultRule(parsing: text, catalog: catalog); return nil } catch { return error.message }
    }

    @Test func linuxKeysRoundTrip() throws {
        for text in ["kmalloc:task=jailhouse:count=2:interval=3:space=4096:verbose=1:errno=ENOMEM",
                     "cpu_down:cpu=1:nth=2:verbose=2:errno=EBUSY", "fail_nth=7", "fail_nth=3:task=cat:errno=EIO"] {
            let r = try FaultRule(parsing: text, catalog: catalog)
            #expect(r.description == text)
            #expect(try FaultRule(parsing: r.description, catalog: catalog) == r)
        }
        // times= is count= (Linux's name); -1 is "no limit".
        #expect(try FaultRule(parsing: "kmalloc:times=2", catalog: catalog).count == 2)
        #expect(try FaultRule(parsing: "kmalloc:times=-1", catalog: catalog).count == nil)
    }

    @Test func badLinuxKeysAreClearErrors() {
        #expect(message("cpu_down:space=10")?.contains("has no size") == true)
        #expect(message("kmalloc:space=-1")?.contains("expected a number ≥ 0") == true)
        #expect(message("kmalloc:interval=0")?.contains("expected a number ≥ 1") == true)
        #expect(message("kmalloc:verbose=3")?.contains("expected 0, 1 or 2") == true)
        #expect(message("kmalloc:task=a#b")?.contains("expected a process name") == true)
        #expect(message("kmalloc:task=")?.contains("bad fault rule part") == true)
        #expect(message("kmalloc:times=2:count=3")?.contains("gives count= twice") == true)
        #expect(message("fail_nth=")?.contains("fail_nth=N") == true)
        #expect(message("fail_nth")?.contains("fail_nth=N") == true)
        #expect(message("fail_nth=0")?.contains("expected a number ≥ 1") == true)
        #expect(message("fail_nth=2:cpu=1")?.contains("take only task=, verbose= and errno=") == true)
        #expect(message("fail_nth=2:prob=0.5")?.contains("take only task=") == true)
    }

    @Test func aSiteNoRuleNamesIsNotArmed() {
        var f = FaultInjector(rules: [FaultRule(site: "cpu_down", errno: .busy)])
        let cpuDown = f.wants(.toyCPUDown), kmalloc = f.wants(.toyKmalloc)
        #expect(cpuDown && !kmalloc)
        f.add(.failNth(1))
        let any = f.wants(.toyKmalloc)
        #expect(any)
    }
}
