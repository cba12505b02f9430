/// Why a configuration image could not be decoded or built.
///
/// Mirrors no single C type: upstream reports these as `-EINVAL` from the driver, or as a
/// Python exception from `pyjailhouse/config_parser.py`. Here every error names the struct,
/// the field and the byte offset so a reader can find the byte in a hex dump.
public struct ConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The C struct (or array) being read, in words: "cell descriptor", "memory region 3".
    public var structName: String
    /// The C field name, e.g. `revision`, `num_memory_regions`.
    public var field: String
    /// Absolute byte offset of the field in the file, when there is one.
    public var offset: Int?
    /// The complete sentence after the struct name, e.g.
    /// `revision 13 at offset 6, expected 14 (…)`.
    public var message: String

    public init(structName: String, field: String, offset: Int?, message: String) {
        self.structName = structName
        self.field = field
        self.offset = offset
        self.message = message
    }

    /// `cell descriptor: revision 13 at offset 6, expected 14 (…)`. The caller prefixes
    /// the file name.
    public var description: String { "\(structName): \(message)" }
}
