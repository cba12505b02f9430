import Foundation
import JHABI
import JHDriver
import JHFaults
import JHMachine
import Testing

@Suite struct RuleLanguageTests {
    @Test func probAfterAndCountParseAndPrintBack() throws {
        let r = try rule("hv_page_alloc:cpu=0:state=cell:after=2:count=3:prob=0.25:errno=ENOMEM")
        #expect(r.prob == 0.25 && r.after == 2 && r.count == 3 && r.cpu == 0 && r.detail == "cell")
        #expect(r.description == "hv_page_alloc:cpu=0:state=cell:after=2:count=3:prob=0.25:errno=ENOMEM")
        #expect(try rule(r.description) == r)
        // The old form is unchanged.
        #expect(try rule("cpu_down:cpu=3:nth=1:errno=EBUSY").description == "cpu_down:cpu=3:nth=1:errno=EBUSY")
    }

    @Test(arguments: ["kmalloc:prob=0", "kmalloc:prob=1.5", "kmalloc:prob=nan", "kmalloc:prob=x", "kmalloc:prob=-0.1",
                      "kmalloc:count=0", "kmalloc:after=-1", "kmalloc:nth=0", "kmalloc:frob=1", "kmalloc:prob"])
    func badRulesAreClearErrors(text: String) {
        #expect(throws: FaultRuleError.self) { try rule(text) }
    }

    @Test func unknownKeyErrorListsTheNewKeys() {
        do { _ = try FaultRule(parsing: "kmalloc:frob=1", catalog: SimulatedBox.faultCatalog); Issue.record("parsed") } catch {
            #expect(error.message.contains("prob") && error.message.contains("after") && error.message.contains("count"))
        }
    }

    @Test func afterAndCountShapeWhichHitsFail() throws {
        var inj = FaultInjector(rules: [try rule("kmalloc:after=2:count=2")])
        let verdicts = (0..<6).map { _ in inj.decide(FaultSite("kmalloc")) != nil }
        #expect(verdicts == [false, false, true, true, false, false])
        #expect(inj.fired == [2])
    }

    @Test func probDrawsComeFromTheInjectorsSeedOnly() throws {
        func pattern(seed: UInt64) throws -> [Bool] {
            var inj = FaultInjector(rules: [try rule("kmalloc:prob=0.5")], seed: seed)
            return (0..<64).map { _ in inj.decide(FaultSite("kmalloc")) != nil }
        }
        #expect(try pattern(seed: 7) == pattern(seed: 7))
        #expect(try pattern(seed: 7) != pattern(seed: 8))
        let hits = try pattern(seed: 7).filter { $0 }.count
        #expect(hits > 16 && hits < 48)
        var always = FaultInjector(rules: [try rule("kmalloc:prob=1")], seed: 1)
        #expect((0..<8).allSatisfy { _ in always.decide(FaultSite("kmalloc")) != nil })
    }

    @Test func aProbRuleThatNeverFiresLeavesTheRunUntouched() throws {
        let target = try FaultScenario.builtin(baseDirectory: NSTemporaryDirectory())
        let plain = try runner(target).run(FaultPlan())
        // copy_to_user is never reached by the built-in scenario: no draw, no change.
        let armed = try runner(target).run(FaultPlan(rules: [try rule("copy_to_user:prob=0.5")]), seed: 99)
        #expect(armed.traceHash == plain.traceHash)
        #expect(armed.failures.isEmpty)
    }

    @Test func planTextRoundTrips() throws {
        let plan = FaultPlan(rules: [
            try rule("kmalloc:nth=3:errno=ENOMEM"), try rule("cpu_down:cpu=2:state=CPUHP_TEARDOWN_CPU:nth=1:errno=EBUSY"),
            try rule("hv_page_alloc:count=1:prob=0.1:errno=ENOMEM"),
        ])
        #expect(try FaultPlan(parsing: plan.text, catalog: SimulatedBox.faultCatalog) == plan)
        #expect(try FaultPlan(parsing: plan.description, catalog: SimulatedBox.faultCatalog) == plan)
        let commented = "# a plan\n\(plan.rules[0])   # first\n\n\(plan.rules[1]) \(plan.rules[2])\n"
        #expect(try FaultPlan(parsing: commented, catalog: SimulatedBox.faultCatalog) == plan)
        #expect(plan.isRandom)
        do { _ = try FaultPlan(parsing: "kmalloc\nnope:nth=1\n", catalog: SimulatedBox.faultCatalog); Issue.record("parsed") } catch {
            #expect(error.message.hasPrefix("plan line 2:"))
        }
    }
}
