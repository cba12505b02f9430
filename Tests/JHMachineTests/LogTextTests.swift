import Testing
@testable import JHMachine

/// Typed log lines render exactly what the interpolated text was, and measure it.
@Suite struct LogTextTests {
    static let offline = LogFormat("smpboot: CPU %d is now offline")
    static let booting = LogFormat("smpboot: Booting Node 0 Processor %d APIC 0x%x")
    static let pool = LogFormat("Page pool usage after cell creation: mem %d/%d, remap %d/%d\n")
    static let named = LogFormat("Created cell \"%s\" 100%%\n")

    @Test func typedLinesRenderAsTheInterpolatedText() {
        for cpu in [0, 1, 9, 10, 255, 1023, 4095] {
            #expect(LogLine(Self.offline, cpu).text == "smpboot: CPU \(cpu) is now offline")
            #expect(LogLine(Self.booting, cpu, cpu).text
                    == "smpboot: Booting Node 0 Processor \(cpu) APIC 0x\(String(cpu, radix: 16))")
        }
        #expect(LogLine(Self.pool, 1234, 65536, 1, 131072).text
                == "Page pool usage after cell creation: mem 1234/65536, remap 1/131072\n")
        #expect(LogLine(Self.named, string: "tiny-démo").text == "Created cell \"tiny-démo\" 100%\n")
        #expect(LogLine(Self.offline, -7).text == "smpboot: CPU -7 is now offline")
        #expect(LogLine(text: "plain %d text").text == "plain %d text")
    }

    @Test func measuredLengthIsTheRenderedLength() {
        let lines = [LogLine(Self.offline, 0), LogLine(Self.offline, Int.max), LogLine(Self.offline, Int.min),
                     LogLine(Self.booting, 4095, 4095), LogLine(Self.booting, 16, 16),
                     LogLine(Self.pool, 0, 9, 99, 100_000), LogLine(Self.named, string: "ü€"),
                     LogLine(text: ""), LogLine(text: "x"),
                     LogLine(LogFormat("50% done %q 100%% %"), 3),
                     LogLine(LogFormat("%d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %s"), 1, 22, 333, 4444, string: "many")]
        for l in lines {
            #expect(l.utf8Count == l.text.utf8.count, "\(l.text)")
            var bytes: [UInt8] = [1]
            l.append(to: &bytes)
            #expect(bytes == [1] + Array(l.text.utf8))
        }
    }
}
