import JHABI
import JHConfig
import JHHypervisor
import JHLinux
import JHMachine

/// The driver-path fuzz target: arbitrary bytes go through `JAILHOUSE_ENABLE` (system
/// config) and `JAILHOUSE_CELL_CREATE` (cell config) on a fresh inline 4-CPU box with the
/// fixed profile, and every invariant is checked after each ioctl (Docs/fuzzing.md).
///
/// `Fuzz/DriverFuzz.swift` wraps `check(_:)` as libFuzzer's entry (`make fuzz-driver`);
/// tests call it as a plain function. It lives in the driver layer because it needs
/// nothing above it, so the fuzz binary links only the layers it exercises.
///
/// The first byte of an input picks how the rest is read, so the fuzzer reaches past the
/// system config's checks into cell creation:
/// - mode 0: the built-in qemu-x86 system config, then the rest as a cell config;
/// - mode 1: the rest as a system config, then the built-in cell picked by byte 1;
/// - mode 2: both fuzzed: bytes 1–2 (little endian) give the system config's length;
/// - mode 3: both built in (byte 1 picks the cell), then the rest as edits of the cell
///   config: each 3 bytes are a 16-bit offset (little endian, modulo the config's size)
///   and a byte XORed in there, so most inputs stay close to a valid config.
/// Bit 2 of byte 0 starts a created cell before destroying it; bit 3 disables at the end.
/// A management call that waits forever on a started cell which cannot answer, with
/// msg_reply_timeout 0 (§4.9 step 4), ends the input without a finding: that hang is
/// what the configuration asks for. Every other hang is a finding.
/// With a `Session`, inputs of modes 0 and 3 that do not disable share one enabled box.
///
/// After a created cell is destroyed (and after disable) the box must be back where it
/// was; a failed ioctl must leave it as it was (§8 item 7, which the fixed profile keeps
/// to the letter); no ioctl may hang.
public enum DriverFuzz {
    /// How many input modes there are (the first byte modulo this).
    public static let modes = 4

    /// The built-in cell configs mode 1 and 3 choose from (byte 1 modulo the count).
    public static let cells: [[UInt8]] = BuiltinConfigs.cellNames.compactMap(BuiltinConfigs.cell(named:))

    /// An enabled box kept across inputs that enable with the built-in system config and
    /// do not disable (most of them): enabling costs about two thirds of an input, and
    /// every input must leave the box exactly as it found it anyway (`BoxSnapshot`).
    /// libFuzzer calls from one thread; so does everything else that uses one.
    public final class Session: @unchecked Sendable {
        var probe: Probe?
        var uses = 0
        /// A box serves this many inputs, then a fresh one is built (its logs grow).
        public var recycleAfter: Int
        public init(recycleAfter: Int = 256) { self.recycleAfter = recycleAfter }
    }

    /// Runs one input on a fresh box.
    /// - Returns: nil when every check held; otherwise what broke, for the fuzzer to crash with.
    public static func check(_ input: [UInt8]) -> String? { check(input, session: nil) }

    /// Runs one input, on `session`'s enabled box when the input allows it. A check that
    /// breaks there is run again on a fresh box, so what is reported reproduces from the
    /// input alone (or says that it does not).
    public static func check(_ input: [UInt8], session: Session?) -> String? {
        guard let first = input.first else { return nil }
        let mode = Int(first) % modes
        let start = first & 0x04 != 0
        let disable = first & 0x08 != 0
        let pick = input.count > 1 ? Int(input[1]) % cells.count : 0
        var system = BuiltinConfigs.qemuX86
        var cell = cells[pick]
        switch mode {
        case 0:
            cell = Array(input.dropFirst())
        case 1:
            system = Array(input.dropFirst(2))
        case 2:
            let split = input.count > 2 ? Int(input[1]) | Int(input[2]) << 8 : 0
            let rest = input.dropFirst(3)
            system = Array(rest.prefix(split))
            cell = Array(rest.dropFirst(split))
        default:
            let edits = input.dropFirst(2)
            var i = edits.startIndex
            while i + 2 < edits.endIndex, !cell.isEmpty {
                let at = (Int(edits[i]) | Int(edits[i + 1]) << 8) % cell.count
                cell[at] ^= edits[i + 2]
                i += 3
            }
        }
        if let session, mode == 0 || mode == 3, !disable {
            if session.probe == nil || session.uses >= session.recycleAfter {
                session.probe = nil
                session.uses = 0
                switch Probe.enabled(system: system) {
                case .failure(let broken): return broken.message
                case .success(let p): session.probe = p
                }
            }
            session.uses += 1
            guard let probe = session.probe, let broken = probe.cellPhase(cell, start: start) else { return nil }
            session.probe = nil
            if broken == Probe.stuck { return nil }
            let fresh = run(system: system, cell: cell, start: start, disable: disable)
            return fresh ?? "\(broken) (only on a box that had served \(session.uses - 1) inputs before; a fresh box passes)"
        }
        return run(system: system, cell: cell, start: start, disable: disable)
    }

    /// Enable with `system`, create `cell`, optionally start it, destroy it, optionally
    /// disable; checks after each step.
    public static func run(system: [UInt8], cell: [UInt8], start: Bool = false, disable: Bool = false) -> String? {
        switch Probe.enabled(system: system) {
        case .failure(let broken): return broken.message
        case .success(let probe):
            guard let probe else { return nil }
            if let broken = probe.cellPhase(cell, start: start) { return broken == Probe.stuck ? nil : broken }
            return disable ? probe.disablePhase() : nil
        }
    }

    struct Broken: Error { var message: String }

    /// One box and the checks every ioctl gets.
    struct Probe {
        let box: SimulatedBox
        let tool: JailhouseTool
        let pristine: BoxSnapshot
        let enabledState: BoxSnapshot

        /// A fresh box after ENABLE with `system`: the probe, nil when ENABLE failed as it
        /// should, or what broke.
        static func enabled(system: [UInt8]) -> Result<Probe?, Broken> {
            let box: SimulatedBox
            do {
                box = try SimulatedBox(cpus: 4, seed: 0, profile: .fixed, executor: .inline, traceLevel: .off)
            } catch {
                return .failure(Broken(message: "the fixed 4-CPU box cannot be built: \(error)"))
            }
            let tool = JailhouseTool(box: box)
            let pristine = BoxSnapshot(box)
            let (enabled, e1) = call(box, "ENABLE") { () throws(SimulationHang) in try tool.enable(system) }
            if let e1 { return .failure(Broken(message: e1)) }
            if enabled != 0 {
                if let s = same(box, pristine, "failed ENABLE (\(enabled ?? 0))") { return .failure(Broken(message: s)) }
                return .success(nil)
            }
            if !box.driver.enabled { return .failure(Broken(message: "ENABLE returned 0 but the driver is not enabled")) }
            return .success(Probe(box: box, tool: tool, pristine: pristine, enabledState: BoxSnapshot(box)))
        }

        /// CELL_CREATE of `cell`; if created, CELL_START (when asked) and CELL_DESTROY,
        /// after which the box must be as it was before the create.
        func cellPhase(_ cell: [UInt8], start: Bool) -> String? {
            let (created, e2) = Self.call(box, "CELL_CREATE") { () throws(SimulationHang) in try tool.cellCreate(cell) }
            if let e2 { return e2 }
            if let created, created < 0 {
                return Self.same(box, enabledState, "failed CELL_CREATE (\(created))")
            }
            guard let made = box.driver.cells.last, made !== box.driver.rootCell else {
                return "CELL_CREATE returned \(created ?? 0) but no cell was registered"
            }
            let id = made.id.rawValue
            if start {
                let (started, e3) = Self.call(box, "CELL_START") { () throws(SimulationHang) in try tool.cellStart(.id(id)) }
                if let e3 { return e3 }
                if started == nil { return Self.stuck }
            }
            let (destroyed, e4) = Self.call(box, "CELL_DESTROY") { () throws(SimulationHang) in try tool.cellDestroy(.id(id)) }
            if let e4 { return e4 }
            if destroyed == nil { return Self.stuck }
            if destroyed != 0 { return "CELL_DESTROY of a created cell failed: \(destroyed ?? 0)" }
            return Self.same(box, enabledState, "CELL_CREATE then CELL_DESTROY")
        }

        /// What `cellPhase` returns when the box is stuck in a documented wait (not a finding).
        static let stuck = "stuck"

        /// DISABLE with no cell left: must succeed and give back the box as it was before ENABLE.
        func disablePhase() -> String? {
            let (disabled, e5) = Self.call(box, "DISABLE") { () throws(SimulationHang) in try tool.disable() }
            if let e5 { return e5 }
            if disabled != 0 { return "DISABLE with no cell left failed: \(disabled ?? 0)" }
            return Self.same(box, pristine, "ENABLE then DISABLE")
        }

        /// One ioctl and the checks every ioctl gets: it returns, the §8 invariants hold,
        /// and the result is 0 or a known -errno.
        static func call(_ box: SimulatedBox, _ what: String, _ body: () throws(SimulationHang) -> Int64) -> (Int64?, String?) {
            let r: Int64
            do { r = try body() } catch {
                // §4.9 step 4: with msg_reply_timeout 0, a management call waits forever on a
                // started cell that cannot answer (e.g. a cell with no CPU). That is the
                // documented behaviour of the configuration, not a fault of the simulator;
                // the box is stuck from here on, so the input ends.
                if what != "CELL_CREATE", error.oops == nil, error.waiter.contains("cell_exchange_message"),
                   error.reason.hasSuffix("msg_reply_timeout is 0") {
                    return (nil, nil)
                }
                return (nil, "\(what) never returns: \(error)")
            }
            box.machine.runEvents(limit: 100_000)
            let v = box.invariantViolations()
            if !v.isEmpty { return (r, "after \(what) → \(r): invariants broken: \(v.joined(separator: "; "))") }
            if r > 0 && what != "CELL_CREATE" { return (r, "\(what) returned \(r), neither 0 nor -errno") }
            if r < 0 && !Errno.known.contains(Errno(rawValue: Int32(clamping: -r))) { return (r, "\(what) returned \(r), not a known errno") }
            return (r, nil)
        }

        static func same(_ box: SimulatedBox, _ before: BoxSnapshot, _ what: String) -> String? {
            let after = BoxSnapshot(box)
            return after == before ? nil : "\(what) changed the box:\n  before \(before)\n  after  \(after)"
        }
    }

    /// The seed corpus: for each mode, inputs built from the built-in configs (valid
    /// configs, so the fuzzer starts from inputs that reach every step).
    public static func seeds() -> [[UInt8]] {
        var out: [[UInt8]] = []
        let sys = BuiltinConfigs.qemuX86
        for (i, c) in cells.enumerated() {
            let n = UInt8(i)
            out.append([0] + c)
            out.append([0x04] + c)
            out.append([1, n] + sys)
            out.append([0x0d, n] + sys)
            out.append([2, UInt8(sys.count & 0xff), UInt8(sys.count >> 8)] + sys + c)
            out.append([3, n])
            out.append([0x07, n, 0x30, 0x00, 0x01])
        }
        return out
    }
}
