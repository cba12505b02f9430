// Round trips per second of one cpu_down + cpu_up (remove_cpu + add_cpu of CPU 2 on a
// 4-vCPU machine) on the dispatch and inline executors, and, in the same run, the bare
// cost of the thread handoff the dispatch executor is built from (queue.async +
// semaphore back), so the hotplug numbers can be read against the physical limit.
//
// Not a timed test: thresholds are explicit and relaxed because this 2-core VM varies
// by ±20–40 % between runs (Docs in /work/shared/docs/swift-on-this-machine.md §5).
import Benchmark
import Dispatch
import JHLinux
import JHMachine

/// Boots a kernel and returns one round trip as a closure.
func hotplugRoundTrip(_ executor: ExecutorKind) -> () -> Void {
    // swiftlint:disable:next force_try
    let machine = try! Machine(cpuCount: 4, seed: 1, executor: executor, traceCapacity: 1 << 16)
    let kernel = Kernel(machine: machine)
    var n = 0
    return {
        do {
            try kernel.removeCPU(2)
            try kernel.addCPU(2)
        } catch {
            fatalError("hotplug round trip failed: \(error)")
        }
        n += 1
        // Keep the trace from growing without bound (its hash still covers everything).
        if n % 256 == 0 { machine.trace.removeAll() }
    }
}

let benchmarks: @Sendable () -> Void = {
    let thresholds: [BenchmarkMetric: BenchmarkThresholds] = [.wallClock: .relaxed, .throughput: .relaxed]
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput],
                                           maxDuration: .seconds(3), maxIterations: 1_000_000,
                                           thresholds: thresholds)

    Benchmark("cpu_down+cpu_up round trip (dispatch executor)") { benchmark in
        let roundTrip = hotplugRoundTrip(.dispatch)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { roundTrip() }
    }

    Benchmark("cpu_down+cpu_up round trip (inline executor)") { benchmark in
        let roundTrip = hotplugRoundTrip(.inline)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { roundTrip() }
    }

    Benchmark("bare DispatchQueue handoff (async + semaphore)") { benchmark in
        let queue = DispatchQueue(label: "bench.vcpu")
        let done = DispatchSemaphore(value: 0)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            queue.async { done.signal() }
            done.wait()
        }
    }
}
