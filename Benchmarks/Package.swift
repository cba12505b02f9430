// swift-tools-version: 6.1
// Benchmarks for jhsim, kept in their own package so `swift test` at the root never
// builds the benchmark dependency tree. Run: `cd Benchmarks && swift package benchmark`;
// Docs/benchmarks.md has the matrix, the thresholds and the baseline workflow.
import PackageDescription

let package = Package(
    name: "jhsimBenchmarks",
    dependencies: [
        // `name:` is required: without it the identity is the checkout's directory name.
        .package(name: "jhsim", path: "../"),
        // MallocInterposer gives the malloc metrics (and is required to build on Linux here).
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "HotplugBench",
            dependencies: [
                .product(name: "JHMachine", package: "jhsim"),
                .product(name: "JHLinux", package: "jhsim"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/HotplugBench",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "CellChurn",
            dependencies: [
                .product(name: "JHMachine", package: "jhsim"),
                .product(name: "JHBench", package: "jhsim"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/CellChurn",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "ConfigAndSweep",
            dependencies: [
                .product(name: "JHConfig", package: "jhsim"),
                .product(name: "JHBench", package: "jhsim"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/ConfigAndSweep",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
