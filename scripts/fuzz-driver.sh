#!/usr/bin/env bash
# Fuzzes the driver path (JAILHOUSE_ENABLE and JAILHOUSE_CELL_CREATE on an inline 4-CPU
# box with the fixed profile, every invariant checked after each ioctl) with libFuzzer
# (Docs/fuzzing.md). `make fuzz-driver` runs it.
#   scripts/fuzz-driver.sh                 run for FUZZ_SECONDS (default 120)
#   FUZZ_RUNS=10000000 scripts/fuzz-driver.sh   stop after that many executions instead
#   FUZZ_INPUT=FILE scripts/fuzz-driver.sh replay one input (a crash reproducer) and exit
#   FUZZ_FLAGS="-jobs=2 -workers=2"        more libFuzzer flags
#   FUZZ_NICE=19                           scheduling priority of the fuzzer (default 19)
# The seed corpus is written at run time from the built-in configs into
# fuzz-corpus/driver (git-ignored), which libFuzzer grows; crashes land in
# fuzz-corpus/driver-crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=.build-fuzz
bin="$scratch/release"
out="$scratch/driver"
mkdir -p "$out" fuzz-corpus/driver fuzz-corpus/driver-crashes

# The layers up to the driver, built by SwiftPM with libFuzzer's coverage
# instrumentation; nothing links there (libFuzzer brings its own main).
echo "fuzz-driver: building JHDriver and below with coverage instrumentation" >&2
swift build -c release --target JHDriver --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer >&2
objects=()
for t in JHABI JHConfig JHMachine JHLinux JHHypervisor JHDriver Yams CYaml; do
    while IFS= read -r -d '' o; do objects+=("$o"); done < <(find "$bin/$t.build" -name '*.o' -print0)
done
yams=$(find "$scratch/checkouts" -maxdepth 1 -iname 'yams' | head -n1)
echo "fuzz-driver: linking Fuzz/DriverFuzz.swift with ${#objects[@]} objects" >&2
swiftc -sanitize=fuzzer -parse-as-library -O -module-name DriverFuzzMain \
    -I "$bin/Modules" -I Sources/CLibcap -I "$yams/Sources/CYaml/include" \
    Fuzz/DriverFuzz.swift "${objects[@]}" -lcap -o "$out/driver-fuzz" \
    2> >(grep -v "Cannot export local symbol" >&2)

if [[ -n "${FUZZ_INPUT:-}" ]]; then
    echo "fuzz-driver: replaying $FUZZ_INPUT" >&2
    SWIFT_BACKTRACE=enable=no exec "$out/driver-fuzz" "$FUZZ_INPUT"
fi

JHSIM_FUZZ_SEEDS=fuzz-corpus/driver "$out/driver-fuzz"
limit=(-max_total_time="${FUZZ_SECONDS:-120}")
[[ -n "${FUZZ_RUNS:-}" ]] && limit=(-runs="$FUZZ_RUNS")
echo "fuzz-driver: running (${limit[*]}) at nice ${FUZZ_NICE:-19}" >&2
# libFuzzer, not the Swift runtime, must catch a trap, so that it saves the input.
export SWIFT_BACKTRACE=enable=no
nice -n "${FUZZ_NICE:-19}" "$out/driver-fuzz" "${limit[@]}" -max_len=8192 -print_final_stats=1 \
    -artifact_prefix=fuzz-corpus/driver-crashes/ ${FUZZ_FLAGS:-} fuzz-corpus/driver
