import Foundation
import Testing

/// The batch systems a campaign is split over: a Slurm job array on a one-node cluster
/// started for the test (scripts/slurm/check-array.sh), and GNU parallel. Each runs
/// where its Debian packages are installed (CI installs them: scripts/slurm/install.sh)
/// and is skipped, saying why, elsewhere.
@Suite struct ClusterTests {
    static func missing(_ tools: [String], root: Bool) -> String? {
        if root, getuid() != 0 { return "needs root (slurmd starts jobs as their user)" }
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        let absent = tools.filter { t in !path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(t)") } }
        return absent.isEmpty ? nil : "\(absent.joined(separator: ", ")) not installed (scripts/slurm/install.sh installs slurm-wlm, munge, parallel)"
    }

    static func available(_ test: String, _ tools: [String], root: Bool = false) -> Bool {
        guard let why = missing(tools, root: root) else { return true }
        FileHandle.standardError.write(Data("ClusterTests: skipping \(test): \(why)\n".utf8))
        return false
    }

    static func shell(_ script: String, in dir: String) throws -> JHSimProcess.Result {
        var env = ProcessInfo.processInfo.environment
        env["JHSIM"] = JHSimProcess.binary
        return try JHSimProcess.spawn("/bin/bash", ["-c", script], in: dir, environment: env)
    }

    @Test(.enabled("needs root, slurm-wlm and munge") {
        ClusterTests.available("the Slurm array test", ["slurmctld", "slurmd", "sbatch", "munged"], root: true)
    })
    func aFourTaskSlurmArrayMergesIntoTheOneProcessCampaign() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let r = try Self.shell("\"\(root)/scripts/slurm/check-array.sh\" \"$JHSIM\"", in: JHSimProcess.tempDir())
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("merged report equals the one-process campaign"))
    }

    /// The one-liner of Docs/scaling.md, run locally.
    @Test(.enabled("needs GNU parallel") { ClusterTests.available("the GNU parallel test", ["parallel"]) })
    func gnuParallelShardsMergeIntoTheOneProcessCampaign() throws {
        let d = JHSimProcess.tempDir()
        let r = try Self.shell("""
            parallel --will-cite -j 2 "$JHSIM" faults campaign --seed 4 --runs 30 --profile fixed --shard {}/3 --out shard-{}-of-3.jsonl ::: 0 1 2 >/dev/null \
              && "$JHSIM" faults merge shard-*-of-3.jsonl
            """, in: d)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == (try JHSimProcess.run(["faults", "campaign", "--seed", "4", "--runs", "30", "--profile", "fixed"], in: d)).stdout)
    }
}
