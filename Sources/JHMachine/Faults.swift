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
    public init(name: String, layer: TraceLayer, meaning: String, defaultErrno: Errno, perCPU: Bool = false) {
        self.name = name; self.layer = layer; self.meaning = meaning
        self.defaultErrno = defaultErrno; self.perCPU = perCPU
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
        for part in parts.dropFirst() {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else {
                throw FaultRuleError(message: "bad fault rule part '\(part)'; expected key=value with key \(Self.keys)")
            }
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
            case "state", "detail", "nr": rule.detail = kv[1]
            case "nth":
                guard let n = Int(kv[1]), n >= 1 else {
                    throw FaultRuleError(message: "bad nth '\(kv[1])' in fault rule; expected a number ≥ 1")
                }
                rule.nth = n
            case "after":
                guard let n = Int(kv[1]), n >= 0 else {
                    throw FaultRuleError(message: "bad after '\(kv[1])' in fault rule; expected a number ≥ 0")
                }
                rule.after = n
            case "count":
                guard let n = Int(kv[1]), n >= 1 else {
                    throw FaultRuleError(message: "bad count '\(kv[1])' in fault rule; expected a number ≥ 1")
                }
                rule.count = n
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
/// outcome depends only on the sequence of checked sites, never on timing. `prob=` rules
/// draw from the injector's own generator, seeded apart from the machine's `rng`, so
/// adding a rule never shifts any other random stream; it is drawn only at a hit the
/// rule is eligible for.
public struct FaultInjector: Sendable, Codable {
    public private(set) var rules: [FaultRule] = []
    private var hits: [Int] = []
    /// How many hits each rule has failed so far, by rule index.
    public private(set) var fired: [Int] = []
    /// The generator of `prob=` draws.
    public private(set) var rng: SplitMix64
    /// Every site checked, with how often (for coverage of sweeps), keyed by name.
    public private(set) var siteHits: [String: Int] = [:]
    /// Every site checked, in order, while `countsSites` is on (sweeps derive their
    /// per-CPU and per-detail counts from it).
    public private(set) var checkedSites: [FaultSite] = []
    /// When true, `siteHits` and `checkedSites` record every check (costs a dictionary
    /// update per check).
    public var countsSites = false

    /// - Parameter seed: seeds the generator of `prob=` rules (a fault plan's run seed).
    public init(rules: [FaultRule] = [], seed: UInt64 = 0) {
        self.rules = rules
        hits = Array(repeating: 0, count: rules.count)
        fired = Array(repeating: 0, count: rules.count)
        rng = SplitMix64(seed: seed)
    }

    /// Whether a check can do anything: a rule to match, or sites to count.
    public var isArmed: Bool { countsSites || !rules.isEmpty }

    public mutating func add(_ rule: FaultRule) {
        rules.append(rule)
        hits.append(0)
        fired.append(0)
    }
    public mutating func removeAll() {
        rules.removeAll(); hits.removeAll(); fired.removeAll()
    }
    /// Drops the last `k` rules with their counters (a command's own rules appended to a
    /// plan that stays armed across commands).
    public mutating func removeLast(_ k: Int) {
        let k = min(max(k, 0), rules.count)
        rules.removeLast(k); hits.removeLast(k); fired.removeLast(k)
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
            hits[i] += 1
            guard verdict == nil, rules[i].eligible(hit: hits[i], fired: fired[i]) else { continue }
            if let p = rules[i].prob, p < 1 {
                // 53 random bits give a uniform Double in [0, 1).
                let u = Double(rng.next() >> 11) * 0x1p-53
                guard u < p else { continue }
            }
            fired[i] += 1
            verdict = rules[i].errno
        }
        return verdict
    }
}
