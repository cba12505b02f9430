import JHABI
@testable import JHDriver
import JHMachine
import Testing

/// `read()` on /dev/jailhouse: the only `copy_to_user` of the upstream driver
/// (jailhouse_console_read in driver/main.c), and `jailhouse console`'s loop over it.
@Suite struct ConsoleReadTests {
    @Test func theToolReadsTheWholeConsoleThroughCopyToUser() throws {
        let rig = try Rig()
        try rig.enable()
        let (text, status) = rig.tool.console()
        #expect(status == 0)
        #expect(!text.isEmpty && text == rig.hv.console)
        // 128-byte chunks, each one copy_to_user into the tool's buffer.
        let copies = rig.machine.trace.events.filter { $0.op == "copy_to_user" }
        #expect(copies.count == (text.utf8.count + 127) / 128)
        // A second open starts again at the beginning; the same reader sees only what is new.
        #expect(rig.tool.console().text == text)
    }

    @Test func notEnabledIsEAGAIN() throws {
        let rig = try Rig()
        #expect(rig.tool.console() == ("", Errno.again.negated))
    }

    @Test func aFailedCopyToUserIsEFAULTAndTheReaderDoesNotAdvance() throws {
        let rig = try Rig(faults: ["copy_to_user:nth=2"])
        try rig.enable()
        let file = try rig.driver.open(pid: rig.tool.pid, credentials: .privileged)
        var reader = try rig.driver.consoleOpen(file)
        let buffer = rig.tool.place([UInt8](repeating: 0, count: 64))
        #expect(rig.driver.consoleRead(file, &reader, into: buffer, size: 64) == 64)
        #expect(rig.driver.consoleRead(file, &reader, into: buffer, size: 64) == Errno.badAddress.negated)
        #expect(reader.head == 128)   // the failed chunk was consumed, as upstream advances head first
        rig.driver.consoleRelease(reader)
        #expect(rig.machine.faults.fired == [1])
    }

    @Test func theBounceBufferAndTheLockAreFaultSitesToo() throws {
        let rig = try Rig(faults: ["kmalloc:state=console content:nth=1"])
        try rig.enable()
        #expect(rig.tool.console().status == Errno.noMemory.negated)
        let locked = try Rig(faults: ["mutex_lock_interruptible:state=jailhouse_lock:nth=2"])
        try locked.enable()
        #expect(locked.tool.console().status == Errno.interrupted.negated)
        #expect(locked.driver.lockIsFree)
    }
}
