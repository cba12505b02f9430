// libFuzzer entry for the driver path (see Docs/fuzzing.md, `make fuzz-driver`).
//
// Not part of the package: scripts/fuzz-driver.sh builds the layers up to JHDriver with
// coverage instrumentation (`swift build --target JHDriver -Xswiftc -sanitize=fuzzer`)
// and links this file against them. The work is `DriverFuzz.check` in JHDriver, which the
// test suite also calls as a plain function.
import JHDriver

#if canImport(Glibc)
import Glibc
#endif

/// The enabled box that inputs with the built-in system config share (libFuzzer calls
/// from one thread). A check that breaks on it is re-run on a fresh box before crashing.
let session = DriverFuzz.Session()

/// One input: crash with the broken check, so libFuzzer keeps the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func driverFuzzOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes: [UInt8] = start.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
    if let broken = DriverFuzz.check(bytes, session: session) {
        fatalError("driver fuzz: \(broken)")
    }
    return 0
}

/// With JHSIM_FUZZ_SEEDS=DIR set, writes the seed corpus (built from the built-in
/// configs at run time) into DIR and exits, so nothing generated is ever committed.
@_cdecl("LLVMFuzzerInitialize")
public func driverFuzzInitialize(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    guard let dir = getenv("JHSIM_FUZZ_SEEDS").map({ String(cString: $0) }) else { return 0 }
    for (i, seed) in DriverFuzz.seeds().enumerated() {
        let path = dir + "/seed-\(i)"
        guard let f = fopen(path, "wb") else { fatalError("cannot write \(path)") }
        _ = seed.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        fclose(f)
    }
    exit(0)
}
