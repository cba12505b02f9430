import JHABI
import JHMachine

/// Byte offsets of the x86 comm region (jailhouse-behaviour.md §4.9).
enum CommOffset {
    static let signature = 0, revision = 6, cellState = 8, msgToCell = 12, replyFromCell = 16, flags = 20
    static let console = 24, pciMMConfigBase = 56, pmTimerAddress = 64, numCPUs = 66, tscKHz = 68, apicKHz = 72
}

extension Hypervisor {
    /// The cell-state word of a cell's comm region; root's is never written and reads 0.
    func cellState(_ cell: HVCell) -> CellState {
        guard let page = cell.commPage else { return .running }
        return CellState(rawValue: machine.memory.readU32(page + UInt64(CommOffset.cellState)))
    }

    func writeCellState(_ cell: HVCell, _ s: CellState, cpu: CPUID?) {
        guard let page = cell.commPage else { return }
        machine.memory.writeU32(page + UInt64(CommOffset.cellState), s.rawValue)
        record(HypervisorTrace.cellState, cpu: cpu, a: Int(cell.id), b: Int(s.rawValue))
    }

    func readReply(_ cell: HVCell) -> CommReply {
        guard let page = cell.commPage else { return .none }
        return CommReply(rawValue: machine.memory.readU32(page + UInt64(CommOffset.replyFromCell)))
    }

    /// Start's comm-region setup (`cell_start` + x86 `arch_cell_reset`): zero the page,
    /// "JHCOMM" revision 2 (so cell_state = RUNNING, msg = NONE), console flags, the
    /// console, pci_mmconfig_base, pm_timer_address, num_cpus, tsc_khz, apic_khz.
    func initCommRegion(_ cell: HVCell, cpu: CPUID) {
        guard let page = cell.commPage else { return }
        var b = [UInt8](repeating: 0, count: CommRegionLayout.size)
        func put(_ o: Int, _ v: UInt64, _ n: Int) { for k in 0..<n { b[o + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) } }
        for (k, c) in CommRegionLayout.signature.enumerated() { b[k] = c }
        put(CommOffset.revision, UInt64(CommRegionLayout.revision), 2)
        var flags: UInt32 = 0
        if cell.config.flags.contains(.virtualConsolePermitted) { flags |= CommRegionLayout.flagDebugPutcPermitted }
        if cell.config.flags.contains(.virtualConsoleActive) { flags |= CommRegionLayout.flagDebugPutcActive }
        put(CommOffset.flags, UInt64(flags), 4)
        for (k, c) in cell.config.console.enumerated() { b[CommOffset.console + k] = c }
        put(CommOffset.pciMMConfigBase, system?.pciMMConfigBase ?? 0, 8)
        put(CommOffset.pmTimerAddress, UInt64(system?.pmTimerAddress ?? 0), 2)
        put(CommOffset.numCPUs, UInt64(cell.cpus.count), 2)
        put(CommOffset.tscKHz, UInt64(system?.tscKHz ?? 0), 4)
        put(CommOffset.apicKHz, UInt64(system?.apicKHz ?? 0), 4)
        machine.memory.zero(page, count: 4096)
        machine.memory.write(page, b)
        record(HypervisorTrace.commInit, cpu: cpu, a: Int(cell.id), b: Int(flags), c: cell.cpus.count)
    }

    /// Whether a state ends the message wait at once. Upstream: SHUT_DOWN and FAILED only
    /// (quirk 12); fixed: FAILED_COMM_REV too (RUNNING_LOCKED never: a locked cell must
    /// still answer).
    func endsMessageWait(_ s: CellState) -> Bool {
        s.shortCircuitsMessageWait || (!machine.profile.has(.commRevDoesNotShortCircuit) && s == .failedCommRev)
    }

    /// Mirrors `cell_exchange_message` in hypervisor/control.c (§4.9).
    ///
    /// The polling loop runs in virtual time: each iteration costs `cost.messagePoll`, an
    /// inmate that answers does so after `cost.inmateReply`, and `msg_reply_timeout`
    /// iterations without a reply suspend the cell and mark it FAILED (counted as consent).
    /// - Returns: true for consent (or a terminal state, or a passive cell), false when the
    ///   cell refused or answered something unexpected.
    /// - Throws: `SimulationHang` when the timeout is 0 and no reply can ever come.
    func exchangeMessage(_ cell: HVCell, _ msg: CommMessage, request: Bool, caller cpu: CPUID) throws(SimulationHang) -> Bool {
        if cell.config.flags.contains(.passiveCommRegion) {
            record(HypervisorTrace.messagePassive, cpu: cpu, result: .ok, a: Int(cell.id), b: Int(msg.rawValue))
            return true
        }
        guard let page = cell.commPage else { return true }
        machine.memory.writeU32(page + UInt64(CommOffset.replyFromCell), CommReply.none.rawValue)
        machine.memory.writeU32(page + UInt64(CommOffset.msgToCell), msg.rawValue)
        record(HypervisorTrace.message, cpu: cpu, a: Int(cell.id), b: Int(msg.rawValue))
        let timeout = cell.config.msgReplyTimeout
        let poll = machine.cost.messagePoll
        let expected: CommReply = request ? .requestApproved : .received

        func verdict() -> Bool? {
            let s = cellState(cell)
            if endsMessageWait(s) { return true }
            let reply = readReply(cell)
            if reply == expected { return true }
            if reply != .none { return false }
            return nil
        }
        func finish(_ ok: Bool, _ why: String) -> Bool {
            record(HypervisorTrace.messageEnd, cpu: cpu, result: ok ? .ok : .error(.notPermitted), a: Int(cell.id),
                   b: Int(msg.rawValue), c: Int(readReply(cell).rawValue), d: Int(cellState(cell).rawValue), text: why)
            return ok
        }

        if let v = verdict() { return finish(v, "state") }
        // The inmate answers after inmateReply; the hypervisor sees it on the next poll.
        let polls = max(1, (machine.cost.inmateReply.nanoseconds + max(1, poll.nanoseconds) - 1) / max(1, poll.nanoseconds))
        if let responder = respondingCPU(cell, to: msg), timeout == 0 || polls <= timeout {
            let before = machine.now
            answerMessage(cell, msg, on: responder)
            let elapsed = machine.now - before
            let pollTime = times(poll, polls)
            if elapsed < pollTime { machine.advance(.ns(pollTime.nanoseconds - elapsed.nanoseconds)) }
            if let v = verdict() { return finish(v, "reply") }
        }
        if timeout == 0 {
            let waiting = "hypervisor on cpu\(cpu) in cell_exchange_message(\"\(cell.name)\", \(msg))"
            let why = noReplyReason(cell)
            record(HypervisorTrace.messageHang, cpu: cpu, result: .error(.timedOut), a: Int(cell.id), b: Int(msg.rawValue), text: why)
            throw SimulationHang(waiter: waiting, reason: why + "; msg_reply_timeout is 0", machine: machine)
        }
        machine.advance(times(poll, timeout))
        printk("Timeout expired while waiting for reply from target cell\n")
        cellSuspend(cell, caller: cpu)
        writeCellState(cell, .failed, cpu: cpu)
        return finish(true, "timeout")
    }

    /// Why a cell will never answer, for a hang report.
    func noReplyReason(_ cell: HVCell) -> String {
        let running = cell.cpus.filter { cpuState($0) == .runningCell }
        if running.isEmpty {
            let states = cell.cpus.map { "cpu\($0) \(cpuState($0))" }.joined(separator: ", ")
            return "no CPU of cell \"\(cell.name)\" runs guest code (\(states))"
        }
        let kind = cell.inmate?.rawValue ?? "none"
        return "the inmate '\(kind)' of cell \"\(cell.name)\" never replies (state \(cellState(cell)))"
    }
}
