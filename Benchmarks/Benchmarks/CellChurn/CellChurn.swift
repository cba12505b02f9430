// Cell create/destroy churn through the whole stack: user space → ioctl → driver
// (remove_cpu/add_cpu, sysfs, PCI) → hypercalls → hypervisor (suspend, park, memory map)
// and back. One iteration is `jailhouse cell create` + `jailhouse cell destroy` of a
// K-CPU cell, each by a fresh process (`ChurnRig.cycle`, the same machines as
// `jhsim bench churn`).
//
// Matrix: K = 1, 2, 4 and half the machine on 4, 64, 256, 1024 and 4096 vCPUs, on both
// executors. Skipped, because they cannot run: K ≥ N (a cell never gets CPU 0, so at most
// N−1 CPUs), i.e. K = 4 on 4 vCPUs; and duplicates (half of 4 is 2). The 4-vCPU machine
// is the built-in qemu-x86 with tiny-demo (K = 1); every other one is synthesised like
// `jhsim config synth`.
//
// Also here: the bare DispatchQueue handoff (async + semaphore back), the physical limit
// the dispatch executor is built from, measured in the same run.
//
// Thresholds (Docs/benchmarks.md): this 2-core VM varies by ±20–40 % between runs, so
// time and throughput may move 50 % at p50 before `baseline check` fails; malloc counts
// are nearly deterministic and may move 10 % (inline) or 25 % (dispatch, whose thread
// pool allocates on its own schedule); peak memory 25 %.
import Benchmark
import Dispatch
import JHBench
import JHMachine

let sizes = [4, 64, 256, 1024, 4096]

/// The machine of one benchmark, set up and torn down by package-benchmark's hooks, which
/// run on the benchmark's own thread before and after its samples.
final class RigHolder: @unchecked Sendable {
    var rig: ChurnRig?
}

/// The cell sizes of the matrix that can run on `cpus`, in order, without duplicates.
func cellSizes(_ cpus: Int) -> [Int] {
    var out: [Int] = []
    for k in [1, 2, 4, cpus / 2] where k < cpus && !out.contains(k) { out.append(k) }
    return out
}

func thresholds(_ executor: ExecutorKind) -> [BenchmarkMetric: BenchmarkThresholds] {
    let time = BenchmarkThresholds(relative: [.p50: 50.0])
    return [
        .wallClock: time,
        .throughput: time,
        .mallocCountTotal: BenchmarkThresholds(relative: [.p50: executor == .inline ? 10.0 : 25.0]),
        .peakMemoryResident: BenchmarkThresholds(relative: [.p50: 25.0]),
    ]
}

let benchmarks: @Sendable () -> Void = {
    for executor in [ExecutorKind.inline, .dispatch] {
        for cpus in sizes {
            for k in cellSizes(cpus) {
                // One machine per benchmark, built before its first sample and dropped after
                // its last (a 4096-vCPU box is not rebuilt per sample, nor kept afterwards).
                let holder = RigHolder()
                let config = Benchmark.Configuration(
                    metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
                    warmupIterations: 1,
                    // Big cells take long per cycle: fewer iterations, same time budget.
                    maxDuration: .seconds(2), maxIterations: k * cpus >= 64 * 1024 ? 20 : 10_000,
                    thresholds: thresholds(executor),
                    setup: { holder.rig = try ChurnRig(cpus: cpus, cellCPUs: k, executor: executor) },
                    teardown: { holder.rig = nil })
                Benchmark("churn k=\(k) on \(cpus) vCPUs (\(executor))", configuration: config) { benchmark in
                    guard let rig = holder.rig else { fatalError("no machine for k=\(k) on \(cpus) vCPUs") }
                    benchmark.startMeasurement()
                    for _ in benchmark.scaledIterations {
                        do { try rig.cycle() } catch { fatalError("\(error)") }
                    }
                }
            }
        }
    }

    Benchmark("bare DispatchQueue handoff (async + semaphore)",
              configuration: .init(metrics: [.wallClock, .throughput], maxDuration: .seconds(2), maxIterations: 1_000_000,
                                   thresholds: [.wallClock: BenchmarkThresholds(relative: [.p50: 50.0]),
                                                .throughput: BenchmarkThresholds(relative: [.p50: 50.0])])) { benchmark in
        let queue = DispatchQueue(label: "bench.vcpu")
        let done = DispatchSemaphore(value: 0)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            queue.async { done.signal() }
            done.wait()
        }
    }
}
