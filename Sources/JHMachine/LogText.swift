/// A log line kept as typed facts: a format (a static template) plus up to four integer
/// arguments and one string the model already holds. Kernel printk records and the
/// hypervisor console store these, so logging on a hot path builds no text; the line is
/// rendered only when someone reads `dmesg` or the console.
///
/// Templates use `%d` (the next integer argument in decimal), `%x` (the next integer in
/// lowercase hexadecimal) and `%s` (the string argument); `%%` is a percent sign. Rendering
/// and measuring walk the template the same way, so the byte count a bounded ring trims
/// by is always the length of the text it would show.
public struct LogLine: Sendable {
    public var format: LogFormat
    public var a: Int, b: Int, c: Int, d: Int
    public var string: String

    @inline(__always)
    public init(_ format: LogFormat, _ a: Int = 0, _ b: Int = 0, _ c: Int = 0, _ d: Int = 0, string: String = "") {
        self.format = format
        self.a = a; self.b = b; self.c = c; self.d = d
        self.string = string
    }

    /// A line whose text was already built (rare paths: errors and warnings).
    @inline(__always)
    public init(text: String) { self.init(.text, string: text) }

    /// The rendered text.
    public var text: String {
        if format.isPlainText { return string }
        var out = ByteWriter()
        out.bytes.reserveCapacity(utf8Count)
        emit(into: &out)
        return String(decoding: out.bytes, as: UTF8.self)
    }

    /// The length of `text` in UTF-8 bytes, computed without building it (from the
    /// format's literal length and the width of each argument).
    public var utf8Count: Int {
        guard format.placeholders != LogFormat.unmeasured else {
            var n = ByteCounter()
            emit(into: &n)
            return n.count
        }
        var n = format.literalBytes
        var kinds = format.placeholders
        var next = 0
        while kinds != 0 {
            switch kinds & 0xf {
            case LogFormat.decimal, LogFormat.hex:
                let v: Int
                switch next { case 0: v = a; case 1: v = b; case 2: v = c; default: v = d }
                next += 1
                n += (v < 0 ? 1 : 0) + ByteCounter.digits(v.magnitude, radix: kinds & 0xf == LogFormat.decimal ? 10 : 16)
            default:
                n += string.utf8.count
            }
            kinds >>= 4
        }
        return n
    }

    /// Appends the rendered text to `bytes`.
    public func append(to bytes: inout [UInt8]) {
        var out = ByteWriter(bytes: bytes)
        bytes = []
        emit(into: &out)
        bytes = out.bytes
    }

    private func emit<Sink: LogSink>(into sink: inout Sink) {
        let args = (a, b, c, d)
        var next = 0
        func int() -> Int {
            defer { next += 1 }
            switch next { case 0: return args.0; case 1: return args.1; case 2: return args.2; default: return args.3 }
        }
        format.template.withUTF8Buffer { t in
            var i = 0
            while i < t.count {
                let ch = t[i]
                if ch == UInt8(ascii: "%"), i + 1 < t.count {
                    switch t[i + 1] {
                    case UInt8(ascii: "d"): sink.putDecimal(int()); i += 2; continue
                    case UInt8(ascii: "x"): sink.putHex(int()); i += 2; continue
                    case UInt8(ascii: "s"): sink.put(string); i += 2; continue
                    case UInt8(ascii: "%"): sink.put(UInt8(ascii: "%")); i += 2; continue
                    default: break
                    }
                }
                sink.put(ch)
                i += 1
            }
        }
    }
}

/// The template of a `LogLine`: a static string, so choosing a format copies no text.
public struct LogFormat: Sendable {
    public let template: StaticString
    /// Bytes of the template that are copied as they are.
    let literalBytes: Int
    /// The placeholders in order, four bits each from the low end (`decimal`, `hex`,
    /// `string`); `unmeasured` when there are more than fit.
    let placeholders: UInt64
    let isPlainText: Bool

    static let decimal: UInt64 = 1, hex: UInt64 = 2, string: UInt64 = 3
    static let unmeasured = UInt64.max

    public init(_ template: StaticString) {
        self.template = template
        var literal = 0, kinds: UInt64 = 0, count = 0
        template.withUTF8Buffer { t in
            var i = 0
            while i < t.count {
                if t[i] == UInt8(ascii: "%"), i + 1 < t.count {
                    let kind: UInt64?
                    switch t[i + 1] {
                    case UInt8(ascii: "d"): kind = Self.decimal
                    case UInt8(ascii: "x"): kind = Self.hex
                    case UInt8(ascii: "s"): kind = Self.string
                    case UInt8(ascii: "%"): kind = nil; literal += 1
                    default: kind = nil; literal += 2
                    }
                    if let kind {
                        if count < 15 { kinds |= kind << (4 * UInt64(count)) }
                        count += 1
                    }
                    i += 2
                } else {
                    literal += 1
                    i += 1
                }
            }
        }
        literalBytes = literal
        placeholders = count < 15 ? kinds : Self.unmeasured
        isPlainText = literal == 0 && count == 1 && kinds == Self.string
    }

    /// A line already rendered (its string argument is the whole text).
    public static let text = LogFormat("%s")
}

/// Where `LogLine` writes its text: a byte buffer, or a counter.
protocol LogSink {
    mutating func put(_ byte: UInt8)
    mutating func put(_ string: String)
    mutating func putDecimal(_ v: Int)
    mutating func putHex(_ v: Int)
}

struct ByteWriter: LogSink {
    var bytes: [UInt8] = []
    mutating func put(_ byte: UInt8) { bytes.append(byte) }
    mutating func put(_ string: String) { bytes.append(contentsOf: string.utf8) }
    mutating func putDecimal(_ v: Int) {
        if v < 0 { bytes.append(UInt8(ascii: "-")) }
        putDigits(v.magnitude, radix: 10)
    }
    mutating func putHex(_ v: Int) {
        if v < 0 { bytes.append(UInt8(ascii: "-")) }
        putDigits(v.magnitude, radix: 16)
    }
    private mutating func putDigits(_ m: UInt, radix: UInt) {
        let start = bytes.count
        var m = m
        repeat {
            let digit = UInt8(m % radix)
            bytes.append(digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10)
            m /= radix
        } while m > 0
        bytes[start...].reverse()
    }
}

struct ByteCounter: LogSink {
    var count = 0
    mutating func put(_ byte: UInt8) { count += 1 }
    mutating func put(_ string: String) { count += string.utf8.count }
    mutating func putDecimal(_ v: Int) { count += (v < 0 ? 1 : 0) + Self.digits(v.magnitude, radix: 10) }
    mutating func putHex(_ v: Int) { count += (v < 0 ? 1 : 0) + Self.digits(v.magnitude, radix: 16) }
    static func digits(_ m: UInt, radix: UInt) -> Int {
        var m = m, n = 1
        while m >= radix { m /= radix; n += 1 }
        return n
    }
}
