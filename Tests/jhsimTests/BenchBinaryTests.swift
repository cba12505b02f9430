import Foundation
import Testing

/// `jhsim bench` as a user runs it: the real isatty decision and the real malloc counter.
@Suite struct BenchBinaryTests {
    @Test func churnJSONThroughPipesHasNoProgressAndCountsMallocs() throws {
        let d = JHSimProcess.tempDir()
        let r = try JHSimProcess.run(["bench", "churn", "--cycles", "4", "--executor", "inline", "--json"], in: d)
        #expect(r.status == 0, "\(r.stderr)")
        // stderr is a pipe, not a terminal: no progress bar at all.
        #expect(r.stderr.isEmpty)
        let j = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(j["cycles"] as? Int == 4)
        // The executable interposes malloc (unless built with a sanitizer, which says so).
        if let perCycle = j["mallocsPerCycle"] as? Double {
            #expect(perCycle > 0)
        } else {
            #expect((j["mallocsPerCycleReason"] as? String)?.contains("sanitizer") == true)
        }
    }

    @Test func progressBarAppearsOnATerminal() throws {
        // A pseudo-terminal by hand (posix_openpt and friends are not imported): open the
        // multiplexer, unlock the new pair (TIOCSPTLCK) and ask its number (TIOCGPTN).
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        try #require(master >= 0)
        defer { close(master) }
        // _IOW('T', 0x31, int) and _IOR('T', 0x30, unsigned int) of asm-generic/ioctls.h
        // (macros Swift does not import).
        let TIOCSPTLCK: UInt = 0x4004_5431, TIOCGPTN: UInt = 0x8004_5430
        var unlock: CInt = 0
        var number: CUnsignedInt = 0
        try #require(ioctl(master, TIOCSPTLCK, &unlock) == 0)
        try #require(ioctl(master, TIOCGPTN, &number) == 0)
        let slave = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY)
        try #require(slave >= 0)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: JHSimProcess.binary)
        p.arguments = ["bench", "churn", "--cycles", "3", "--executor", "inline"]
        p.currentDirectoryURL = URL(fileURLWithPath: JHSimProcess.tempDir())
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
        try p.run()
        close(slave)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        // Every slave descriptor is closed now: read what the terminal got, then EIO.
        var terminal = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(master, &buffer, buffer.count)
            if n <= 0 { break }
            terminal += buffer[0 ..< n]
        }
        let drawn = String(decoding: terminal, as: UTF8.self)
        #expect(drawn.contains("% ") && drawn.contains("cycles"), "terminal got: \(drawn.debugDescription)")
        // The table goes to stdout, never the bar.
        let table = String(decoding: stdout, as: UTF8.self)
        #expect(table.contains("cycles/s") && !table.contains("\r"))
    }
}
