// swift-tools-version: 6.1
// jhsim — a deterministic simulator of the Jailhouse partitioning hypervisor.
// One target per layer; data flows down this list, calls go up it:
//   JHABI → JHConfig → JHMachine → JHLinux ⇄ JHHypervisor → JHDriver → JHLab → JHFaults
//   → JHBench → jhsim
import PackageDescription

let package = Package(
    name: "jhsim",
    products: [
        .executable(name: "jhsim", targets: ["jhsim"]),
        .library(name: "JHABI", targets: ["JHABI"]),
        .library(name: "JHConfig", targets: ["JHConfig"]),
        .library(name: "JHMachine", targets: ["JHMachine"]),
        .library(name: "JHLinux", targets: ["JHLinux"]),
        .library(name: "JHHypervisor", targets: ["JHHypervisor"]),
        .library(name: "JHDriver", targets: ["JHDriver"]),
        .library(name: "JHLab", targets: ["JHLab"]),
        .library(name: "JHFaults", targets: ["JHFaults"]),
        .library(name: "JHBench", targets: ["JHBench"]),
        // LD_PRELOAD library: the real `jailhouse` tool (and chcpu, a shell) on a lab.
        .library(name: "jhsim-preload", type: .dynamic, targets: ["JHSimPreload"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // libcap, for simulated process credentials (Debian: libcap-dev).
        .systemLibrary(name: "CLibcap", pkgConfig: "libcap",
                       providers: [.apt(["libcap-dev"])]),

        // Linux/Jailhouse ABI values: Errno, CPUSet, ioctl and hypercall codes, states, flags.
        .target(name: "JHABI"),
        // The revision-14 configuration format: decode, validate, encode, readable source.
        .target(name: "JHConfig", dependencies: [
            "JHABI", .product(name: "Yams", package: "Yams"),
        ]),
        // The hardware and the engine: vCPUs and their executors, virtual clock, events,
        // seeded RNG, physical memory, trace, and the fault-point seam.
        .target(name: "JHMachine", dependencies: ["JHABI"]),
        // The root Linux kernel model: cpumask, CPU hotplug, kmalloc, user memory,
        // mutexes with signals, printk, sysfs, PCI bus.
        .target(name: "JHLinux", dependencies: ["JHABI", "JHMachine"]),
        // The hypervisor: per-CPU data, cells, hypercalls, parking, comm region, inmates.
        .target(name: "JHHypervisor", dependencies: ["JHABI", "JHConfig", "JHMachine"]),
        // The Jailhouse Linux driver re-expressed: /dev/jailhouse ioctls, cells, PCI, sysfs.
        .target(name: "JHDriver", dependencies: [
            "JHABI", "JHConfig", "JHMachine", "JHLinux", "JHHypervisor", "CLibcap",
        ]),
        // Assembles a whole simulated box; persistence, scenarios and views for the CLI.
        .target(name: "JHLab", dependencies: [
            "JHABI", "JHConfig", "JHMachine", "JHLinux", "JHHypervisor", "JHDriver",
        ]),
        // Fault-injection research: plans, sweeps, seeded campaigns, shrinking, reports.
        .target(name: "JHFaults", dependencies: [
            "JHABI", "JHConfig", "JHMachine", "JHLinux", "JHHypervisor", "JHDriver", "JHLab",
        ]),
        // Measuring the simulator: `jhsim bench churn|sweep` (wall clock, modelled time,
        // allocations, handoffs). Wall-clock time never reaches a Machine.
        .target(name: "JHBench", dependencies: [
            "JHABI", "JHConfig", "JHMachine", "JHLinux", "JHDriver", "JHLab", "JHFaults",
        ]),
        // Counts the jhsim process's heap allocations by interposing malloc (glibc only,
        // compiled out under sanitizers). Linked into the executable, never into tests.
        .target(name: "CMallocCounter"),
        // libjhsim-preload.so: plain C, so a program that preloads it and never touches a
        // Jailhouse path starts no runtime and no thread (Docs/real-tool.md).
        .target(name: "JHSimPreload", cSettings: [.define("_GNU_SOURCE")]),
        .executableTarget(name: "jhsim", dependencies: [
            "JHABI", "JHConfig", "JHMachine", "JHLinux", "JHHypervisor", "JHDriver", "JHLab", "JHFaults",
            "JHBench", "CMallocCounter",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "JHABITests", dependencies: ["JHABI"]),
        .testTarget(name: "JHConfigTests", dependencies: ["JHConfig", "JHABI"],
                    resources: []),
        .testTarget(name: "JHMachineTests", dependencies: ["JHMachine", "JHABI"]),
        .testTarget(name: "JHLinuxTests", dependencies: ["JHLinux", "JHMachine", "JHABI"]),
        .testTarget(name: "JHHypervisorTests", dependencies: [
            "JHHypervisor", "JHConfig", "JHMachine", "JHABI",
        ]),
        .testTarget(name: "JHDriverTests", dependencies: [
            "JHDriver", "JHHypervisor", "JHLinux", "JHConfig", "JHMachine", "JHABI",
        ]),
        .testTarget(name: "JHLabTests", dependencies: ["JHLab", "JHDriver", "JHConfig", "JHABI"]),
        .testTarget(name: "JHFaultsTests", dependencies: ["JHFaults", "JHLab", "JHDriver", "JHMachine", "JHABI"]),
        .testTarget(name: "JHBenchTests", dependencies: ["JHBench", "JHMachine", "JHLab", "JHABI"]),
        .testTarget(name: "jhsimTests", dependencies: ["JHABI"]),
    ]
)
