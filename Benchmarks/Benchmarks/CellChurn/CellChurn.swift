// Cell create/destroy churn through the whole stack: user space → ioctl → driver
// (remove_cpu/add_cpu, sysfs, PCI) → hypercalls → hypervisor (suspend, park, memory map)
// and back. One iteration is `jailhouse cell create` + `jailhouse cell destroy`.
//
// Machines: the 4-CPU qemu-x86 fixture with tiny-demo (1 CPU) and smp-demo (3 CPUs),
// and synthetic 64/256/1024-CPU machines with an 8-CPU cell, on both executors.
// Thresholds are relaxed: this 2-core VM varies by ±20–40 % between runs.
import Benchmark
import JHConfig
import JHDriver
import JHMachine

/// An enabled box and a churn step for one cell config.
func churn(cpus: Int, system: [UInt8], cell: [UInt8], executor: ExecutorKind) -> () -> Void {
    // The inputs are fixed and valid: a failure here is a simulator bug, so stop loudly.
    let box: SimulatedBox
    do {
        box = try SimulatedBox(cpus: cpus, seed: 1, executor: executor)
    } catch {
        fatalError("cannot build a \(cpus)-CPU box: \(error)")
    }
    box.machine.trace.capacity = 1 << 14
    let tool = JailhouseTool(box: box)
    guard (try? tool.enable(system)) == 0 else { fatalError("enable failed on \(cpus) CPUs") }
    return {
        guard (try? tool.cellCreate(cell)) == 0, (try? tool.cellDestroy(.id(1))) == 0 else {
            fatalError("create/destroy failed on \(cpus) CPUs")
        }
    }
}

let benchmarks: @Sendable () -> Void = {
    let thresholds: [BenchmarkMetric: BenchmarkThresholds] = [.wallClock: .relaxed, .throughput: .relaxed]
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal],
                                           maxDuration: .seconds(3), maxIterations: 100_000,
                                           thresholds: thresholds)

    for executor in [ExecutorKind.inline, .dispatch] {
        for name in ["tiny-demo", "smp-demo"] {
            Benchmark("create+destroy \(name), qemu-x86 (4 CPUs, \(executor))") { benchmark in
                let step = churn(cpus: 4, system: BuiltinConfigs.qemuX86, cell: BuiltinConfigs.cell(named: name)!,
                                 executor: executor)
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations { step() }
            }
        }
        for cpus in [64, 256, 1024] {
            Benchmark("create+destroy 8-CPU cell, synth \(cpus) CPUs (\(executor))") { benchmark in
                let system = Synth.system(cpus: cpus, perCell: 8).encode()
                let cell = Synth.cells(cpus: cpus, perCell: 8, limit: 1)[0].encode()
                let step = churn(cpus: cpus, system: system, cell: cell, executor: executor)
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations { step() }
            }
        }
    }
}
