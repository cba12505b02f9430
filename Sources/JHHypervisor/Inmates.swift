import JHABI
import JHMachine

/// A simulated guest program a non-root cell runs after CELL_START. Each kind reproduces
/// one way real inmates treat the comm region.
public enum InmateKind: String, CaseIterable, Sendable, Codable {
    /// Ignores the comm region (what PASSIVE_COMMREG cells do; with an active comm region
    /// it never answers).
    case passive
    /// Approves shutdown requests and acknowledges RECONFIG_COMPLETED.
    case cooperative
    /// Holds RUNNING_LOCKED while running and denies the first shutdown request, like the
    /// upstream apic-demo; approves (and unlocks) on the second.
    case locking
    /// Runs but never replies.
    case unresponsive
    /// Its CPUs hit an unhandled exit and panic-park; the cell becomes FAILED (§4.10).
    case crashing
    /// Finds a comm-region ABI revision it does not speak and sets FAILED_COMM_REV.
    case commRevMismatch = "comm-rev-mismatch"
    /// Upstream's apic-demo (inmates/demos/x86/apic-demo.c) as written: RUNNING_LOCKED from
    /// boot; the first shutdown request is denied with "Rejecting first shutdown request -
    /// try again!"; the second gets no reply at all: the demo prints "Stopped APIC demo"
    /// and sets its state to SHUT_DOWN, which ends the hypervisor's wait. Every other
    /// message (RECONFIG_COMPLETED included) is answered UNKNOWN. The other upstream x86
    /// demos never read the comm region: their configs are PASSIVE_COMMREG (`passive`).
    case apicDemo = "apic-demo"

    /// The default by config: passive when PASSIVE_COMMREG is set, cooperative otherwise.
    public static func defaultKind(for flags: CellFlags) -> InmateKind {
        flags.contains(.passiveCommRegion) ? .passive : .cooperative
    }
}

extension Hypervisor {
    /// The cell CPU on which the inmate will answer `msg`, or nil when no answer can come:
    /// the inmate ignores messages, or no CPU of the cell runs guest code.
    func respondingCPU(_ cell: HVCell, to msg: CommMessage) -> CPUID? {
        guard let kind = cell.inmate else { return nil }
        switch kind {
        case .cooperative, .locking, .apicDemo: break
        case .passive, .unresponsive, .crashing, .commRevMismatch: return nil
        }
        return cell.cpus.first { cpuState($0) == .runningCell }
    }

    /// The inmate's comm-region handler, run on its own CPU: reads the message and writes
    /// its reply after `cost.inmateReply`.
    func answerMessage(_ cell: HVCell, _ msg: CommMessage, on cpu: CPUID) {
        guard let page = cell.commPage, let kind = cell.inmate else { return }
        machine.run(on: cpu) {
            machine.advance(machine.cost.inmateReply)
            let reply: CommReply
            switch (kind, msg) {
            case (.apicDemo, .shutdownRequest):
                // Mirrors the message loop of `inmate_main` in inmates/demos/x86/apic-demo.c.
                cell.shutdownRequests += 1
                if cell.shutdownRequests == 1 {
                    inmatePrint(cell, cpu, "Rejecting first shutdown request - try again!\n")
                    reply = .requestDenied
                } else {
                    // terminate: no reply; the loop ends and the demo reports SHUT_DOWN.
                    inmatePrint(cell, cpu, "Stopped APIC demo\n")
                    machine.memory.writeU32(page + UInt64(CommOffset.cellState), CellState.shutDown.rawValue)
                    machine.record(HypervisorTrace.inmateReply, cpu: cpu, a: Int(cell.id), b: kind.traceValue, c: Int(msg.rawValue),
                                   d: Int(CommReply.none.rawValue))
                    return
                }
            case (.apicDemo, _): reply = .unknown
            case (.locking, .shutdownRequest):
                cell.shutdownRequests += 1
                if cell.shutdownRequests == 1 {
                    reply = .requestDenied
                } else {
                    machine.memory.writeU32(page + UInt64(CommOffset.cellState), CellState.running.rawValue)
                    reply = .requestApproved
                }
            case (_, .shutdownRequest): reply = .requestApproved
            case (_, .reconfigCompleted): reply = .received
            default: reply = .unknown
            }
            machine.memory.writeU32(page + UInt64(CommOffset.replyFromCell), reply.rawValue)
            machine.record(HypervisorTrace.inmateReply, cpu: cpu, a: Int(cell.id), b: kind.traceValue, c: Int(msg.rawValue), d: Int(reply.rawValue))
        }
    }

    /// What the inmate does right after its CPUs were reset by CELL_START: every CPU takes
    /// a few VM exits (CPUID, APIC timer setup, CR writes); the first CPU reads the comm
    /// region and greets on the debug console if the cell may use it.
    func bootInmate(_ cell: HVCell) {
        guard let kind = cell.inmate, let page = cell.commPage else { return }
        let per = perCPU
        for c in cell.cpus where cpuState(c) == .runningCell {
            machine.run(on: c) {
                let p = per[c]
                p.count(.cpuid); p.count(.cpuid); p.count(.cr); p.count(.xapic)
                machine.advance(.us(5))
                machine.record(HypervisorTrace.inmateBoot, cpu: c, a: Int(cell.id), b: kind.traceValue)
                if kind == .crashing {
                    p.count(.exception)
                    panicPark(c)
                }
            }
        }
        guard let first = cell.cpus.first, kind != .crashing else { return }
        machine.run(on: first) {
            let revision = UInt16(truncatingIfNeeded: machine.memory.readU32(page + UInt64(CommOffset.revision)))
            switch kind {
            case .commRevMismatch:
                // The inmate library speaks another revision: it gives up.
                machine.memory.writeU32(page + UInt64(CommOffset.cellState), CellState.failedCommRev.rawValue)
                machine.record(HypervisorTrace.inmateCommRev, cpu: first, result: .error(.invalidArgument),
                               a: Int(cell.id), b: Int(revision), c: Int(revision &+ 1))
                return
            case .locking, .apicDemo:
                machine.memory.writeU32(page + UInt64(CommOffset.cellState), CellState.runningLocked.rawValue)
                machine.record(HypervisorTrace.inmateLock, cpu: first, a: Int(cell.id))
            default: break
            }
            inmatePrint(cell, first, "\(cell.name): \(kind.rawValue) inmate on CPU \(first)\n")
        }
    }

    /// The inmate's `printk` through the debug-console hypercall, one character at a time;
    /// run on the inmate's CPU. Permission failures are the inmate's problem: it stays silent.
    func inmatePrint(_ cell: HVCell, _ cpu: CPUID, _ text: String) {
        for ch in text.utf8 where (try? hypercall(cpu: cpu, .debugConsolePutc, UInt64(ch))) != 0 { break }
    }

    /// Mirrors `panic_park` in hypervisor/control.c (§4.10): the CPU is marked failed and
    /// parks; when every CPU of its cell has failed, the cell's state becomes FAILED.
    func panicPark(_ cpu: CPUID) {
        let p = perCPU[cpu]
        p.failed = true
        p.waitForSIPI = true
        printk("Parking CPU \(cpu) (Cell: \"\(cellOf(cpu: cpu)?.name ?? "")\")\n")
        record(HypervisorTrace.panicPark, cpu: cpu, result: .error(.ioError), a: cpu)
        if let cell = cellOf(cpu: cpu), cell.cpus.allSatisfy({ perCPU[$0].failed }) {
            writeCellState(cell, .failed, cpu: cpu)
        }
    }

    /// Lets every running inmate run for `duration` of virtual time, in parallel on the
    /// cells' CPUs: each takes one APIC-timer exit per millisecond.
    public func runInmates(for duration: VirtualDuration) {
        let cpus = CPUSet((0..<perCPU.count).filter { cpuState($0) == .runningCell })
        guard !cpus.isEmpty else { machine.advance(duration); return }
        let per = perCPU
        let ticks = Int(duration.nanoseconds / 1_000_000)
        machine.broadcastEach(cpus) { cpu, ctx in
            for _ in 0..<ticks { per[cpu].count(.xapic) }
            ctx.advance(duration)
            ctx.record(HypervisorTrace.inmateRun, a: ticks)
        }
    }
}
