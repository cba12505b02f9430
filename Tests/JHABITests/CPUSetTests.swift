import Testing
@testable import JHABI

@Suite struct CPUSetTests {
    @Test func rangeListMatchesLinuxPbl() {
        #expect(CPUSet([0, 2, 3]).rangeList == "0,2-3")
        #expect(CPUSet([2]).rangeList == "2")
        #expect(CPUSet([0, 1]).rangeList == "0-1")
        #expect(CPUSet().rangeList == "")
        #expect(CPUSet(range: 0..<1024).rangeList == "0-1023")
    }

    @Test func hexMaskMatchesLinuxPb() {
        #expect(CPUSet([2, 3]).hexMask(nrCPUIDs: 4) == "c")
        #expect(CPUSet().hexMask(nrCPUIDs: 4) == "0")
        #expect(CPUSet([0, 1]).hexMask(nrCPUIDs: 8) == "03")
        #expect(CPUSet([2, 3]).hexMask(nrCPUIDs: 64) == "00000000,0000000c")
        #expect(CPUSet([32]).hexMask(nrCPUIDs: 40) == "01,00000000")
    }

    @Test func bitmapRoundTrips() {
        let s = CPUSet([1, 2, 3, 9, 63, 64, 100])
        #expect(CPUSet(bitmap: s.bitmap(byteCount: 16)) == s)
        #expect(CPUSet(bitmap: [0x0c] + [UInt8](repeating: 0, count: 7)) == [2, 3])
        #expect(s.bitmap(byteCount: 1) == [0x0e])
    }

    @Test func setAlgebraIteratesAscending() {
        let a: CPUSet = [0, 1, 2, 3]
        let b: CPUSet = [2, 3, 70]
        #expect(Array(a.union(b)) == [0, 1, 2, 3, 70])
        #expect(a.subtracting(b) == [0, 1])
        #expect(a.intersection(b) == [2, 3])
        #expect(!b.isSubset(of: a))
        #expect(CPUSet([2, 3]).isSubset(of: a))
        #expect(b.count == 3 && b.first == 2 && b.last == 70)
        var c = b
        c.remove(70)
        #expect(c == [2, 3] && c.words.count == 1)
    }

    @Test func rangeListParsesAndRejects() {
        #expect(CPUSet(rangeList: "0,2-3") == [0, 2, 3])
        #expect(CPUSet(rangeList: "") == CPUSet())
        #expect(CPUSet(rangeList: "3-1") == nil)
        #expect(CPUSet(rangeList: "a") == nil)
        #expect(CPUSet(rangeList: "-1") == nil)
    }
}

@Suite struct ErrnoTests {
    @Test func numericErrnosBeyondMaxErrnoAreRejected() {
        #expect(Errno(name: "4095") == Errno(rawValue: 4095))
        #expect(Errno(name: "4096") == nil)
        #expect(Errno(name: "99999") == nil)
        #expect(Errno(name: "0") == nil)
        #expect(Errno(name: "-5") == nil)
    }

    @Test func namesAndValuesAreLinux() {
        #expect(Errno.busy.rawValue == 16 && Errno.busy.name == "EBUSY")
        #expect(Errno.tooBig.rawValue == 7 && Errno.noSys.rawValue == 38)
        #expect(Errno(name: "einval") == .invalidArgument)
        #expect(Errno(name: "22") == .invalidArgument)
        #expect(Errno(name: "EWHAT") == nil)
        #expect(Errno.fromReturn(-16) == .busy)
        #expect(Errno.fromReturn(0) == nil)
        #expect(Errno.busy.message == "Device or resource busy")
    }

    @Test func catchByPattern() {
        func fail() throws { throw Errno.interrupted }
        do { try fail() } catch Errno.interrupted { return } catch { Issue.record("wrong error") }
        Issue.record("no error")
    }

    @Test func ioctlNumbersMatchX86() {
        #expect(IoctlCommand.cellCreate.rawValue == 0x4010_0002)
        #expect(IoctlCommand.cellDestroy.name == "JAILHOUSE_CELL_DESTROY")
        #expect(CellState(rawValue: 9).sysfsText == "invalid")
    }
}

@Suite struct CPUSetWordOperationTests {
    @Test func rangesAndInPlaceOperationsAgreeWithElementwiseOnes() {
        for (lo, hi) in [(0, 0), (0, 1), (0, 64), (3, 130), (64, 128), (63, 65), (100, 4096), (5, 5)] {
            #expect(CPUSet(range: lo..<hi) == CPUSet(Array(lo..<hi)), "\(lo)..<\(hi)")
        }
        let a = CPUSet([1, 5, 64, 200]), b = CPUSet([5, 200, 300])
        var u = a; u.formUnion(b)
        #expect(u == CPUSet([1, 5, 64, 200, 300]))
        var d = b; d.subtract(a)
        #expect(d == CPUSet([300]) && d.words.count == 5)
        var e = CPUSet([300]); e.subtract(CPUSet([300]))
        #expect(e.isEmpty && e == CPUSet())
        #expect(CPUSet([5, 200]).isSubset(of: b) && !a.isSubset(of: b) && CPUSet().isSubset(of: a))
        #expect(!a.isDisjoint(with: b) && CPUSet([2, 400]).isDisjoint(with: a))
    }
}
