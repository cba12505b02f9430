// libFuzzer entry for the revision-14 config decoder (see Docs/fuzzing.md).
//
// Not part of the package: scripts/fuzz-config.sh compiles this file together with
// Sources/JHABI/*.swift and the binary-format files of Sources/JHConfig as one module
// (SwiftPM executables cannot host a libFuzzer main), so there is no `import JHConfig`.

/// Feeds one input to everything that reads untrusted config bytes: the size formula,
/// the decoders, the checker and the text listing. Whatever decodes must re-encode to
/// the bytes it came from; a mismatch is reported as a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func configFuzzOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes: [UInt8] = start.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
    _ = try? CellConfig.computedSize(ofHeader: bytes)
    _ = try? SystemConfig.computedSize(ofHeader: bytes)
    _ = try? CellConfig.decode(bytes)
    _ = try? SystemConfig.decode(bytes)
    let (config, findings) = ConfigChecker.check(file: "fuzz", bytes: bytes)
    if let config {
        let image = config.encode()
        if image != Array(bytes.prefix(image.count)) || image.count > bytes.count {
            fatalError("round trip changed the bytes (\(bytes.count) in, \(image.count) out)")
        }
        _ = ConfigText.render(config)
    } else if findings.first?.severity != .error {
        fatalError("undecodable input without an error finding")
    }
    return 0
}
