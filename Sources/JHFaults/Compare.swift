import JHLab
import JHMachine

/// A plan whose run differs between the profiles, with the quirk that explains it.
public struct ProfileDifference: Sendable {
    public var plan: FaultPlan
    /// The outcome on each profile (nil: clean), upstream first.
    public var upstream: FailureClass?
    public var fixed: FailureClass?
    /// The first command whose result differs, as both profiles show it.
    public var upstreamLine: String?
    public var fixedLine: String?
    /// The single quirk whose correction alone makes upstream behave as fixed does; nil
    /// when no single quirk does (several interact, or the fixed profile differs in a
    /// way no quirk names).
    public var quirk: Quirk?
    public var reproducer: String
}

/// `--compare-profiles`: every plan runs on upstream and on fixed. Where they differ
/// (outcome or any command's result), upstream is run once more with each of its quirks
/// corrected alone (`upstream-without-N`); the quirk whose correction makes the runs
/// agree is the one behind the difference. The quirk list is the registry's, so new
/// quirks are tried without changes here.
struct ProfileComparison {
    var upstream: FaultRunner
    var fixed: FaultRunner

    init(runner: FaultRunner) throws(LabError) {
        var u = runner, f = runner
        u.settings.profile = "upstream"
        f.settings.profile = "fixed"
        upstream = try u.prepared().0
        fixed = try f.prepared().0
    }

    /// What a run looks like for comparison: its outcome and every command's result.
    static func shape(_ r: RunResult) -> [String] {
        [r.worst?.rawValue ?? "clean"] + r.transcript + r.liveness
    }

    /// - Parameter primary: the run already made on the report's own profile, if it is
    ///   one of the two (saves a run).
    func compare(_ plan: FaultPlan, seed: UInt64, primary: (profile: String, result: RunResult)? = nil) throws(LabError) -> ProfileDifference? {
        // An isolated run's result is parsed back from a child; rerun in process to compare.
        let reuse = upstream.isolatedExecutable == nil ? primary : nil
        let u: RunResult, f: RunResult
        if let p = reuse, p.profile == "upstream" { u = p.result } else { u = try upstream.run(plan, seed: seed) }
        if let p = reuse, p.profile == "fixed" { f = p.result } else { f = try fixed.run(plan, seed: seed) }
        let (su, sf) = (Self.shape(u), Self.shape(f))
        guard su != sf else { return nil }
        let firstDiff = zip(u.transcript, f.transcript).first { $0.0 != $0.1 }
        var named: Quirk? = nil
        for q in Quirk.allCases where Profile.upstream.has(q) {
            var r = upstream
            r.settings.profile = "upstream-without-\(q.number)"
            let (prepared, _) = try r.prepared()
            if Self.shape(try prepared.run(plan, seed: seed)) == sf { named = q; break }
        }
        return ProfileDifference(plan: plan, upstream: u.worst, fixed: f.worst, upstreamLine: firstDiff?.0,
                                 fixedLine: firstDiff?.1, quirk: named, reproducer: upstream.reproducer(plan, seed: seed))
    }
}
