import JHABI

/// One place where a primitive can fail: a site name, and the CPU it concerns (if any)
/// and a detail such as the hotplug state, so rules can aim precisely.
///
/// Layers declare their sites as static constructors in extensions
/// (`FaultSite.cpuDown(cpu:state:)`) and list them in a `FaultSiteInfo` catalog.
public struct FaultSite: Hashable, Sendable, Codable, CustomStringConvertible {
    public var name: String
    public var cpu: CPUID?
    public var detail: String?
    public init(_ name: String, cpu: CPUID? = nil, detail: String? = nil) {
        self.name = name; self.cpu = cpu; self.detail = detail
    }
    public var description: String {
        var s = name
        if let cpu { s += ":cpu=\(cpu)" }
        if let detail { s += ":\(detail)" }
        return s
    }
}

/// A catalog entry: what a site means and which errnos make sense there.
public struct FaultSiteInfo: Hashable, Sendable {
    public var name: String
    public var layer: TraceLayer
    public var meaning: String
    /// The errno a rule uses when it names none.
    public var defaultErrno: Errno
    /// Whether hits carry a CPU number, so `cpu=` filters apply.
    public var perCPU: Bool
    /// Every detail (`state=`) a hit of this site can carry, when that set is fixed (the
    /// hotplug states); nil when details are open-ended (kmalloc tags, sysfs paths).
    /// A rule naming another detail could never fire, so it is refused.
    public var details: [String]?
    public init(name: String, layer: TraceLayer, meaning: String, defaultErrno: Errno, perCPU: Bool = false,
                details: [String]? = nil) {
        self.name = name; self.layer = layer; self.meaning = meaning
        self.defaultErrno = defaultErrno; self.perCPU = perCPU; self.details = details
    }
}

/// One injection rule: "fail the Nth hit of site S (for CPU c, at detail d) with errno E",
/// or every hit when `nth` is nil.
///
/// Optional refinements, for fault campaigns: `after` lets the first N matching hits
/// pass, `count` caps how many hits the rule fails, and `prob` fails each eligible hit
/// only with probability P, drawn from the injector's own seeded generator.
public struct FaultRule: Hashable, Sendable, Codable, CustomStringConvertible {
    public var site: String
    public var cpu: CPUID?
    public var detail: String?
    /// 1-based hit number among hits that match this rule; nil fails every matching hit.
    public var nth: Int?
    public var errno: Errno
    /// Each eligible hit fails with this probability (0 < P ≤ 1); nil means always.
    public var prob: Double?
    /// The first `after` matching hits always pass.
    public var after: Int?
    /// At most `count` hits fail because of this rule.
    public var count: Int?

    public init(site: String, cpu: CPUID? = nil, detail: String? = nil, nth: Int? = nil, errno: Errno,
                prob: Double? = nil, after: Int? = nil, count: Int? = nil) {
        self.site = site; self.cpu = cpu; self.detail = detail; self.nth = nth; self.errno = errno
        self.prob = prob; self.after = after; self.count = count
    }

    func matches(_ s: FaultSite) -> Bool {
        s.name == site && (cpu == nil || s.cpu == cpu) && (detail == nil || s.detail == detail)
    }

    /// Whether the `hit`-th matching hit may fail, given how often the rule already fired
    /// (before any probability draw).
    func eligible(hit: Int, fired: Int) -> Bool {
        (nth == nil || nth == hit) && (after.map { hit > $0 } ?? true) && (count.map { fired < $0 } ?? true)
    }

    /// The CLI form, `cpu_down:cpu=3:nth=1:errno=EBUSY`; parsing it gives the rule back.
    public var description: String {
        var s = site
        if let cpu { s += ":cpu=\(cpu)" }
        if let detail { s += ":state=\(detail)" }
        if let nth { s += ":nth=\(nth)" }
        if let after { s += ":after=\(after)" }
        if let count { s += ":count=\(count)" }
        // Swift prints the shortest text that reads back as the same Double.
        if let prob { s += ":prob=\(prob)" }
        s += ":errno=\(errno.name)"
        return s
    }
}

/// Why a fault rule could not be parsed; the message lists the valid choices.
public struct FaultRuleError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

extension FaultRule {
    /// The keys a rule may carry after its site.
    public static let keys = "cpu, state, nth, after, count, prob, errno"
    /// The largest `nth`, `after` or `count` a rule accepts (far beyond any run's hits).
    public static let maxCount = 1_000_000_000

    /// Parses `SITE[:cpu=N][:state=S][:nth=N][:after=N][:count=N][:prob=P][:errno=E]`
    /// against a catalog of sites.
    public init(parsing text: String, catalog: [FaultSiteInfo]) throws(FaultRuleError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard let siteName = parts.first, !siteName.isEmpty else {
            throw FaultRuleError(message: "empty fault rule; expected SITE[:cpu=N][:state=S][:nth=N][:after=N][:count=N][:prob=P][:errno=E]")
        }
        guard let info = catalog.first(where: { $0.name == siteName }) else {
            let valid = catalog.map(\.name).joined(separator: ", ")
            throw FaultRuleError(message: "unknown fault site '\(siteName)'; valid sites: \(valid)")
        }
        var rule = FaultRule(site: siteName, errno: info.defaultErrno)
        var seen: Set<String> = []
        /// A whole number in min…maxCount, with an error that says which bound was missed.
        func count(_ key: String, _ v: String, min: Int) throws(FaultRuleError) -> Int {
            guard !v.isEmpty, v.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw FaultRuleError(message: "bad \(key) '\(v)' in fault rule; expected a number ≥ \(min)")
            }
            guard let n = Int(v), n <= Self.maxCount else {
                throw FaultRuleError(message: "\(key) '\(v)' in fault rule is too large; at most \(Self.maxCount)")
            }
            guard n >= min else { throw FaultRuleError(message: "bad \(key) '\(v)' in fault rule; expected a number ≥ \(min)") }
            return n
        }
        for part in parts.dropFirst() {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else {
                throw FaultRuleError(message: "bad fault rule part '\(part)'; expected key=value with key \(Self.keys)")
            }
            let key = kv[0] == "detail" || kv[0] == "nr" ? "state" : kv[0]
            guard !seen.contains(key) else {
                throw FaultRuleError(message: "fault rule '\(text)' gives \(key)= twice; a rule takes each key once")
            }
            seen.insert(key)
            switch kv[0] {
            case "cpu":
                guard let c = Int(kv[1]), c >= 0, c < 4096 else {
                    throw FaultRuleError(message: "bad cpu '\(kv[1])' in fault rule; expected 0…4095")
                }
                guard info.perCPU else {
                    throw FaultRuleError(message: "fault site '\(siteName)' does not concern a CPU; drop cpu=")
                }
                rule.cpu = c
            // `nr=` reads better for the hypercall site (`hypercall:nr=CELL_CREATE`).
            case "state", "detail", "nr":
                if let valid = info.details, !valid.contains(kv[1]) {
                    throw FaultRuleError(message: "fault site '\(siteName)' is never hit with state '\(kv[1])'; valid: \(valid.joined(separator: ", "))")
                }
                rule.detail = kv[1]
            case "nth": rule.nth = try count("nth", kv[1], min: 1)
            case "after": rule.after = try count("after", kv[1], min: 0)
            case "count": rule.count = try count("count", kv[1], min: 1)
            case "prob":
                guard let p = Double(kv[1]), p.isFinite, p > 0, p <= 1 else {
                    throw FaultRuleError(message: "bad prob '\(kv[1])' in fault rule; expected a probability 0 < P ≤ 1 (e.g. 0.25)")
                }
                rule.prob = p
            case "errno":
                guard let e = Errno(name: kv[1]) else {
                    let valid = Errno.known.map(\.name).joined(separator: ", ")
                    throw FaultRuleError(message: "unknown errno '\(kv[1])'; valid: \(valid)")
                }
                rule.errno = e
            default:
                throw FaultRuleError(message: "unknown key '\(kv[0])' in fault rule; valid keys: \(Self.keys)")
            }
        }
        self = rule
    }
}

/// The active fault plan and its deterministic hit counters.
///
/// With no rules, `check` is one branch on an empty array. Counters are per rule, so the
/// outcome depends only on the sequence of checked sites, never on timing. Each `prob=`
/// rule draws from its own generator, seeded from the injector's seed and the rule's text
/// (and how many identical rules precede it), so adding, removing or reordering another
/// rule never shifts its stream; it is drawn only at a hit the rule is eligible for.
public struct FaultInjector: Sendable, Codable {
    public private(set) var rules: [FaultRule] = []
    /// How many hits matched each rule so far (eligible or not), by rule index: a rule
    /// that ends a run with 0 here was never reached.
    public private(set) var matched: [Int] = []
    /// How many hits each rule has failed so far, by rule index.
    public private(set) var fired: [Int] = []
    /// For each rule, the matching-hit numbers (1-based, as `nth=` counts) it failed: a
    /// `prob=` rule's failures rewritten as deterministic `nth=` rules.
    public private(set) var firedAt: [[Int]] = []
    /// Every hit that was failed, in order (by any rule): what checkers ask instead of
    /// reading the trace.
    public private(set) var injections: [FaultSite] = []
    /// The generators of `prob=` draws, one per rule.
    private var streams: [SplitMix64] = []
    /// The seed every rule's stream derives from (the run's seed).
    public let seed: UInt64
    /// Every site checked, with how often (for coverage of sweeps), keyed by name.
    public private(set) var siteHits: [String: Int] = [:]
    /// Every site checked, in order, while `countsSites` is on (sweeps derive their
    /// per-CPU and per-detail counts from it).
    public private(set) var checkedSites: [FaultSite] = []
    /// When true, `siteHits` and `checkedSites` record every check (costs a dictionary
    /// update per check).
    public var countsSites = false

    /// - Parameter seed: seeds the generators of `prob=` rules (a fault plan's run seed).
    public init(rules: [FaultRule] = [], seed: UInt64 = 0) {
        self.seed = seed
        for r in rules { add(r) }
    }

    /// Whether a check can do anything: a rule to match, or sites to count.
    public var isArmed: Bool { countsSites || !rules.isEmpty }

    public mutating func add(_ rule: FaultRule) {
        let twins = rules.filter { $0 == rule }.count
        streams.append(Self.stream(seed: seed, rule: rule, occurrence: twins))
        rules.append(rule)
        matched.append(0)
        fired.append(0)
        firedAt.append([])
    }
    public mutating func removeAll() { removeLast(rules.count) }
    /// Drops the last `k` rules with their counters (a command's own rules appended to a
    /// plan that stays armed across commands).
    public mutating func removeLast(_ k: Int) {
        let k = min(max(k, 0), rules.count)
        rules.removeLast(k); matched.removeLast(k); fired.removeLast(k); firedAt.removeLast(k); streams.removeLast(k)
    }

    /// The `prob=` generator of a rule: the run's seed mixed with a stable 64-bit FNV-1a
    /// hash of the rule's text and its occurrence among identical rules.
    static func stream(seed: UInt64, rule: FaultRule, occurrence: Int) -> SplitMix64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in "\(rule.description)#\(occurrence)".utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        var mix = SplitMix64(seed: seed ^ h)
        return SplitMix64(seed: mix.next())
    }

    /// The errno to fail this hit with, or nil to let it succeed.
    public mutating func decide(_ site: FaultSite) -> Errno? {
        if countsSites {
            siteHits[site.name, default: 0] += 1
            checkedSites.append(site)
        }
        if rules.isEmpty { return nil }
        var verdict: Errno? = nil
        for i in rules.indices where rules[i].matches(site) {
            matched[i] += 1
            guard verdict == nil, rules[i].eligible(hit: matched[i], fired: fired[i]) else { continue }
            if let p = rules[i].prob, p < 1 {
                // 53 random bits give a uniform Double in [0, 1).
                let u = Double(streams[i].next() >> 11) * 0x1p-53
                guard u < p else { continue }
            }
            fired[i] += 1
            firedAt[i].append(matched[i])
            injections.append(site)
            verdict = rules[i].errno
        }
        return verdict
    }
}
