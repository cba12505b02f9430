import JHABI
import JHLinux
import JHMachine

extension DriverTrace {
    /// One `read()` of the device (a: bytes asked for; result: bytes given or the errno).
    public static let consoleRead = k(0xe0, "console_read", "pid={pid:b:pid} size={size:a}",
                                      mirrors: "jailhouse_console_read (driver/main.c)")
}

/// A reader's place in the console (`struct console_state`, driver/main.c): what it read
/// up to, in bytes ever written. One per open file.
public struct ConsoleReader: Sendable, Hashable {
    /// The kernel allocation backing the state (freed on release).
    var address: UInt64
    public internal(set) var head = 0
}

extension JailhouseDriver {
    /// Upstream's console page holds this much text (`sizeof(console_page->content)` is
    /// the page minus its header); the simulated hypervisor keeps more, and a read hands
    /// out at most this per call.
    public static let consoleContentSize = 4096 - 8

    /// Opening the device for reading allocates the reader. Mirrors `jailhouse_console_open` (driver/main.c).
    /// - Throws: `ENOMEM` when kzalloc fails.
    public func consoleOpen(_ file: DeviceFile) throws(Errno) -> ConsoleReader {
        ConsoleReader(address: try kernel.kmalloc(16, tag: "console_state", zeroed: true))
    }

    /// Mirrors `jailhouse_console_release` (driver/main.c).
    public func consoleRelease(_ reader: ConsoleReader) { kernel.kfree(reader.address) }

    /// `read()` on /dev/jailhouse: the console text the reader has not seen, copied into
    /// the caller's buffer. Mirrors `jailhouse_console_read` (driver/main.c): a kmalloc'd
    /// bounce buffer, `jailhouse_lock` taken interruptibly, the delta since the reader's
    /// head (a "missed bytes" note first when the ring overtook it), then `copy_to_user`.
    /// Non-blocking readers get 0 when there is nothing new; the simulation never blocks
    /// (a blocking read with nothing new also returns 0: no time passes for new text).
    /// - Returns: bytes copied, or -errno: ENOMEM, EINTR, EAGAIN (hypervisor not enabled),
    ///   EPERM (no VIRTUAL_DEBUG_CONSOLE), EFAULT (`copy_to_user` failed).
    public func consoleRead(_ file: DeviceFile, _ reader: inout ConsoleReader, into out: UInt64, size: Int) -> Int64 {
        let result = consoleReadBody(file, &reader, out, size)
        machine.record(DriverTrace.consoleRead, result: result >= 0 ? .value(result) : .error(Errno(rawValue: Int32(-result))),
                       a: size, b: Int(file.pid.rawValue))
        return result
    }

    private func consoleReadBody(_ file: DeviceFile, _ reader: inout ConsoleReader, _ out: UInt64, _ size: Int) -> Int64 {
        let content: UInt64
        do { content = try kernel.kmalloc(Self.consoleContentSize, tag: "console content") } catch { return error.negated }
        defer { kernel.kfree(content) }
        do { try lock(file) } catch { return Errno.interrupted.negated }
        // jailhouse_console_dump_delta: not enabled is -EAGAIN, no debug console -EPERM.
        guard enabled else { unlock(file); return Errno.again.negated }
        guard consoleAvailable else { unlock(file); return Errno.notPermitted.negated }
        let delta = hypervisor.consoleDelta(from: reader.head, limit: Self.consoleContentSize)
        unlock(file)
        var bytes: [UInt8]
        if delta.missed > 0 {
            // The reader is warned first; the text itself comes with the next read.
            bytes = Array("<missed \(delta.missed) bytes of console log>\n".utf8)
            reader.head += delta.missed
        } else {
            bytes = Array(delta.bytes)
            if bytes.count > size { bytes.removeLast(bytes.count - size) }
            reader.head += bytes.count
        }
        if bytes.count > size { bytes.removeLast(bytes.count - size) }
        guard !bytes.isEmpty else { return 0 }
        do { try kernel.copyToUser(file.pid, out, bytes) } catch { return Errno.badAddress.negated }
        return Int64(bytes.count)
    }
}

extension JailhouseTool {
    /// `jailhouse console`: opens the device non-blocking and reads it in 128-byte chunks
    /// until a read returns 0 or fails. Mirrors `console()` in tools/jailhouse.c.
    /// - Returns: the text read, and 0 or the -errno of the read (or open) that failed
    ///   (the tool then prints `read(console): …`).
    public func console() -> (text: String, status: Int64) {
        let file: DeviceFile
        var reader: ConsoleReader
        do {
            file = try box.driver.open(pid: pid, credentials: credentials)
            reader = try box.driver.consoleOpen(file)
        } catch {
            return ("", error.negated)
        }
        defer { box.driver.consoleRelease(reader) }
        let buffer = place([UInt8](repeating: 0, count: 128))
        var text: [UInt8] = []
        while true {
            let n = box.driver.consoleRead(file, &reader, into: buffer, size: 128)
            if n < 0 { return (String(decoding: text, as: UTF8.self), n) }
            if n == 0 { break }
            guard let chunk = try? box.kernel.readUser(pid, buffer, count: Int(n)) else { break }
            text += chunk
        }
        return (String(decoding: text, as: UTF8.self), 0)
    }
}
