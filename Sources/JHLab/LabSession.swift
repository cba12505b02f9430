import Foundation
import JHABI
import JHMachine

/// Errors of the lab itself (not of the simulated system, which answers with errnos).
public struct LabError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A box plus the log of what was done to it: the live form of a lab.
///
/// Every command goes through `perform`, which records the command's trace slice and a
/// snapshot of the CPUs, so the views never need to re-run anything.
public final class LabSession {
    public let parameters: BoxParameters
    public let factory: BoxFactory
    public let box: any JailhouseBox
    public private(set) var log: [LoggedCommand] = []
    public private(set) var records: [CommandRecord] = []
    /// The CPUs before the first command (for the timeline's left edge).
    public private(set) var initialCPUs: [CPUStatus]
    /// A fault plan that stays armed across commands (JHFaults' sweeps and campaigns): its
    /// hit counters and `prob=` draws run over the whole session, so "the 7th kmalloc of
    /// the scenario" means one hit. Each command's own `--fault` rules are appended for
    /// that command only and start counting afresh, as they always did. Not logged: a lab
    /// never has one.
    public var armedFaults: FaultInjector
    /// Rewrites the config bytes of the next `enable` or `cell create` performed, then
    /// clears itself (JHFaults' `--mutate-configs`); the command is logged with the bytes
    /// the driver got. Not logged itself: a lab never has one.
    public var rewriteNextConfig: ((_ bytes: [UInt8]) -> [UInt8])?

    public var machine: Machine { box.machine }

    public init(parameters: BoxParameters, factory: BoxFactory) throws(LabError) {
        guard parameters.cpus >= 1, parameters.cpus <= Machine.maxCPUs else {
            throw LabError("a machine has 1…\(Machine.maxCPUs) CPUs, not \(parameters.cpus)")
        }
        guard Profile.named(parameters.profile) != nil else {
            throw LabError("unknown profile '\(parameters.profile)'; valid profiles: upstream, fixed")
        }
        self.parameters = parameters
        self.factory = factory
        do {
            box = try factory.make(parameters)
        } catch {
            throw LabError("cannot build the simulated machine: \(error)")
        }
        initialCPUs = (0..<parameters.cpus).map(box.cpuStatus)
        armedFaults = FaultInjector(seed: parameters.seed)
    }

    /// Parses fault rules against every layer's catalog.
    public func parseFaults(_ texts: [String]) throws(FaultRuleError) -> [FaultRule] {
        var rules: [FaultRule] = []
        for t in texts { rules.append(try FaultRule(parsing: t, catalog: factory.faultCatalog)) }
        return rules
    }

    /// Runs one command on the box and appends it to the log.
    /// - Throws: `FaultRuleError` for a rule that does not parse (nothing runs then).
    /// - Parameter outsideMemory: for a live `.outsideIoctl`, the real program's memory;
    ///   the reads the driver makes of it are logged with the command. Nil replays the
    ///   logged reads.
    @discardableResult
    public func perform(_ command: LoggedCommand,
                        outsideMemory: ((UInt64, Int) -> [UInt8]?)? = nil) throws(FaultRuleError) -> ActionOutcome {
        var command = command
        let rules = try parseFaults(command.faults)
        if let rewrite = rewriteNextConfig {
            switch command.action {
            case .enable(let c): command.action = .enable(config: Data(rewrite(Array(c)))); rewriteNextConfig = nil
            case .cellCreate(let c): command.action = .cellCreate(config: Data(rewrite(Array(c)))); rewriteNextConfig = nil
            default: break
            }
        }
        let m = machine
        m.wait(until: m.horizon)
        let firstSeq = m.trace.recordedCount
        let start = m.now
        // A real program's request (libjhsim-preload) is told apart from a jhsim command,
        // so its line is shown as the program's own argv.
        m.record(command.viaPreload == true ? LabTrace.program : LabTrace.command, text: command.commandLine)
        var injector = armedFaults
        let ownRules = injector.rules.count..<(injector.rules.count + rules.count)
        for r in rules { injector.add(r) }
        m.faults = injector
        var outcome: ActionOutcome
        if case .outsideIoctl(let request, let argument, let process, _) = command.action, let outsideMemory {
            var reads: [OutsideRead] = []
            outcome = callIoctl { () throws(SimulationHang) in
                try box.outsideIoctl(request: request, argument: argument, processName: process) { address, count in
                    let bytes = outsideMemory(address, count)
                    reads.append(OutsideRead(address: address, count: count, bytes: bytes.map { Data($0) }))
                    return bytes
                }
            }
            command.action = .outsideIoctl(request: request, argument: argument, process: process, reads: reads)
        } else {
            outcome = execute(command)
        }
        // A rule of this command that never fired points at a typo or a site the command
        // does not reach; say so rather than let the run look fault-free by accident.
        outcome.unfiredFaults = zip(ownRules, command.faults).filter { m.faults.fired[$0.0] == 0 }.map(\.1)
        armedFaults = m.faults
        armedFaults.removeLast(rules.count)
        m.faults = FaultInjector()
        // Let whatever the command set in motion (inmates answering, signals) settle.
        m.runEvents(limit: 100_000)
        m.wait(until: m.horizon)
        let done: TraceResult = outcome.hang != nil ? .value(-1)
            : outcome.result == 0 ? .ok : (outcome.errno.map { .error($0) } ?? .value(outcome.result))
        m.record(outcome.hang != nil ? LabTrace.doneHang : LabTrace.done, result: done, text: command.commandLine)
        log.append(command)
        records.append(CommandRecord(
            index: records.count, commandLine: command.commandLine, firstSeq: firstSeq,
            endSeq: m.trace.recordedCount, start: start, end: m.now, outcome: outcome,
            cpusAfter: (0..<parameters.cpus).map(box.cpuStatus), viaPreload: command.viaPreload == true))
        return outcome
    }

    /// Runs one ioctl; a simulated hang becomes the outcome's `hang`.
    private func callIoctl(_ ioctl: () throws(SimulationHang) -> Int64) -> ActionOutcome {
        do {
            return ActionOutcome(result: try ioctl())
        } catch {
            // On hardware the ioctl never returns; there is no result to report.
            var o = ActionOutcome(result: 0, hang: error.description)
            o.oops = error.oops != nil
            return o
        }
    }

    private func execute(_ command: LoggedCommand) -> ActionOutcome {
        let signal = command.signalAfterNanoseconds.map { VirtualDuration.ns($0) }
        func call(_ cmd: IoctlCommand, _ payload: IoctlPayload) -> ActionOutcome {
            callIoctl { () throws(SimulationHang) in try box.ioctl(cmd, payload, signalAfter: signal, credentials: command.caps) }
        }
        switch command.action {
        case .enable(let config): return call(.enable, .systemConfig(Array(config)))
        case .disable: return call(.disable, .none)
        case .cellCreate(let config): return call(.cellCreate, .cellConfig(Array(config)))
        case .cellLoad(let cell, let images): return call(.cellLoad, .cellLoad(cell, images))
        case .cellShutdown(let cell): return call(.cellLoad, .cellLoad(cell, []))
        case .cellDestroy(let cell): return call(.cellDestroy, .cellID(cell))
        case .cellStart(let cell, let inmate):
            if let inmate {
                guard let id = resolve(cell), box.setInmate(inmate, forCell: id) else {
                    return ActionOutcome(result: Errno.noEntry.negated)
                }
            }
            return call(.cellStart, .cellID(cell))
        case .inmate(let cell, let kind):
            guard let id = resolve(cell) else { return ActionOutcome(result: Errno.noEntry.negated) }
            return ActionOutcome(result: box.setInmate(kind, forCell: id) ? 0 : Errno.invalidArgument.negated)
        case .cpuHotplug(let cpu, let online):
            if let e = box.setCPU(cpu, online: online) { return ActionOutcome(result: e.negated) }
            return ActionOutcome(result: 0)
        case .sysfsWrite(let path, let value):
            if let e = box.sysfsWrite(path, value) { return ActionOutcome(result: e.negated) }
            return ActionOutcome(result: 0)
        case .outsideIoctl(let request, let argument, let process, let reads):
            // The logged reads, in order: a replay makes the same reads, so each finds its
            // bytes; anything else faults, and the trace-hash check reports the mismatch.
            var next = 0
            return callIoctl { () throws(SimulationHang) in
                try box.outsideIoctl(request: request, argument: argument, processName: process) { address, count in
                    guard next < reads.count, reads[next].address == address, reads[next].count == count else { return nil }
                    next += 1
                    return reads[next - 1].bytes.map { Array($0) }
                }
            }
        }
    }

    /// The driver id of a cell named by id or name, read from sysfs like the tools do.
    public func resolve(_ cell: CellSelector) -> UInt32? {
        let cells = SysfsCells.read(box)
        switch cell {
        case .id(let i): return cells.first { $0.id == Int64(i) }.map { UInt32($0.id) }
        case .name(let n): return cells.first { $0.name == n }.map { UInt32($0.id) }
        }
    }

    /// Replays a saved log on this (fresh) session.
    public func replay(_ commands: [LoggedCommand]) throws(LabError) {
        for c in commands {
            do { try perform(c) } catch {
                throw LabError("the lab's log holds a fault rule this jhsim does not understand (\(error.message)); the lab was made by a different jhsim version")
            }
        }
    }
}
