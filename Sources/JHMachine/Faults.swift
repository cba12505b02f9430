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
public struct FaultRule: Hashable, Sendable, Codable, CustomStringConvertible {
    public var site: String
    public var cpu: CPUID?
    public var detail: String?
    /// 1-based hit number among hits that match this rule; nil fails every matching hit.
    public var nth: Int?
    public var errno: Errno

    public init(site: String, cpu: CPUID? = nil, detail: String? = nil, nth: Int? = nil, errno: Errno) {
        self.site = site; self.cpu = cpu; self.detail = detail; self.nth = nth; self.errno = errno
    }

    func matches(_ s: FaultSite) -> Bool {
        s.name == site && (cpu == nil || s.cpu == cpu) && (detail == nil || s.detail == detail)
    }

    /// The CLI form, `cpu_down:cpu=3:nth=1:errno=EBUSY`.
    public var description: String {
        var s = site
        if let cpu { s += ":cpu=\(cpu)" }
        if let detail { s += ":state=\(detail)" }
        if let nth { s += ":nth=\(nth)" }
        s += ":errno=\(errno.name)"
        return s
    }
}

/// Why a fault rule could not be parsed; the message lists the valid choices.
public struct FaultRuleError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension FaultRule {
    /// Parses `SITE[:cpu=N][:state=S][:nth=N][:errno=E]` against a catalog of sites.
    public init(parsing text: String, catalog: [FaultSiteInfo]) throws(FaultRuleError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard let siteName = parts.first, !siteName.isEmpty else {
            throw FaultRuleError(message: "empty fault rule; expected SITE[:cpu=N][:state=S][:nth=N][:errno=E]")
        }
        guard let info = catalog.first(where: { $0.name == siteName }) else {
            let valid = catalog.map(\.name).joined(separator: ", ")
            throw FaultRuleError(message: "unknown fault site '\(siteName)'; valid sites: \(valid)")
        }
        var rule = FaultRule(site: siteName, errno: info.defaultErrno)
        for part in parts.dropFirst() {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else {
                throw FaultRuleError(message: "bad fault rule part '\(part)'; expected key=value with key cpu, state, nth or errno")
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
            case "state", "detail": rule.detail = kv[1]
            case "nth":
                guard let n = Int(kv[1]), n >= 1 else {
                    throw FaultRuleError(message: "bad nth '\(kv[1])' in fault rule; expected a number ≥ 1")
                }
                rule.nth = n
            case "errno":
                guard let e = Errno(name: kv[1]) else {
                    let valid = Errno.known.map(\.name).joined(separator: ", ")
                    throw FaultRuleError(message: "unknown errno '\(kv[1])'; valid: \(valid)")
                }
                rule.errno = e
            default:
                throw FaultRuleError(message: "unknown key '\(kv[0])' in fault rule; valid keys: cpu, state, nth, errno")
            }
        }
        self = rule
    }
}

/// The active fault plan and its deterministic hit counters.
///
/// With no rules, `check` is one branch on an empty array. Counters are per rule, so the
/// outcome depends only on the sequence of checked sites, never on timing.
public struct FaultInjector: Sendable, Codable {
    public private(set) var rules: [FaultRule] = []
    private var hits: [Int] = []
    /// Every site checked, with how often (for coverage of sweeps), keyed by name, in
    /// first-seen order.
    public private(set) var siteHits: [String: Int] = [:]
    /// When true, `siteHits` counts every check (costs a dictionary update per check).
    public var countsSites = false

    public init(rules: [FaultRule] = []) {
        self.rules = rules
        hits = Array(repeating: 0, count: rules.count)
    }

    public mutating func add(_ rule: FaultRule) {
        rules.append(rule)
        hits.append(0)
    }
    public mutating func removeAll() {
        rules.removeAll(); hits.removeAll()
    }

    /// The errno to fail this hit with, or nil to let it succeed.
    public mutating func decide(_ site: FaultSite) -> Errno? {
        if countsSites { siteHits[site.name, default: 0] += 1 }
        if rules.isEmpty { return nil }
        var verdict: Errno? = nil
        for i in rules.indices where rules[i].matches(site) {
            hits[i] += 1
            if verdict == nil, rules[i].nth == nil || rules[i].nth == hits[i] {
                verdict = rules[i].errno
            }
        }
        return verdict
    }
}
