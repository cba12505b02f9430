#!/usr/bin/env bash
# End-to-end check of the Slurm scripts: start a one-node cluster (local-cluster.sh),
# submit a 4-task array of a small campaign plus the dependent merge job, and compare the
# merged report with the one-process campaign, text and --json, byte for byte.
#
#   scripts/slurm/check-array.sh [JHSIM]     (default: .build/debug/jhsim)
#
# Exit 0: equal; 1: not (or a step failed); 77: Slurm/munge missing or not root (the
# reason is printed). jhsimTests' SlurmTests runs it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
jhsim=$(cd "$(dirname "${1:-$here/../../.build/debug/jhsim}")" && pwd)/$(basename "${1:-jhsim}")
[ -x "$jhsim" ] || { echo "check-array: no jhsim at $jhsim (swift build first)" >&2; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/jhsim-slurm.XXXXXX")
cleanup() { "$here/local-cluster.sh" stop "$dir/cluster" || true; rm -rf "$dir"; }
trap cleanup EXIT
status=0
"$here/local-cluster.sh" start "$dir/cluster" || status=$?
[ $status -eq 0 ] || exit $status
export SLURM_CONF="$dir/cluster/slurm.conf" JHSIM="$jhsim"
mkdir -p "$dir/work"
cd "$dir/work"
args=(faults campaign --seed 3 --runs 40 --profile fixed)
jid=$(sbatch --parsable --array=0-3 "$here/campaign.sbatch" "$dir/out" "${args[@]}")
mid=$(sbatch --parsable --dependency=afterok:"$jid" "$here/merge.sbatch" "$dir/out")
for _ in $(seq 600); do
    [ -f "$dir/out/status" ] && break
    # Give up early when the merge job can no longer run (a failed shard).
    if scontrol show job "$mid" 2>/dev/null | grep -q 'Reason=DependencyNeverSatisfied'; then break; fi
    sleep 0.2
done
if [ ! -f "$dir/out/status" ]; then
    echo "check-array: the merge job did not finish; job outputs:" >&2
    tail -n 5 "$dir"/work/slurm-*.out >&2 || true
    exit 1
fi
"$jhsim" "${args[@]}" >"$dir/one.txt" || true
"$jhsim" "${args[@]}" --json >"$dir/one.json" || true
ls "$dir/out"
cmp "$dir/one.txt" "$dir/out/report.txt"
cmp "$dir/one.json" "$dir/out/report.json"
echo "check-array: the 4-task Slurm array's merged report equals the one-process campaign ($(wc -l <"$dir/one.txt") lines, status $(cat "$dir/out/status"))"
