import Foundation
import Testing
@testable import JHLab

/// `jhsim draw html`: the page's data in-process, and the page itself in a real headless
/// browser (Debian's chromium, installed by scripts/setup-browser.sh; skipped without it).
@Suite(.serialized) struct ExplorerTests {
    /// A lab with a refusal, a consent, an injected fault and a failed hypercall.
    static func lab() -> TestLab {
        let lab = TestLab(factory: .standard)
        for c in ["lab init --executor inline", "enable", "cell create tiny-demo", "cell start tiny-demo",
                  "cell create linux-x86-demo", "cell destroy tiny-demo",
                  "cell create linux-x86-demo --fault cpu_down:cpu=3:nth=1:errno=EBUSY",
                  "cpu offline 2", "cell create smp-demo --fault hypercall:nr=CELL_CREATE", "cell create apic-demo"] {
            lab.run(c)
        }
        return lab
    }

    @Test func thePageIsSelfContainedAndCarriesEveryStep() throws {
        guard standardBoxAvailable else { return }
        let lab = Self.lab()
        let r = lab.run("draw html")
        #expect(r.status == 0)
        let html = r.stdout
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        // No network: no external script, stylesheet, font or image.
        for bad in ["<script src", "<link", "@import", "url(http", "src=\"http", "href=\"http"] {
            #expect(!html.contains(bad), "the page must not load \(bad)")
        }
        #expect(html.components(separatedBy: "\"fault\":true").count - 1 == 2, "both injected faults are steps")
        #expect(html.contains("class=\"fault\" d=\"M"), "faults are marked on the lanes")
        #expect(html.contains("hypervisor: parks CPU 2"))
        #expect(html.contains("\"mirrors\":\"remove_cpu (kernel/cpu.c)\""))
        lab.ok("draw html -o lab.html")
        #expect(lab.read("lab.html") == html)
        #expect(lab.run("draw html --fault kmalloc").status == 1)
    }

    @Test func theStateAfterEachStepFollowsTheTrace() throws {
        guard standardBoxAvailable else { return }
        let lab = Self.lab()
        let store = LabStore(directory: lab.dir + "/.jhsim")
        let (session, _) = try lab.runner.loadSession(store)
        let steps = Explorer.steps(session)
        #expect(steps.count == session.records.reduce(0) { $0 + Int($1.endSeq - $1.firstSeq) })
        // While tiny-demo exists its CPU is parked, then running; offlined_cpus holds 2.
        let created = try #require(steps.firstIndex { $0.event.layer == .driver && $0.event.op == "cell_register" && $0.event.detail.contains("tiny-demo") })
        #expect(steps[created].after.cpus[2].label == "cell 1 tiny-demo (parked)")
        #expect(steps[created].after.offlined.rangeList == "2")
        #expect(steps[created].after.cells.map(\.name) == ["QEMU-VM", "tiny-demo"])
        let started = try #require(steps.lastIndex { $0.command == 2 })
        #expect(steps[started].after.cpus[2].label == "cell 1 tiny-demo")
        #expect(steps[started].after.cells.last?.state == "running")
        // At the end of every command the lanes agree with `jhsim cpus` then.
        for r in session.records {
            let last = try #require(steps.last { $0.command == r.index })
            for s in r.cpusAfter { #expect(last.after.cpus[s.cpu].online == s.online && last.after.cpus[s.cpu].owner == s.owner) }
        }
        // The admin's CPU 2 is offline in the root cell after `cpu offline 2`.
        let offline = try #require(steps.last { $0.command == 6 })
        #expect(offline.after.cpus[2].label == "root cell (offline)")
        #expect(offline.after.offlined.isEmpty)
    }

    static let browser: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs the browser headless on `url`; returns (stdout, stderr).
    static func browse(_ args: [String], _ url: String) throws -> (String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: browser!)
        p.arguments = ["--headless", "--disable-gpu", "--no-sandbox", "--enable-logging=stderr", "--v=0",
                       "--no-first-run", "--allow-file-access-from-files"] + args + [url]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        // Read both pipes while the browser runs, so a full pipe never blocks it.
        nonisolated(unsafe) var errData = Data()
        let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while !reader.isFinished { usleep(10_000) }
        return (String(decoding: o, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    /// Console messages the page logged (chromium prints them as `INFO:CONSOLE…`).
    static func consoleLines(_ stderr: String) -> [String] {
        stderr.split(separator: "\n").map(String.init).filter { $0.contains(":CONSOLE") }
    }

    static func attribute(_ name: String, in dom: String) -> String? {
        guard let r = dom.range(of: " \(name)=\"") else { return nil }
        return String(dom[r.upperBound...].prefix { $0 != "\"" })
    }

    static func element(_ id: String, in dom: String) -> String? {
        guard let r = dom.range(of: "id=\"\(id)\">") else { return nil }
        return String(dom[r.upperBound...].prefix { $0 != "<" })
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    @Test func thePageRunsInAHeadlessBrowserAndSteppingChangesWhatItShows() throws {
        guard standardBoxAvailable else { return }
        guard Self.browser != nil else {
            print("ExplorerTests: skipped the browser check: no chromium (run scripts/setup-browser.sh as root)")
            return
        }
        let lab = Self.lab()
        lab.ok("draw html -o lab.html")
        let file = "file://" + lab.dir + "/lab.html"
        let store = LabStore(directory: lab.dir + "/.jhsim")
        let (session, _) = try lab.runner.loadSession(store)
        let steps = Explorer.steps(session)
        let fault = try #require(steps.firstIndex { $0.event.layer == .fault })
        var shown: [String] = []
        for i in [0, fault] {
            let (dom, stderr) = try Self.browse(["--dump-dom"], file + "#step=\(i)")
            #expect(Self.consoleLines(stderr).isEmpty, "console output: \(Self.consoleLines(stderr))")
            #expect(Self.attribute("data-ready", in: dom) == "yes", "the page's script ran to the end")
            #expect(Self.attribute("data-error", in: dom) == nil)
            #expect(Self.attribute("data-current-step", in: dom) == String(i))
            let text = try #require(Self.element("stepText", in: dom))
            var expected = Narration.explain(steps[i].event)
            if let r = expected.range(of: " [mirrors ", options: .backwards) { expected = String(expected[..<r.lowerBound]) }
            #expect(text == expected)
            shown.append(text)
            if i == fault {
                #expect(dom.contains("<div id=\"step\" class=\"fault\">"), "a fault step is marked")
                #expect(Self.element("offlined", in: dom) == steps[i].after.offlined.rangeList)
                #expect(dom.contains("<td>tiny-demo</td>") == false)
            }
        }
        #expect(shown[0] != shown[1], "stepping changes what is shown")
        // A screenshot for people to look at; the path is printed.
        let shot = (ProcessInfo.processInfo.environment["JHSIM_SCREENSHOT_DIR"] ?? lab.dir) + "/explorer.png"
        _ = try Self.browse(["--screenshot=\(shot)", "--window-size=1400,1000", "--hide-scrollbars"], file + "#step=\(fault)")
        let size = (try? FileManager.default.attributesOfItem(atPath: shot)[.size] as? Int) ?? 0
        #expect(size > 20_000, "screenshot at \(shot) has \(size) bytes")
        print("ExplorerTests: screenshot of the explorer at step \(fault): \(shot)")
    }
}
