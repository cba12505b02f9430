import Testing
import JHABI
@testable import JHLinux

/// Drives a state machine to the end, failing the steps `failures` names (by state and
/// whether it is a rollback step); returns the steps run and the final action.
func drive(_ m: inout CPUHotplugMachine, to target: CPUHPState,
           fail: (CPUHotplugMachine.Step) -> Errno? = { _ in nil }) -> ([CPUHotplugMachine.Step], CPUHotplugMachine.Action) {
    var steps: [CPUHotplugMachine.Step] = []
    var a = m.begin(target: target)
    while case .invoke(let s) = a {
        steps.append(s)
        if let e = fail(s) { a = m.stepFailed(e) } else { a = m.stepSucceeded() }
    }
    return (steps, a)
}

@Suite struct CPUHotplugMachineTests {
    @Test func teardownRunsEveryTeardownCallbackInDescendingOrder() {
        var m = CPUHotplugMachine(state: .online)
        let (steps, end) = drive(&m, to: .offline)
        #expect(end == .finished)
        #expect(m.state == .offline && m.phase == .idle)
        #expect(steps.map(\.state) == CPUHPState.allCases.reversed().filter { $0.teardownCallback != nil })
        #expect(steps.allSatisfy { $0.direction == .down && !$0.isRollback })
        #expect(steps.first?.state == .apActive && steps.last?.state == .perfPrepare)
        // The dying CPU runs the ONLINE and STARTING sections; the control CPU the rest.
        #expect(steps.filter(\.runsOnTarget).map(\.state) ==
                [.apActive, .apRcutreeOnline, .apWorkqueueOnline, .apSmpbootThreads, .apSmpcfdDying, .apRcutreeDying, .apSchedStarting])
    }

    @Test func bringupRunsEveryStartupCallbackInAscendingOrder() {
        var m = CPUHotplugMachine(state: .offline)
        let (steps, end) = drive(&m, to: .online)
        #expect(end == .finished && m.state == .online)
        #expect(steps.map(\.state) == CPUHPState.allCases.filter { $0.startupCallback != nil })
        #expect(steps.first?.state == .createThreads)
    }

    @Test func sameStateIsImmediatelyFinished() {
        var m = CPUHotplugMachine(state: .online)
        #expect(m.begin(target: .online) == .finished)
        #expect(m.phase == .idle)
    }

    @Test func onlyFallibleSectionsCanFail() {
        // STARTING cannot fail either way; PREPARE and finish_cpu cannot fail on teardown.
        for s in CPUHPState.allCases where s.section == .starting {
            #expect(!s.isFallible(.up) && !s.isFallible(.down))
        }
        for s in CPUHPState.allCases where s.section == .prepare || s == .bringupCPU {
            #expect(!s.isFallible(.down))
        }
        #expect(fallibleStates(.down) == [.apActive, .apRcutreeOnline, .apWorkqueueOnline, .apSmpbootThreads, .teardownCPU])
        #expect(fallibleStates(.up) == [.createThreads, .perfPrepare, .workqueuePrep, .rcutreePrep, .timersPrepare,
                                        .bringupCPU, .apSmpbootThreads, .apWorkqueueOnline, .apRcutreeOnline, .apActive])
    }

    @Test(arguments: fallibleStates(.down))
    func teardownFailureRollsBackOnline(_ failing: CPUHPState) {
        var m = CPUHotplugMachine(state: .online)
        let (steps, end) = drive(&m, to: .offline) { $0.state == failing && !$0.isRollback ? .busy : nil }
        #expect(end == .failed(error: .busy, failedAt: failing))
        #expect(m.state == .online && m.phase == .idle)
        // The rollback re-runs the startup callbacks above the failing state, not its own.
        let rollback = steps.filter(\.isRollback)
        #expect(rollback.allSatisfy { $0.direction == .up && $0.state > failing })
    }

    @Test(arguments: fallibleStates(.up))
    func bringupFailureRollsBackOffline(_ failing: CPUHPState) {
        var m = CPUHotplugMachine(state: .offline)
        let (steps, end) = drive(&m, to: .online) { $0.state == failing && !$0.isRollback ? .noMemory : nil }
        #expect(end == .failed(error: .noMemory, failedAt: failing))
        #expect(m.state == .offline)
        #expect(steps.filter(\.isRollback).allSatisfy { $0.direction == .down && $0.state < failing })
    }

    @Test func failureDuringRollbackLeavesTheIntermediateState() {
        // cpu_down fails at CPUHP_AP_WORKQUEUE_ONLINE; undoing it fails at CPUHP_AP_ACTIVE.
        var m = CPUHotplugMachine(state: .online)
        let (_, end) = drive(&m, to: .offline) { s in
            if s.state == .apWorkqueueOnline && !s.isRollback { return .busy }
            if s.state == .apActive && s.isRollback { return .noMemory }
            return nil
        }
        #expect(end == .rollbackFailed(error: .busy, failedAt: .apWorkqueueOnline, rollbackError: .noMemory,
                                       stuckAt: .apRcutreeOnline))
        #expect(m.state == .apRcutreeOnline && m.isIntermediate && m.phase == .idle)
        // A later operation starts from there.
        let (_, again) = drive(&m, to: .online)
        #expect(again == .finished && m.state == .online)
    }

    @Test func bringupRollbackFailureStopsBetweenSections() {
        var m = CPUHotplugMachine(state: .offline)
        let (_, end) = drive(&m, to: .online) { s in
            if s.state == .apActive && !s.isRollback { return .noMemory }
            if s.state == .teardownCPU && s.isRollback { return .busy }
            return nil
        }
        guard case .rollbackFailed(_, _, let rb, let stuck) = end else { Issue.record("expected rollbackFailed"); return }
        #expect(rb == .busy && stuck == .teardownCPU)
    }
}

@Suite struct CPUHPCallbackMaskTests {
    @Test func callbackBitsMatchTheCallbackTable() {
        for state in CPUHPState.allCases {
            for d in [CPUHPDirection.up, .down] {
                #expect(state.hasCallback(d) == (state.callback(d) != nil), "\(state) \(d)")
            }
        }
    }
}
