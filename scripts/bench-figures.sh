#!/usr/bin/env bash
# Measures the figures of Docs/benchmarks.md and writes them into it:
#   scripts/bench-figures.sh [SECONDS_PER_POINT]
# builds jhsim in release mode, runs `jhsim bench churn --json` over the matrix below
# (each point for SECONDS_PER_POINT wall seconds, default 3) and `jhsim bench sweep
# --json`, keeps the raw results in Docs/bench/results.jsonl, and redraws the tables and
# Docs/images/bench-cycles.svg with scripts/bench-chart.py. Takes a few minutes; run it
# on an otherwise idle machine and say in the doc if it was not.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_POINT="${1:-3}"
swift build -c release --product jhsim >&2
BIN=.build/release/jhsim
OUT=Docs/bench/results.jsonl
mkdir -p Docs/bench Docs/images
: > "$OUT.tmp"
point() {
    echo "jhsim bench churn $*" >&2
    "$BIN" bench churn --json "$@" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))' >> "$OUT.tmp"
}
for executor in inline dispatch; do
    for cpus in 4 64 256 1024 4096; do
        point --cpus "$cpus" --cell-cpus 1 --executor "$executor" --seconds "$SECONDS_PER_POINT"
        # 3-CPU cell on 4 vCPUs (smp-demo), 8-CPU cells above.
        if [ "$cpus" = 4 ]; then k=3; else k=8; fi
        point --cpus "$cpus" --cell-cpus "$k" --executor "$executor" --seconds "$SECONDS_PER_POINT"
    done
done
# Contention: two and four processes churning their own cells at once.
point --cpus 4 --cell-cpus 1 --processes 2 --executor inline --seconds "$SECONDS_PER_POINT"
point --cpus 64 --cell-cpus 8 --processes 4 --executor inline --seconds "$SECONDS_PER_POINT"
echo "jhsim bench sweep" >&2
"$BIN" bench sweep --json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))' >> "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
STAMP="Measured $(date -u +%Y-%m-%d) at commit $(git rev-parse --short HEAD) on $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), release build, ${SECONDS_PER_POINT} s per point."
python3 scripts/bench-chart.py "$OUT" --doc Docs/benchmarks.md --svg Docs/images/bench-cycles.svg --stamp "$STAMP"
echo "$STAMP" >&2
