import Foundation
import JHConfig
import JHDriver
import JHFaults
import JHLab
import JHMachine
import Testing

@Suite struct ConfigMutationTests {
    @Test func aPatchHoldsTheMutatedBytesAndSpellsBackToItself() throws {
        var rng = SplitMix64(seed: 7)
        let original = BuiltinConfigs.pciDemo
        for i in 0..<300 {
            let mutated = ConfigMutation.mutate(original, kind: i % 2 == 0 ? .cell : .system, rng: &rng)
            let patch = ConfigPatch(command: 1 + i % 5, from: original, to: mutated)
            #expect(patch.apply(original) == mutated)
            #expect(try ConfigPatch(parsing: patch.description) == patch)
        }
        let system = BuiltinConfigs.qemuX86
        for _ in 0..<100 {
            let mutated = ConfigMutation.mutate(system, kind: .system, rng: &rng)
            #expect(ConfigPatch(command: 1, from: system, to: mutated).apply(system) == mutated)
        }
    }

    @Test func aPatchThatDoesNotParseSaysWhy() {
        for (word, why) in [("config@0", "command number"), ("config@2:len=x", "len takes"), ("config@2:0x10=f", "even number"),
                            ("config@2:0x10=zz", "hex byte"), ("config@2:16=00", "hexadecimal"), ("config@2:0x10=00:len=4", "len= must come first"),
                            ("config@2:0x10", "KEY=VALUE")] {
            #expect(throws: FaultRuleError.self, "\(word)") { try ConfigPatch(parsing: word) }
            do { _ = try ConfigPatch(parsing: word) } catch { #expect(error.message.contains(why), "\(word): \(error.message)") }
        }
    }

    @Test func mutationIsAFunctionOfTheSeedAndTouchesEveryKindOfChange() {
        let inputs = [ConfigInput(command: 1, kind: .system, bytes: BuiltinConfigs.qemuX86),
                      ConfigInput(command: 2, kind: .cell, bytes: BuiltinConfigs.pciDemo)]
        #expect(ConfigMutation.draw(seed: 9, inputs: inputs) == ConfigMutation.draw(seed: 9, inputs: inputs))
        var distinct = Set<[ConfigPatch]>()
        var lengths = 0, decodable = 0
        for seed in UInt64(0)..<400 {
            let patches = ConfigMutation.draw(seed: seed, inputs: inputs)
            #expect(!patches.isEmpty)
            distinct.insert(patches)
            for p in patches {
                let input = inputs[p.command - 1]
                if p.length != nil { lengths += 1 }
                let bytes = p.apply(input.bytes)
                if input.kind == .cell, (try? CellConfig.decode(bytes)) != nil { decodable += 1 }
            }
        }
        #expect(distinct.count > 390)
        // Both broken images (lengths, counts) and field-aware ones that still decode.
        #expect(lengths > 10)
        #expect(decodable > 50)
    }

    @Test func aPatchedRunPassesTheMutatedBytesAndItsReproducerReplaysThem() throws {
        let target = try FaultScenario.builtin(baseDirectory: NSTemporaryDirectory())
        let r = try runner(target, profile: "fixed").prepared().0
        // Command 2 is `cell create tiny-demo`: a broken signature must give EINVAL, not a trap.
        let patch = try ConfigPatch(parsing: "config@2:0x0=00")
        let plan = FaultPlan(patches: [patch])
        let run = try r.run(plan)
        #expect(run.transcript[1] == "$ jhsim cell create tiny-demo → EINVAL")
        #expect(run.failures.isEmpty, "\(run.failures)")
        let repro = r.reproducer(plan, seed: 0)
        #expect(repro.contains("--patch config@2:0x0=00"))
        let replay = try FaultsCLI().run(commandLine: repro)
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdout.contains("cell create tiny-demo → EINVAL"))
        // A patch of a command that passes no config is refused.
        let bad = FaultsCLI().run(["faults", "run", "--patch", "config@3:0x0=00"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("passes no config"), "\(bad.stderr)")
    }

    @Test func mutatedCampaignsOnTheFixedProfileFindNothingAndAreDeterministic() throws {
        let target = try FaultScenario.builtin(baseDirectory: NSTemporaryDirectory())
        var records: [Campaign.RunRecord] = []
        let campaign = Campaign(runner: runner(target, profile: "fixed"), seed: 11, runs: 300, rulesPerRun: 1, shrink: false,
                                mutateConfigs: true)
        let report = try campaign.run(each: { records.append($0) })
        #expect(report.vacuity == nil)
        #expect(report.runsDone == 300)
        #expect(records.allSatisfy { !$0.plan.patches.isEmpty })
        // No mutated config traps or hangs the fixed profile. (Invariant findings are
        // reported for investigation; each must replay from its reproducer alone.)
        let failing = report.records.compactMap(\.failing)
        #expect(failing.allSatisfy { $0.failures.allSatisfy { $0.kind != .trap && $0.kind != .hang } })
        let cli = FaultsCLI()
        for f in failing.prefix(2) {
            let replay = try cli.run(commandLine: f.reproducer)
            #expect(replay.status != 0, "\(f.reproducer) did not fail again")
            #expect(f.failures.allSatisfy { replay.stdout.contains($0.message) }, "\(f.reproducer)")
        }
        // Same seed, same plans and patches.
        let again = try Campaign(runner: runner(target, profile: "fixed"), seed: 11, runs: 20, rulesPerRun: 1, shrink: false,
                                 mutateConfigs: true).prepared()
        #expect((0..<20).map { again.plan($0 + 1).plan } == records.prefix(20).map(\.plan))
    }

    @Test func theCampaignOptionIsParsedAndKeptInTheStreamHeader() {
        let cli = FaultsCLI()
        let r = cli.run(["faults", "campaign", "--seed", "3", "--runs", "5", "--profile", "fixed", "--mutate-configs", "--jsonl"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("--mutate-configs"))
        #expect(r.stdout.contains("config@"))
    }

    @Test func theDriverFuzzTargetHoldsOverItsSeedsAndPseudoRandomInputs() {
        var inputs = DriverFuzz.seeds()
        #expect(inputs.count >= 4 * DriverFuzz.cells.count)
        var rng = SplitMix64(seed: 0x5eed)
        for i in 0..<300 {
            // Mostly near-valid inputs (mode 3 edits, or a seed with bytes flipped), some raw noise.
            if i % 3 == 2 {
                inputs.append((0..<Int(rng.next() % 600)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            } else if i % 3 == 1 {
                var s = inputs[Int(rng.next() % UInt64(DriverFuzz.seeds().count))]
                for _ in 0...Int(rng.next() % 6) { s[Int(rng.next() % UInt64(s.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1) }
                inputs.append(s)
            } else {
                inputs.append([UInt8(3 | (rng.next() & 0x0c)), UInt8(truncatingIfNeeded: rng.next())]
                              + (0..<3 * Int(1 + rng.next() % 6)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            }
        }
        var broken: [String] = []
        for input in inputs { if let b = DriverFuzz.check(input) { broken.append(b) } }
        #expect(broken.isEmpty, "\(broken.count) inputs broke a check; first: \(broken.first ?? "")")
        // The same inputs through a session that keeps one enabled box, as the fuzzer does.
        let session = DriverFuzz.Session(recycleAfter: 64)
        for input in inputs { if let b = DriverFuzz.check(input, session: session) { broken.append(b) } }
        #expect(broken.isEmpty, "\(broken.count) inputs broke a check on a shared box; first: \(broken.first ?? "")")
    }
}
