import Testing
import JHABI
import JHMachine
@testable import JHHypervisor

@Suite struct CommRegionTests {
    @Test func aCooperativeInmateApprovesAndAcknowledges() throws {
        let rig = try Rig()
        #expect(try rig.create(.apic()) == 0)
        #expect(try rig.call(.cellStart, 2) == 0)
        #expect(rig.hv.cells[1].inmate == .cooperative)
        #expect(try rig.create(.tiny()) == 0)
        #expect(rig.commU32(2, 12) == CommMessage.reconfigCompleted.rawValue)
        #expect(rig.commU32(2, 16) == CommReply.received.rawValue)
        let t0 = rig.m.now
        #expect(try rig.call(.cellDestroy, 2) == 0)
        #expect(rig.m.now - t0 >= rig.m.cost.inmateReply)
        #expect(rig.m.trace.events.contains { $0.layer == .inmate && $0.op == "reply" && $0.detail.contains("REQUEST_APPROVED") })
    }

    @Test func aPassiveCellIsNeverAsked() throws {
        let rig = try Rig()
        #expect(try rig.create(.tiny()) == 0)
        #expect(try rig.call(.cellStart, 1) == 0)
        #expect(try rig.create(.apic()) == 0)
        #expect(try rig.call(.cellDestroy, 1) == 0)
        #expect(rig.ops("message").filter { $0.detail.hasPrefix("cell=1") }.allSatisfy { $0.detail.hasSuffix("passive") })
    }

    @Test func anUnansweredMessageWithoutTimeoutIsAReportedHang() throws {
        for kind in [InmateKind.unresponsive, .passive] {
            let rig = try Rig()
            rig.hv.setInmate(kind, forCell: 2)
            #expect(try rig.create(.apic()) == 0)
            #expect(try rig.call(.cellStart, 2) == 0)
            do {
                _ = try rig.call(.cellDestroy, 2)
                Issue.record("expected a hang")
            } catch {
                #expect(error.waiter.contains("cell_exchange_message(\"apic-demo\", SHUTDOWN_REQUEST)"))
                #expect(error.reason.contains("never replies"))
                #expect(error.cpuStatus.count == 4)
                #expect(error.cpuStatus[1].contains("suspended"), "root is held suspended: \(error.cpuStatus[1])")
                #expect(error.cpuStatus[3].contains("running cell code"))
            }
        }
    }

    @Test func aCellWithoutRunningCPUsCanNeverAnswer() throws {
        let rig = try Rig()
        #expect(try rig.create(.apic()) == 0)
        // Created but never started: SHUT_DOWN consents. Force RUNNING to see the hang reason.
        rig.m.memory.writeU32(rig.hv.commPageAddress(ofCell: 2)! + 8, 0)
        do {
            _ = try rig.call(.cellDestroy, 2)
            Issue.record("expected a hang")
        } catch {
            #expect(error.reason.contains("no CPU of cell \"apic-demo\" runs guest code"), "\(error.reason)")
        }
    }

    @Test func theReplyTimeoutCountsPollsInVirtualTime() throws {
        let rig = try Rig()
        rig.hv.setInmate(.unresponsive, forCell: 2)
        #expect(try rig.create(.apic(timeout: 1000)) == 0)
        #expect(try rig.call(.cellStart, 2) == 0)
        let t0 = rig.m.now
        #expect(try rig.call(.cellDestroy, 2) == 0, "expiry counts as consent")
        #expect(rig.m.now - t0 >= rig.m.cost.messagePoll * 1000)
        #expect(rig.hv.console.contains("Timeout expired"))
    }

    @Test func expiryMarksTheCellFailedAndSuspendsIt() throws {
        let rig = try Rig()
        rig.hv.setInmate(.unresponsive, forCell: 2)
        #expect(try rig.create(.apic(timeout: 50)) == 0)
        #expect(try rig.call(.cellStart, 2) == 0)
        // RECONFIG_COMPLETED after this create times out on apic-demo.
        #expect(try rig.create(.tiny()) == 0)
        #expect(rig.hv.state(ofCell: 2) == .failed)
        #expect(rig.hv.cpuState(3) == .suspended)
    }

    @Test func reconfigCompletedIsExchangedBeforeCreatedCellIsPrinted() throws {
        let rig = try Rig()
        rig.hv.setInmate(.unresponsive, forCell: 2)
        #expect(try rig.create(.apic(timeout: 50)) == 0)
        #expect(try rig.call(.cellStart, 2) == 0)
        #expect(try rig.create(.tiny()) == 0)
        // control.c cell_create: cell_reconfig_completed(), then printk("Created cell").
        let lines = rig.hv.console.split(separator: "\n").map(String.init)
        let timeout = try #require(lines.lastIndex(of: "Timeout expired while waiting for reply from target cell"))
        let created = try #require(lines.lastIndex(of: "Created cell \"tiny-demo\""))
        #expect(timeout < created)
    }

    @Test func aCooperativeInmateTooSlowForTheTimeoutFails() throws {
        let rig = try Rig()
        #expect(try rig.create(.apic(timeout: 10)) == 0) // 10 polls = 1 µs < 20 µs reply
        #expect(try rig.call(.cellStart, 2) == 0)
        #expect(try rig.call(.cellStart, 2) == 0)
        #expect(rig.hv.console.contains("Timeout expired"))
    }

    @Test func aCrashingInmatePanicParksAndFailsTheCell() throws {
        let rig = try Rig()
        rig.hv.setInmate(.crashing, forCell: 3)
        var l = TCell.linux(); l.flags.remove(.passiveCommRegion)
        #expect(try rig.create(l) == 0)
        #expect(try rig.call(.cellStart, 3) == 0)
        #expect(rig.hv.cpuState(2) == .failed && rig.hv.cpuState(3) == .failed)
        #expect(rig.hv.state(ofCell: 3) == .failed)
        #expect(rig.hv.console.contains("Parking CPU 2 (Cell: \"\(l.name)\")\n"), "panic_park names the cell")
        #expect(try rig.call(.cpuGetInfo, 2, 0) == 2)
        #expect(rig.hv.statistics(cpu: 2)[.exception] == 1)
        #expect(try rig.call(.cellDestroy, 3) == 0, "FAILED consents at once")
        #expect(try rig.call(.cpuGetInfo, 2, 0) == 0, "destroy clears failed")
    }

    @Test(arguments: [Profile.upstream, .fixed])
    func commRevMismatchShortCircuitsOnlyWhenFixed(profile: Profile) throws {
        let rig = try Rig(profile: profile)
        rig.hv.setInmate(.commRevMismatch, forCell: 2)
        #expect(try rig.create(.apic()) == 0)
        #expect(try rig.call(.cellStart, 2) == 0)
        #expect(rig.hv.state(ofCell: 2) == .failedCommRev)
        #expect(try rig.call(.cellGetState, 2) == 4)
        if profile.has(.commRevDoesNotShortCircuit) {
            #expect(throws: SimulationHang.self) { try rig.call(.cellDestroy, 2) }
        } else {
            #expect(try rig.call(.cellDestroy, 2) == 0)
        }
    }

    @Test func theInmateChosenAtStartIsUsedFromThenOn() throws {
        let rig = try Rig()
        #expect(try rig.create(.apic()) == 0)
        #expect(try rig.call(.cellStart, 2) == 0)
        #expect(rig.hv.cells[1].inmate == .cooperative)
        rig.hv.setInmate(.locking, forCell: 2)
        #expect(rig.hv.cells[1].inmate == .cooperative, "applied at the next start")
        #expect(try rig.call(.cellStart, 2) == 0)
        #expect(rig.hv.cells[1].inmate == .locking)
        #expect(InmateKind.allCases.map(\.rawValue) == ["passive", "cooperative", "locking", "unresponsive", "crashing", "comm-rev-mismatch", "apic-demo"])
    }

    @Test func upstreamsApicDemoDeniesOnceThenStopsWithoutAReply() throws {
        let rig = try Rig()
        rig.hv.setInmate(.apicDemo, forCell: 2)
        #expect(try rig.create(.apic()) == 0)
        #expect(try rig.call(.cellStart, 2) == 0)
        #expect(rig.commU32(2, 8) == CellState.runningLocked.rawValue, "locked from boot")
        // Another cell cannot be created while apic-demo holds RUNNING_LOCKED.
        #expect(try rig.create(.tiny()) == -1)
        #expect(try rig.call(.cellDestroy, 2) == -1)
        #expect(rig.hv.console.contains("Rejecting first shutdown request - try again!\n"))
        #expect(rig.commU32(2, 16) == CommReply.requestDenied.rawValue)
        #expect(try rig.call(.cellDestroy, 2) == 0, "the second request ends the demo")
        #expect(rig.hv.console.contains("Stopped APIC demo\n"))
        #expect(rig.m.trace.events.contains { $0.layer == .inmate && $0.op == "reply" && $0.detail.contains("SHUTDOWN_REQUEST") && $0.detail.contains("reply=NONE") })
    }

    @Test func upstreamsApicDemoAnswersOtherMessagesUnknown() throws {
        let rig = try Rig()
        rig.hv.setInmate(.apicDemo, forCell: 2)
        #expect(try rig.create(.apic()) == 0)
        #expect(try rig.call(.cellStart, 2) == 0)
        // Unlock by hand so that a second create may run and send RECONFIG_COMPLETED.
        rig.m.memory.writeU32(rig.hv.commPageAddress(ofCell: 2)! + 8, CellState.running.rawValue)
        #expect(try rig.create(.tiny()) == 0, "an UNKNOWN reply to an information message is ignored")
        #expect(rig.commU32(2, 12) == CommMessage.reconfigCompleted.rawValue)
        #expect(rig.commU32(2, 16) == CommReply.unknown.rawValue)
    }

    @Test func inmatesWriteToTheDebugConsoleWhenPermitted() throws {
        let rig = try Rig()
        #expect(try rig.create(.apic()) == 0)
        #expect(try rig.call(.cellStart, 2) == 0)
        #expect(rig.hv.console.contains("apic-demo: cooperative inmate on CPU 3\n"))
        #expect(rig.hv.statistics(cpu: 3)[.hypercall]! > 10)
        var quiet = TCell.tiny(); quiet.flags.remove(.virtualConsolePermitted)
        #expect(try rig.create(quiet) == 0)
        #expect(try rig.call(.cellStart, 1) == 0)
        #expect(!rig.hv.console.contains("tiny-demo: passive"))
        #expect(try rig.call(.debugConsolePutc, 65) == -1, "root (flags 0) may not use it")
    }

    @Test func runningInmatesCountTimerExitsInParallel() throws {
        let rig = try Rig()
        #expect(try rig.create(.linux()) == 0)
        #expect(try rig.call(.cellStart, 3) == 0)
        let x = rig.hv.statistics(cpu: 2)[.xapic]!
        let t0 = rig.m.now
        rig.hv.runInmates(for: .ms(5))
        #expect(rig.hv.statistics(cpu: 2)[.xapic] == x + 5 && rig.hv.statistics(cpu: 3)[.xapic] == x + 5)
        #expect(rig.m.now - t0 == .ms(5))
    }
}
