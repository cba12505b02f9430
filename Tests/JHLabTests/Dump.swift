import Foundation
import Testing
@testable import JHLab

@Test func dumpArtifacts() {
    guard ProcessInfo.processInfo.environment["JHSIM_DUMP"] != nil else { return }
    let lab = TestLab()
    let d = lab.run("demo")
    _ = FileManager.default.createFile(atPath: "/tmp/demo.txt", contents: Data(d.stdout.utf8))
    lab.ok("lab init")
    lab.ok("enable")
    lab.ok("cell create tiny-demo")
    lab.ok("cell start tiny-demo")
    _ = lab.run("cell create linux-x86-demo")
    _ = lab.run("cell create apic-demo --fault cpu_down:cpu=3:errno=EIO")
    lab.ok("cell create apic-demo")
    lab.ok("cell destroy tiny-demo")
    lab.ok("draw timeline -o /tmp/t.svg")
    lab.ok("trace --chrome /tmp/t.json")
    let t = lab.ok("trace --all --explain").stdout
    _ = FileManager.default.createFile(atPath: "/tmp/trace.txt", contents: Data(t.utf8))
}
