import JHABI

/// A fault site's typed handle: a small dense integer the injector's arming table is
/// indexed by, plus the site's name (the rule vocabulary), its default errno and the Linux
/// fault attribute its failures belong to (what `verbose=` prints as `name`).
///
/// Layers declare one static handle per site (`FaultSiteKey.kmalloc`) and pass it to
/// `Machine.check`; with a plan armed, a check of a site no rule names costs one array
/// load, and no site value or detail text is built.
public struct FaultSiteKey: Hashable, Sendable, CustomStringConvertible {
    /// 0 ..< `capacity`, unique over every layer's catalog (a test keeps it so).
    public let id: Int
    public let name: String
    public let defaultErrno: Errno
    /// The Linux fault-injection capability (debugfs directory) a failure here belongs to:
    /// `failslab`, `fail_usercopy` or `fail_function`.
    public let attr: String

    /// How many site ids there can be (the arming table's size).
    public static let capacity = 64

    public init(_ id: Int, _ name: String, defaultErrno: Errno, attr: String = "fail_function") {
        precondition(id >= 0 && id < Self.capacity, "fault site id out of range")
        self.id = id; self.name = name; self.defaultErrno = defaultErrno; self.attr = attr
    }
    public var description: String { name }
    public static func == (a: FaultSiteKey, b: FaultSiteKey) -> Bool { a.id == b.id }
    public func hash(into h: inout Hasher) { h.combine(id) }
}

/// One place where a primitive can fail: a site name, and the CPU it concerns (if any)
/// and a detail such as the hotplug state, so rules can aim precisely.
///
/// Built only when a check is armed for the site. `id` (the handle) and `size` (bytes,
/// for `space=`) ride along but are not part of the site's identity or its coded form.
public struct FaultSite: Hashable, Sendable, Codable, CustomStringConvertible {
    public var name: String
    public var cpu: CPUID?
    public var detail: String?
    /// The handle's id; -1 for a site built from a name alone (tests, reports).
    public var id: Int = -1
    /// Bytes the hit concerns (kmalloc size, bytes copied); 0 when sizeless.
    public var size: Int = 0
    public init(_ name: String, cpu: CPUID? = nil, detail: String? = nil) {
        self.name = name; self.cpu = cpu; self.detail = detail
    }
    public init(_ key: FaultSiteKey, cpu: CPUID? = nil, detail: String? = nil, size: Int = 0) {
        self.name = key.name; self.cpu = cpu; self.detail = detail; self.id = key.id; self.size = size
    }
    enum CodingKeys: String, CodingKey { case name, cpu, detail }
    public static func == (a: FaultSite, b: FaultSite) -> Bool {
        a.name == b.name && a.cpu == b.cpu && a.detail == b.detail
    }
    public func hash(into h: inout Hasher) { h.combine(name); h.combine(cpu); h.combine(detail) }
    public var description: String {
        var s = name
        if let cpu { s += ":cpu=\(cpu)" }
        if let detail { s += ":\(detail)" }
        return s
    }
}

/// The process a check runs on behalf of (Linux's `current`), for `task=` rules and the
/// `verbose=2` report. Set by the system-call entry points of the layers above.
public struct FaultTask: Hashable, Sendable {
    public var pid: Int
    public var name: String
    public init(pid: Int, name: String) { self.pid = pid; self.name = name }
}

/// A catalog entry: what a site means and which errnos make sense there.
public struct FaultSiteInfo: Hashable, Sendable {
    public var key: FaultSiteKey
    public var name: String { key.name }
    public var layer: TraceLayer
    public var meaning: String
    /// The errno a rule uses when it names none.
    public var defaultErrno: Errno { key.defaultErrno }
    /// Whether hits carry a CPU number, so `cpu=` filters apply.
    public var perCPU: Bool
    /// Every detail (`state=`) a hit of this site can carry, when that set is fixed (the
    /// hotplug states); nil when details are open-ended (kmalloc tags, sysfs paths).
    /// A rule naming another detail could never fire, so it is refused.
    public var details: [String]?
    /// Whether hits carry a size in bytes, so `space=` applies (kmalloc, copy_from_user).
    public var sized: Bool
    public init(_ key: FaultSiteKey, layer: TraceLayer, meaning: String, perCPU: Bool = false,
                details: [String]? = nil, sized: Bool = false) {
        self.key = key; self.layer = layer; self.meaning = meaning
        self.perCPU = perCPU; self.details = details; self.sized = sized
    }
}

/// One injection rule: "fail the Nth hit of site S (for CPU c, at detail d) with errno E",
/// or every hit when `nth` is nil.
///
/// Optional refinements, for fault campaigns: `after` lets the first N matching hits
/// pass, `count` caps how many hits the rule fails, and `prob` fails each eligible hit
/// only with probability P, drawn from the injector's own seeded generator.
///
/// The Linux fault-injection attributes (Documentation/fault-injection/fault-injection.rst)
/// have their counterparts: `times` is `count`, `interval`, `space` (bytes), `task`
/// (task-filter with make-it-fail, by process name) and `verbose`; a rule of site
/// `FaultRule.anySite` (`fail_nth=N`) is `/proc/self/fail-nth`, counting every check.
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
    /// At most `count` hits fail because of this rule (Linux `times`).
    public var count: Int?
    /// Only every `interval`-th hit that passes the other tests may fail (Linux `interval`).
    public var interval: Int?
    /// A budget in bytes: hits pass, each spending its size, while the budget exceeds
    /// the hit's size (Linux `space`).
    public var space: Int?
    /// Only hits made on behalf of processes of this name (Linux `task-filter` with
    /// `/proc/PID/make-it-fail`).
    public var task: String?
    /// 1 reports each failure as Linux's `fail_dump` does; 2 adds the task line and the
    /// site in place of the call trace (Linux `verbose`).
    public var verbose: Int?
    /// For `fail_nth` rules without `errno=`: fail with the hit site's own default errno.
    public var siteErrno = false

    /// The site name of rules that match every site (`fail_nth=N`).
    public static let anySite = "*"

    public init(site: String, cpu: CPUID? = nil, detail: String? = nil, nth: Int? = nil, errno: Errno,
                prob: Double? = nil, after: Int? = nil, count: Int? = nil) {
        self.site = site; self.cpu = cpu; self.detail = detail; self.nth = nth; self.errno = errno
        self.prob = prob; self.after = after; self.count = count
    }

    /// A `fail_nth=N` rule: the Nth checked hit of any site fails, once (`/proc/self/fail-nth`).
    public static func failNth(_ n: Int, task: String? = nil) -> FaultRule {
        var r = FaultRule(site: anySite, nth: n, errno: .noMemory)
        r.task = task; r.siteErrno = true
        return r
    }

    public var isAnySite: Bool { site == Self.anySite }

    /// Whether the rule's site, CPU, detail and task filters accept a hit.
    func matches(_ s: FaultSite, detail d: String?, task t: FaultTask?) -> Bool {
        (cpu == nil || s.cpu == cpu) && (detail == nil || d == detail) && (task == nil || t?.name == task)
    }

    /// Whether the `hit`-th matching hit may fail, given how often the rule already fired
    /// (before the space, interval and probability tests).
    func eligible(hit: Int, fired: Int) -> Bool {
        (nth == nil || nth == hit) && (after.map { hit > $0 } ?? true) && (count.map { fired < $0 } ?? true)
    }

    /// The CLI form, `cpu_down:cpu=3:nth=1:errno=EBUSY`; parsing it gives the rule back.
    public var description: String {
        var s: String
        if isAnySite {
            s = "fail_nth=\(nth ?? 1)"
        } else {
            s = site
            if let cpu { s += ":cpu=\(cpu)" }
            if let detail { s += ":state=\(detail)" }
            if let nth { s += ":nth=\(nth)" }
        }
        if let task { s += ":task=\(task)" }
        if let after { s += ":after=\(after)" }
        if let count { s += ":count=\(count)" }
        if let interval { s += ":interval=\(interval)" }
        if let space { s += ":space=\(space)" }
        // Swift prints the shortest text that reads back as the same Double.
        if let prob { s += ":prob=\(prob)" }
        if let verbose { s += ":verbose=\(verbose)" }
        if !siteErrno { s += ":errno=\(errno.name)" }
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
    public static let keys = "cpu, state, nth, after, count (or times), interval, space, task, prob, verbose, errno"
    /// The largest `nth`, `after`, `count`, `interval` or `space` a rule accepts (far
    /// beyond any run's hits).
    public static let maxCount = 1_000_000_000
    static let usage = "SITE[:cpu=N][:state=S][:nth=N][:after=N][:count=N|:times=N][:interval=N][:space=BYTES][:task=NAME][:prob=P][:verbose=0|1|2][:errno=E], or fail_nth=N[:task=NAME][:verbose=V][:errno=E]"

    /// Parses `SITE[:key=value]…` (keys in `keys`) or `fail_nth=N[:key=value]…` against
    /// a catalog of sites.
    public init(parsing text: String, catalog: [FaultSiteInfo]) throws(FaultRuleError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard let head = parts.first, !head.isEmpty else {
            throw FaultRuleError(message: "empty fault rule; expected \(Self.usage)")
        }
        var rest = Array(parts.dropFirst())
        var rule: FaultRule
        var info: FaultSiteInfo? = nil
        if head.hasPrefix("fail_nth=") || head == "fail_nth" {
            // /proc/self/fail-nth: the Nth check of any site, whatever it is.
            rule = .failNth(1)
            let n = String(head.dropFirst("fail_nth=".count))
            guard head != "fail_nth", !n.isEmpty else {
                throw FaultRuleError(message: "fail_nth needs a number: fail_nth=N (N ≥ 1)")
            }
            rest.insert("nth=" + n, at: 0)
        } else {
            guard let found = catalog.first(where: { $0.name == head }) else {
                let valid = catalog.map(\.name).joined(separator: ", ")
                throw FaultRuleError(message: "unknown fault site '\(head)'; valid sites: \(valid), or fail_nth=N")
            }
            info = found
            rule = FaultRule(site: head, errno: found.defaultErrno)
        }
        let siteName = head
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
        for part in rest {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else {
                throw FaultRuleError(message: "bad fault rule part '\(part)'; expected key=value with key \(Self.keys)")
            }
            let key = kv[0] == "detail" || kv[0] == "nr" ? "state" : kv[0] == "times" ? "count" : kv[0]
            guard !seen.contains(key) else {
                throw FaultRuleError(message: "fault rule '\(text)' gives \(key)= twice; a rule takes each key once")
            }
            seen.insert(key)
            if rule.isAnySite, ["cpu", "state", "after", "count", "interval", "space", "prob"].contains(key) {
                throw FaultRuleError(message: "fail_nth rules take only task=, verbose= and errno=, not \(kv[0])= (like /proc/self/fail-nth, they fail one hit once)")
            }
            switch kv[0] {
            case "cpu":
                guard let c = Int(kv[1]), c >= 0, c < 4096 else {
                    throw FaultRuleError(message: "bad cpu '\(kv[1])' in fault rule; expected 0…4095")
                }
                guard info?.perCPU == true else {
                    throw FaultRuleError(message: "fault site '\(siteName)' does not concern a CPU; drop cpu=")
                }
                rule.cpu = c
            // `nr=` reads better for the hypercall site (`hypercall:nr=CELL_CREATE`).
            case "state", "detail", "nr":
                if let valid = info?.details, !valid.contains(kv[1]) {
                    throw FaultRuleError(message: "fault site '\(siteName)' is never hit with state '\(kv[1])'; valid: \(valid.joined(separator: ", "))")
                }
                rule.detail = kv[1]
            case "nth": rule.nth = try count("nth", kv[1], min: 1)
            case "after": rule.after = try count("after", kv[1], min: 0)
            // Linux's `times` is -1 for "no limit".
            case "count", "times": rule.count = kv[1] == "-1" ? nil : try count(kv[0], kv[1], min: 1)
            case "interval": rule.interval = try count("interval", kv[1], min: 1)
            case "space":
                guard info?.sized == true else {
                    let sized = catalog.filter(\.sized).map(\.name).joined(separator: ", ")
                    throw FaultRuleError(message: "fault site '\(siteName)' has no size, so space= could never be spent; sites with sizes: \(sized)")
                }
                rule.space = try count("space", kv[1], min: 0)
            case "task":
                guard !kv[1].isEmpty, !kv[1].contains(where: { $0 == " " || $0 == "\t" || $0 == "#" || $0 == "'" || $0 == "\"" }) else {
                    throw FaultRuleError(message: "bad task '\(kv[1])' in fault rule; expected a process name (e.g. task=jailhouse)")
                }
                rule.task = kv[1]
            case "prob":
                guard let p = Double(kv[1]), p.isFinite, p > 0, p <= 1 else {
                    throw FaultRuleError(message: "bad prob '\(kv[1])' in fault rule; expected a probability 0 < P ≤ 1 (e.g. 0.25)")
                }
                rule.prob = p
            case "verbose":
                guard let v = Int(kv[1]), (0...2).contains(v) else {
                    throw FaultRuleError(message: "bad verbose '\(kv[1])' in fault rule; expected 0, 1 or 2 (as Linux's verbose)")
                }
                rule.verbose = v
            case "errno":
                guard let e = Errno(name: kv[1]) else {
                    let valid = Errno.known.map(\.name).joined(separator: ", ")
                    throw FaultRuleError(message: "unknown errno '\(kv[1])'; valid: \(valid)")
                }
                rule.errno = e
                rule.siteErrno = false
            default:
                throw FaultRuleError(message: "unknown key '\(kv[0])' in fault rule; valid keys: \(Self.keys)")
            }
        }
        self = rule
    }
}

/// The active fault plan and its deterministic hit counters.
///
/// With no rules, `check` is one branch on an empty array. With rules, each site's
/// handle indexes an arming table (which rules may match it, resolved from the rule's
/// site name the first time the site is checked): a site no rule names costs one load.
/// Counters are per rule, so the outcome depends only on the sequence of checked sites,
/// never on timing. Each `prob=` rule draws from its own generator, seeded from the
/// injector's seed and the rule's text (and how many identical rules precede it), so
/// adding, removing or reordering another rule never shifts its stream; it is drawn only
/// at a hit the rule is eligible for.
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
    /// Per rule: the `space=` budget left, and the `interval=` counter.
    private var spaceLeft: [Int] = []
    private var intervalCount: [Int] = []
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
    /// The arming table, by site id: 0 not resolved yet, 1 no rule can match, 2 armed.
    private var arming: [UInt8] = []
    /// By site id: the indices of the rules that may match it, in rule order.
    private var candidates: [[Int]] = []
    /// How many armed checks ran (what `fail_nth` counts when it has no task).
    public private(set) var checks = 0

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
        spaceLeft.append(rule.space ?? 0)
        intervalCount.append(0)
        arming = []
    }
    public mutating func removeAll() { removeLast(rules.count) }
    /// Drops the last `k` rules with their counters (a command's own rules appended to a
    /// plan that stays armed across commands).
    public mutating func removeLast(_ k: Int) {
        let k = min(max(k, 0), rules.count)
        rules.removeLast(k); matched.removeLast(k); fired.removeLast(k); firedAt.removeLast(k); streams.removeLast(k)
        spaceLeft.removeLast(k); intervalCount.removeLast(k)
        arming = []
    }

    /// The `prob=` generator of a rule: the run's seed mixed with a stable 64-bit FNV-1a
    /// hash of the rule's text and its occurrence among identical rules.
    static func stream(seed: UInt64, rule: FaultRule, occurrence: Int) -> SplitMix64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in "\(rule.description)#\(occurrence)".utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        var mix = SplitMix64(seed: seed ^ h)
        return SplitMix64(seed: mix.next())
    }

    /// Whether a check of this site can do anything (count it, or a rule may match it).
    /// The first check of a site after the rules change resolves its table entry.
    @inline(__always)
    public mutating func wants(_ key: FaultSiteKey) -> Bool {
        if countsSites { return true }
        if arming.isEmpty { arming = Array(repeating: 0, count: FaultSiteKey.capacity); candidates = Array(repeating: [], count: FaultSiteKey.capacity) }
        switch arming[key.id] {
        case 1: return false
        case 2: return true
        default:
            let mine = rules.indices.filter { rules[$0].isAnySite || rules[$0].site == key.name }
            candidates[key.id] = mine
            arming[key.id] = mine.isEmpty ? 1 : 2
            return !mine.isEmpty
        }
    }

    /// What happened at a failed hit, for `verbose=` reports.
    public struct Verdict: Sendable {
        public var errno: Errno
        /// The failing rule's `verbose=` level (0: say nothing).
        public var verbose: Int
        /// Linux's `fail_dump` figures after this failure: interval, probability in
        /// percent, the space left, and the times left (-1: no limit).
        public var interval: Int, probability: Int, space: Int, times: Int
    }

    /// The errno to fail this hit with, or nil to let it succeed.
    public mutating func decide(_ site: FaultSite) -> Errno? {
        decide(site, detail: { site.detail }, task: nil, siteErrno: nil)?.errno
    }

    /// Decides a hit whose detail text is built only if a rule or the site log needs it.
    /// - Parameter siteErrno: the site's default errno, for `fail_nth` rules without `errno=`.
    public mutating func decide(_ site: FaultSite, detail: () -> String?, task: FaultTask?, siteErrno: Errno?) -> Verdict? {
        var site = site
        var built = false
        func detailText() -> String? {
            if !built { site.detail = detail(); built = true }
            return site.detail
        }
        if countsSites {
            _ = detailText()
            siteHits[site.name, default: 0] += 1
            checkedSites.append(site)
        }
        if rules.isEmpty { return nil }
        checks += 1
        let indices: [Int]
        if site.id >= 0, site.id < arming.count, arming[site.id] == 2 {
            indices = candidates[site.id]
        } else {
            indices = rules.indices.filter { rules[$0].isAnySite || rules[$0].site == site.name }
        }
        var verdict: Verdict? = nil
        for i in indices {
            let r = rules[i]
            guard r.matches(site, detail: r.detail == nil ? nil : detailText(), task: task) else { continue }
            matched[i] += 1
            guard verdict == nil, r.eligible(hit: matched[i], fired: fired[i]) else { continue }
            // Linux's order (should_fail_ex, lib/fault-inject.c): times, space, interval, probability.
            if r.space != nil {
                if spaceLeft[i] > site.size { spaceLeft[i] -= site.size; continue }
            }
            if let n = r.interval, n > 1 {
                intervalCount[i] += 1
                if intervalCount[i] % n != 0 { continue }
            }
            if let p = r.prob, p < 1 {
                // 53 random bits give a uniform Double in [0, 1).
                let u = Double(streams[i].next() >> 11) * 0x1p-53
                guard u < p else { continue }
            }
            fired[i] += 1
            firedAt[i].append(matched[i])
            _ = detailText()
            injections.append(site)
            let errno = r.siteErrno ? (siteErrno ?? r.errno) : r.errno
            verdict = Verdict(errno: errno, verbose: r.verbose ?? 0, interval: r.interval ?? 1,
                              probability: r.prob.map { Int(($0 * 100).rounded(.down)) } ?? 100,
                              space: spaceLeft[i], times: r.count.map { $0 - fired[i] + 1 } ?? -1)
        }
        return verdict
    }
}
