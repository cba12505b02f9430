import JHABI
import JHConfig
@testable import JHDriver
import JHHypervisor
import JHLinux
import JHMachine
import Testing

/// Four processes call the driver "at once": their system calls are activities on the
/// agenda, with arrival jitter drawn from the seeded RNG.
func contend(seed: UInt64, executor: ExecutorKind, signalVictim: Bool = false) throws -> (results: [String], rig: Rig) {
    let r = try Rig(seed: seed, executor: executor)
    try r.enable()
    let names = ["tiny-demo", "apic-demo", "ivshmem-demo", "linux-x86-demo"]
    var results: [String] = []
    let t0 = r.machine.now + .ms(1)
    var tools: [JailhouseTool] = []
    for (i, name) in names.enumerated() {
        let tool = JailhouseTool(box: r.box, name: "proc\(i)", cpu: i % 2)
        tools.append(tool)
        let jitter = VirtualDuration.ns(r.machine.rng.next() % 1000)
        r.machine.schedule(at: t0 + jitter, "create \(name)") {
            let ret = (try? tool.cellCreate(Rig.cell(name))) ?? -999
            results.append("\(name)=\(ret)")
        }
    }
    if signalVictim {
        // The last arrival waits behind the others; a signal arrives while it waits.
        r.kernel.sendSignal(tools[3].pid, at: t0 + .us(5))
    }
    r.machine.runEvents()
    return (results, r)
}

@Suite struct ConcurrencyTests {
    @Test func fourProcessesSerialiseOnTheLock() throws {
        let (results, r) = try contend(seed: 42, executor: .inline)
        #expect(results.count == 4)
        // Exactly the CPU-disjoint subsets can succeed; linux-x86-demo collides with
        // tiny/apic, ivshmem-demo takes CPU 1.
        let created = r.driver.cells.dropFirst().map(\.name)
        #expect(!created.isEmpty)
        let contended = r.machine.trace.events.filter { $0.op.contains("mutex") && $0.detail.contains("wait") }
        #expect(!contended.isEmpty, "some process had to wait for jailhouse_lock")
        #expect(r.driver.lockIsFree)
    }

    @Test func sameSeedSameInterleavingOnBothExecutors() throws {
        for seed in UInt64(1)...8 {
            let a = try contend(seed: seed, executor: .inline)
            let b = try contend(seed: seed, executor: .dispatch)
            #expect(a.results == b.results)
            #expect(a.rig.machine.trace.hash == b.rig.machine.trace.hash)
        }
    }

    @Test func signalDuringTheWaitIsEINTRAndChangesNothing() throws {
        let (results, r) = try contend(seed: 3, executor: .inline, signalVictim: true)
        #expect(results.contains("linux-x86-demo=\(Errno.interrupted.ret)"))
        #expect(!r.driver.cells.contains { $0.name == "linux-x86-demo" })
        #expect(r.driver.lockIsFree)
    }
}
