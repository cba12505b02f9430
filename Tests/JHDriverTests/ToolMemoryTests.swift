import JHABI
import JHConfig
@testable import JHDriver
import JHLinux
import JHMachine
import Testing

/// A long-lived `jailhouse` process (one tool for many calls, as the benchmark package's
/// churn uses it) gives back every buffer it mapped for a call.
@Suite struct ToolMemoryTests {
    @Test func longLivedToolKeepsNoMappingsAcrossCreateDestroyCycles() throws {
        let r = try Rig(traceLevel: .off)
        try r.enable()
        let afterEnable = try #require(r.kernel.userMappingStats(r.tool.pid))
        #expect(afterEnable.count == 0 && afterEnable.bytes == 0)
        for _ in 0 ..< 50 {
            #expect(try r.tool.cellCreate(Rig.cell("tiny-demo")) == 0)
            #expect(try r.tool.cellLoad(.name("tiny-demo"), images: [.init(bytes: [1, 2, 3], target: 0)]) == 0)
            #expect(try r.tool.cellDestroy(.name("tiny-demo")) == 0)
        }
        let after = try #require(r.kernel.userMappingStats(r.tool.pid))
        #expect(after.count == 0)
        #expect(after.bytes == 0)
    }

    @Test func failedCallsUnmapToo() throws {
        let r = try Rig(traceLevel: .off)
        try r.enable()
        for _ in 0 ..< 10 {
            #expect(try r.tool.cellDestroy(.name("nope")) == Errno.noEntry.ret)
            #expect(try r.tool.cellCreate([1, 2, 3]) == Errno.invalidArgument.ret)
        }
        #expect(r.kernel.userMappingStats(r.tool.pid)?.count == 0)
    }

    @Test func unmappedAddressesAreNotReusedSoLaterCallsSeeTheSameAddresses() throws {
        let k = try Rig().kernel
        let pid = k.spawnProcess(name: "t")
        let a = k.mapUser(pid, [1, 2, 3])
        #expect(k.unmapUser(pid, a))
        #expect(!k.unmapUser(pid, a))
        let b = k.mapUser(pid, [4])
        #expect(b > a)
        #expect(throws: Errno.badAddress) { try k.readUser(pid, a, count: 1) }
        #expect(try k.readUser(pid, b, count: 1) == [4])
    }
}
