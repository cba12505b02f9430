// Config decoding (the revision-14 binary format) and fault-sweep scenario runs.
//
// - decode: the built-in qemu-x86 system config, tiny-demo, and a synthesised
//   1024-CPU system config (its CPU bitmap is 128 bytes).
// - sweep: one iteration is one scenario run of the built-in scenario with one fault
//   armed, cycling through every (site, hit) the scenario reaches, as
//   `jhsim faults sweep` runs them; throughput is runs per second.
//
// Thresholds as in CellChurn (Docs/benchmarks.md): 50 % on time and throughput at p50,
// 10 % on malloc counts (decoding is deterministic), 25 % on peak memory.
import Benchmark
import Foundation
import JHBench
import JHConfig

let benchmarks: @Sendable () -> Void = {
    let time = BenchmarkThresholds(relative: [.p50: 50.0])
    let config = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        maxDuration: .seconds(2), maxIterations: 1_000_000,
        thresholds: [.wallClock: time, .throughput: time,
                     .mallocCountTotal: BenchmarkThresholds(relative: [.p50: 10.0]),
                     .peakMemoryResident: BenchmarkThresholds(relative: [.p50: 25.0])])

    let inputs: [(String, [UInt8], Bool)] = [
        ("qemu-x86 system", BuiltinConfigs.qemuX86, true),
        ("tiny-demo cell", BuiltinConfigs.tinyDemo, false),
        ("synth-1024 system", Synth.system(cpus: 1024, perCell: 8).encode(), true),
    ]
    for (name, bytes, isSystem) in inputs {
        Benchmark("config decode \(name) (\(bytes.count) bytes)", configuration: config) { benchmark in
            for _ in benchmark.scaledIterations {
                if isSystem {
                    blackHole(try? SystemConfig.decode(bytes))
                } else {
                    blackHole(try? CellConfig.decode(bytes))
                }
            }
        }
    }

    Benchmark("fault sweep run (built-in scenario, one fault)", configuration: config) { benchmark in
        let rig: SweepRig
        do {
            rig = try SweepRig(currentDirectory: FileManager.default.temporaryDirectory.path)
        } catch {
            fatalError("cannot prepare the sweep: \(error)")
        }
        var i = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            do { blackHole(try rig.run(i)) } catch { fatalError("sweep run \(i) failed: \(error)") }
            i += 1
        }
    }
}
