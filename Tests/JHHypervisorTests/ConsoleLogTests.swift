import Testing
import JHMachine
@testable import JHHypervisor

/// The console keeps typed lines and putc bytes and shows exactly the newest bytes a
/// byte ring of the same capacity would.
@Suite struct ConsoleLogTests {
    @Test func showsTheNewestCapacityBytesOfEverythingWritten() {
        let format = LogFormat("Closing cell \"%s\" #%d\n")
        for capacity in [1, 7, 64, 1000] {
            var log = ConsoleLog(capacity: capacity)
            var reference: [UInt8] = []
            for i in 0 ..< 400 {
                if i % 3 == 0 {
                    for c in "out \(i)\n".utf8 { log.putc(c); reference.append(c) }
                } else {
                    let line = LogLine(format, i, string: i % 2 == 0 ? "tiny-demo" : "a")
                    log.append(line)
                    reference += Array(line.text.utf8)
                }
                #expect(log.text == String(decoding: reference.suffix(capacity), as: UTF8.self), "capacity \(capacity) step \(i)")
            }
        }
    }

    @Test func putcBytesAreKeptAsBytes() {
        var log = ConsoleLog(capacity: 16)
        for b: UInt8 in [0xc3, 0xa9, 0x21] { log.putc(b) }
        #expect(log.text == "é!")
    }
}
