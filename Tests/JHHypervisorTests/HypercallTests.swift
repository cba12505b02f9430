import Testing
import Dispatch
import JHABI
import JHMachine
@testable import JHHypervisor

@Suite struct HypercallTests {
    @Test func unknownCodesAreENOSYS() throws {
        let rig = try Rig()
        #expect(try rig.call(HypercallCode(rawValue: 9)) == -38)
        #expect(try rig.call(HypercallCode(rawValue: 0xffff)) == -38)
    }

    @Test func getInfoReportsPoolsAndCells() throws {
        let rig = try Rig()
        let (size, used) = rig.hv.poolPages
        #expect(try rig.call(.hypervisorGetInfo, 0) == Int64(size))
        #expect(try rig.call(.hypervisorGetInfo, 1) == Int64(used))
        #expect(try rig.call(.hypervisorGetInfo, 2) == Int64(Hypervisor.remapPoolPages))
        // Remap pool: one DMAR unit (4 pages), one IOAPIC page, MMCONFIG for buses 0–255.
        #expect(Hypervisor.remapPoolPages == 32768 * 4)
        #expect(try rig.call(.hypervisorGetInfo, 3) == 4 + 1 + 256 * 256)
        #expect(try rig.call(.hypervisorGetInfo, 4) == 1)
        #expect(try rig.call(.hypervisorGetInfo, 5) == -22)
        // The pool is the window after the core image (paging_init); per-CPU areas, the
        // config copy and the pool bitmap are its first used pages.
        let expected = (0x60_0000 - Hypervisor.firmware.coreSize) / 4096
        #expect(size == Int(expected))
        #expect(try rig.create(.apic()) == 0)
        #expect(try rig.call(.cellStart, 2) == 0)
        #expect(try rig.call(.hypervisorGetInfo, 4, from: 3) == 2, "any cell may ask")
    }

    @Test func everyHypercallCountsAnExitOnItsCPU() throws {
        let rig = try Rig()
        let t0 = rig.m.now
        for _ in 0..<5 { _ = try rig.call(.hypervisorGetInfo, 0, from: 1) }
        let s = rig.hv.statistics(cpu: 1)
        #expect(s[.hypercall] == 5 && s[.total] == 5)
        #expect(rig.hv.statistics(cpu: 0)[.total] == 0)
        #expect(rig.m.now - t0 == (rig.m.cost.hypercallEntry + rig.m.cost.hypercallExit) * 5)
        #expect(try rig.call(.cpuGetInfo, 1, 1000 + 3) == 5, "the query counts on the caller, cpu0")
        #expect(try rig.call(.cpuGetInfo, 1, 1000) == 5)
        #expect(try rig.call(.cpuGetInfo, 0, 1000 + 3) == 3)
    }

    @Test func cpuGetInfoChecksValidityBeforePermission() throws {
        let rig = try Rig()
        #expect(try rig.call(.cpuGetInfo, 0, 0) == 0)
        #expect(try rig.call(.cpuGetInfo, 4, 0) == -22, "not a system CPU")
        #expect(try rig.call(.cpuGetInfo, 0, 12 + 1000) == -22, "x86 has 12 statistics")
        #expect(try rig.call(.cpuGetInfo, 0, 1) == -22)
        #expect(try rig.create(.apic()) == 0)
        #expect(try rig.call(.cellStart, 2) == 0)
        #expect(try rig.call(.cpuGetInfo, 3, 0, from: 3) == 0, "its own CPU")
        #expect(try rig.call(.cpuGetInfo, 0, 0, from: 3) == -1, "root's CPU")
        #expect(try rig.call(.cpuGetInfo, 9, 0, from: 3) == -22, "validity first")
    }

    @Test func statisticsAreMaskedTo31Bits() throws {
        let rig = try Rig()
        rig.hv.perCPU[1].stats[CPUStatistic.pio.rawValue] = 0xffff_ffff
        #expect(try rig.call(.cpuGetInfo, 1, 1000 + 4) == 0x7fff_ffff)
    }

    @Test func parkedCPUsRunNothing() throws {
        let rig = try Rig()
        #expect(try rig.create(.tiny()) == 0)
        #expect(rig.hv.cpuState(2) == .parked)
        let stats = rig.hv.statistics(cpu: 2)
        #expect(try rig.call(.hypervisorGetInfo, 0, from: 2) == -5, "a parked CPU executes no vmcall")
        rig.hv.runInmates(for: .ms(3))
        #expect(rig.hv.statistics(cpu: 2) == stats)
        #expect(!rig.hv.startupIPI(to: 2), "root cannot start another cell's CPU")
    }

    @Test func suspensionReachesEveryRootCPUThread() throws {
        let rig = try Rig(executor: .dispatch)
        #expect(try rig.create(.tiny()) == 0)
        for cpu in [1, 3] {
            #expect(rig.hv.perCPU[cpu].ackCount == 1)
            #expect(rig.hv.perCPU[cpu].ackThread == cpu, "cpu\(cpu) acknowledged on its own queue")
            #expect(rig.hv.statistics(cpu: cpu)[.management] == 1)
            #expect(rig.hv.cpuState(cpu) == .runningRoot, "resumed")
        }
        #expect(rig.hv.perCPU[0].ackCount == 0, "never the caller")
        #expect(rig.ops("suspended").map(\.cpu) == [1, 2, 3])
    }

    @Test func theStatusProviderDescribesEachCPU() throws {
        let rig = try Rig()
        #expect(try rig.create(.tiny()) == 0)
        #expect(rig.m.statusLine(2).contains("parked (wait-for-SIPI), cell 1 \"tiny-demo\""))
        #expect(rig.m.statusLine(0).contains("running root cell code"))
    }

    @Test func faultSiteCatalogIsComplete() throws {
        let names = HypervisorFaultSites.all.map(\.name)
        #expect(Set(names).count == names.count)
        for n in names {
            let rule = try FaultRule(parsing: "\(n):nth=1", catalog: HypervisorFaultSites.all)
            #expect(rule.site == n)
        }
    }

    @Test func aMalformedConfigNeverTraps() throws {
        let rig = try Rig()
        var g = SplitMix64(seed: 7)
        for i in 0..<200 {
            var b = TCell.linux().bytes()
            for _ in 0..<8 { b[Int(g.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: g.next()) }
            rig.m.memory.write(0x2100_0000, b)
            let before = rig.snapshot, leakedBefore = rig.hv.leakedPages
            let r = try rig.hv.hypercall(cpu: 0, .cellCreate, 0x2100_0000)
            if r == 0 {
                let id = rig.hv.cells.last!.id
                #expect(try rig.call(.cellDestroy, UInt64(id)) == 0, "round \(i)")
                for c in 0..<4 where rig.hv.cpuState(c) == .parked { _ = rig.hv.startupIPI(to: c) }
            }
            // Only quirk 14 (an irqchip with pin_base ≠ 0) may keep pages.
            #expect(rig.snapshot.owners == before.owners
                    && rig.snapshot.poolUsed - rig.hv.leakedPages == before.poolUsed - leakedBefore, "round \(i)")
            #expect(rig.hv.invariantViolations() == [], "round \(i)")
        }
    }
}

@Suite struct DisableTests {
    @Test func disableOnEveryRootCPUReleasesThem() throws {
        let rig = try Rig()
        #expect(try rig.hv.disable(from: [0, 1, 2, 3]) == [0, 0, 0, 0])
        #expect(!rig.hv.isActive)
        #expect((0..<4).allSatisfy { rig.hv.owner(of: $0) == nil && rig.hv.cpuState($0) == .inactive })
        #expect(rig.hv.console.contains(" Releasing CPU 3\n"))
        // "Closing root cell" left hypervisor_disable with e6907545 (2016).
        #expect(rig.hv.console.hasSuffix("Shutting down hypervisor\n Releasing CPU 0\n Releasing CPU 1\n Releasing CPU 2\n Releasing CPU 3\n"))
        #expect(try rig.call(.hypervisorGetInfo, 0) == -38, "vmcall without hypervisor")
    }

    @Test func disableWithCellsIsEBUSYOnEveryCPU() throws {
        let rig = try Rig()
        #expect(try rig.create(.tiny()) == 0)
        #expect(try rig.hv.disable(from: [0, 1, 3]) == [-16, -16, -16])
        #expect(rig.hv.isActive)
        #expect(try rig.call(.cellDestroy, 1) == 0)
        #expect(rig.hv.startupIPI(to: 2))
        #expect(try rig.hv.disable(from: [0, 1, 2, 3]) == [0, 0, 0, 0])
    }

    @Test func disableFromANonRootCPUIsEPERM() throws {
        let rig = try Rig()
        #expect(try rig.create(.apic()) == 0)
        #expect(try rig.call(.cellStart, 2) == 0)
        #expect(try rig.call(.disable, from: 3) == -1)
    }

    @Test func tooFewCPUsAtTheBarrierIsAReportedHang() throws {
        let rig = try Rig(executor: .dispatch)
        do {
            _ = try rig.hv.disable(from: [0, 1, 2])
            Issue.record("expected a hang")
        } catch {
            #expect(error.waiter.contains("DISABLE barrier"))
            #expect(error.reason.contains("3 of 4"))
        }
        let rig2 = try Rig()
        #expect(throws: SimulationHang.self) { try rig2.call(.disable) }
    }
}

@Suite struct DeterminismTests {
    /// Creates, starts, loads and destroys cells in a seed-chosen order.
    static func scenario(seed: UInt64, executor: ExecutorKind) throws -> (String, VirtualTime) {
        let rig = try Rig(executor: executor, seed: seed)
        let cells: [TCell] = [.tiny(), .apic(timeout: 500), .linux()]
        for step in 0..<12 {
            let pick = Int(rig.m.rng.next() % 3)
            let cell = cells[pick]
            let kinds = InmateKind.allCases.filter { $0 != .commRevMismatch }
            rig.hv.setInmate(kinds[Int(rig.m.rng.next() % UInt64(kinds.count))], forCell: cell.id)
            switch rig.m.rng.next() % 4 {
            case 0: _ = try rig.create(cell, at: 0x2000_0000 + UInt64(step) * 0x1000)
            case 1: _ = try rig.call(.cellStart, UInt64(cell.id))
            case 2: _ = try rig.call(.cellSetLoadable, UInt64(cell.id))
            default:
                _ = try rig.call(.cellDestroy, UInt64(cell.id))
                for c in 1..<4 where rig.hv.cpuState(c) == .parked && rig.hv.owner(of: c) == 0 { _ = rig.hv.startupIPI(to: c) }
            }
            rig.hv.runInmates(for: .us(300))
            #expect(rig.hv.invariantViolations() == [], "seed \(seed) step \(step)")
        }
        return (rig.m.trace.hashHex, rig.m.now)
    }

    @Test func bothExecutorsGiveTheSameTrace() throws {
        var hashes = Set<String>()
        for seed in UInt64(0)..<12 {
            let a = try Self.scenario(seed: seed, executor: .inline)
            let b = try Self.scenario(seed: seed, executor: .dispatch)
            #expect(a == b, "seed \(seed)")
            #expect(try Self.scenario(seed: seed, executor: .inline) == a)
            hashes.insert(a.0)
        }
        #expect(hashes.count > 6, "seeds choose different runs")
    }
}

@Suite struct EnableTests {
    @Test func theHypervisorCanBeEnabledAgainAfterDisable() throws {
        let rig = try Rig()
        #expect(try rig.create(.tiny()) == 0)
        #expect(try rig.call(.cellDestroy, 1) == 0)
        _ = rig.hv.startupIPI(to: 2)
        #expect(try rig.hv.disable(from: [0, 1, 2, 3]) == [0, 0, 0, 0])
        let r = rig.hv.enable(cpus: [0, 1, 2, 3], configAddress: Rig.configAddress(rig.system), maxCPUs: 4)
        #expect(r == [0, 0, 0, 0])
        #expect(try rig.create(.tiny()) == 0)
        #expect(rig.hv.statistics(cpu: 1)[.total] == 1, "statistics start from zero")
    }

    @Test func aHostileSystemConfigIsRefusedNotTrapped() throws {
        let m = try Machine(cpuCount: 4, seed: 1, executor: .inline)
        let hv = Hypervisor(machine: m)
        var sys = TSystem.qemu()
        sys.hvSize = 1 << 62
        var bytes = sys.bytes()
        // num_memory_regions of the root = 0xffffffff
        for k in 0..<4 { bytes[356 + 52 + k] = 0xff }
        let a = Rig.configAddress(sys)
        m.memory.write(a, bytes)
        #expect(hv.enable(cpus: [0, 1, 2, 3], configAddress: a, maxCPUs: 4) == [-22, -22, -22, -22])
        sys = TSystem.qemu()
        sys.hvSize = 1 << 62
        m.memory.write(a, sys.bytes())
        #expect(hv.enable(cpus: [0, 1, 2, 3], configAddress: a, maxCPUs: 4) == [0, 0, 0, 0])
        #expect(hv.poolPages.size == 1 << 18, "the pool bitmap is capped")
    }

    @Test func aCommRegionHangIsReportedWithTheDispatchExecutorToo() throws {
        let rig = try Rig(executor: .dispatch)
        rig.hv.setInmate(.unresponsive, forCell: 2)
        #expect(try rig.create(.apic()) == 0)
        #expect(try rig.call(.cellStart, 2) == 0)
        #expect(throws: SimulationHang.self) { try rig.call(.cellStart, 2, from: 1) }
    }
}

@Suite struct InvariantTests {
    @Test func invariantsHoldThroughALifecycleAndCatchQuirk8() throws {
        let rig = try Rig()
        #expect(rig.hv.invariantViolations() == [])
        #expect(try rig.create(.linux()) == 0)
        #expect(rig.hv.invariantViolations() == [])
        #expect(try rig.call(.cellSetLoadable, 3) == 0)
        #expect(rig.hv.invariantViolations() == [])
        #expect(try rig.call(.cellStart, 3) == 0)
        #expect(rig.hv.invariantViolations() == [])
        #expect(try rig.call(.cellDestroy, 3) == 0)
        #expect(rig.hv.invariantViolations() == [])
        // Two cells on the same RAM: destroying one hands the other's RAM to root.
        #expect(try rig.create(.tiny()) == 0)
        var twin = TCell.apic(); twin.memory[0].phys = 0x3ee0_0000
        #expect(try rig.create(twin) == 0)
        #expect(try rig.call(.cellDestroy, 2) == 0)
        #expect(rig.hv.invariantViolations() == ["region 0x3ee00000 of cell 1 is still mapped in root"])
    }
}

@Suite struct TraceShapeTests {
    @Test func aCreateReadsAsASequenceOfSteps() throws {
        let rig = try Rig()
        let from = rig.m.trace.recordedCount
        #expect(try rig.create(.tiny()) == 0)
        let lines = rig.m.trace.events.filter { $0.seq >= from }.map(\.op)
        let order = ["hypercall", "cell_suspend", "map_config", "page_alloc", "cell_init", "arch_cell_create",
                     "unit_init", "park", "owner", "unmap", "map", "config_commit", "cell_resume", "cell_create"]
        var at = 0
        for op in lines where at < order.count && op == order[at] { at += 1 }
        #expect(at == order.count, "\(lines)")
    }
}
