#!/usr/bin/env bash
# Fuzzes the revision-14 config decoder with libFuzzer + AddressSanitizer (Docs/fuzzing.md).
#   scripts/fuzz-config.sh [SECONDS]      default 120; also FUZZ_SECONDS=…; extra libFuzzer
#                                         flags in FUZZ_FLAGS (e.g. "-jobs=2 -workers=2")
# The seed corpus is every committed config fixture (good and bad); libFuzzer grows it in
# fuzz-corpus/config (git-ignored). Crashes land in fuzz-corpus/crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-${FUZZ_SECONDS:-120}}"
out=.build/fuzz
mkdir -p "$out" fuzz-corpus/config fuzz-corpus/crashes

# The binary decoder only: no Yams, no Foundation-based CLI code.
decoder=(ByteIO ConfigError Console MemoryRegion CellElements PlatformInfo CellConfig SystemConfig
         ConfigChecker ConfigText)
# One module: copy the files and drop their `import JHABI` (JHABI is compiled in).
rm -rf "$out/src" && mkdir -p "$out/src"
cp Sources/JHABI/*.swift "$out/src/"
for f in "${decoder[@]}"; do
    sed '/^import JHABI$/d' "Sources/JHConfig/$f.swift" > "$out/src/JHConfig-$f.swift"
done
sources=("$out"/src/*.swift)

echo "fuzz-config: compiling ${#sources[@]} files + Fuzz/ConfigFuzz.swift" >&2
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name ConfigFuzz \
    "${sources[@]}" Fuzz/ConfigFuzz.swift -o "$out/config-fuzz" 2> >(grep -v "Cannot export local symbol" >&2)

# Seed corpus: every fixture, prefixed by its folder so names do not collide.
for f in Fixtures/configs/*.cell Fixtures/configs/*/*.cell Fixtures/bad/*.cell; do
    dir=$(basename "$(dirname "$f")")
    cp "$f" "fuzz-corpus/config/seed-$dir-$(basename "$f")"
done

echo "fuzz-config: running for ${seconds}s" >&2
"$out/config-fuzz" -max_total_time="$seconds" -max_len=16384 -print_final_stats=1 \
    -artifact_prefix=fuzz-corpus/crashes/ ${FUZZ_FLAGS:-} fuzz-corpus/config
