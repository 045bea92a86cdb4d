#!/usr/bin/env bash
# Fuzzes every input format the trainer reads (Tests/ParaRLTrainerTests/FuzzTests.swift): CASES mutations per input
# type (safetensors, patch-VQ, config.json, YAML for ParaRL/SFT/CLIP/model, dataset JSONL, its PNGs, trajectory
# records) for each of SEEDS seeds. Every case must end in a clean error or a valid result: a trap stops the run
# with a backtrace, a case slower than 10 s fails it. Prints the counts per type and the totals.
#   bash tools/fuzz.sh [CASES per type and seed, default 2000] [SEEDS, default 5]
#   bash tools/fuzz.sh --asan [CASES] [SEEDS]
# --asan runs the same cases under AddressSanitizer: every target (the Swift ones and the C kernels) is built with
# `--sanitize=address` in its own scratch folder, .build-asan (the first build takes as long as a release build), so an
# out-of-bounds read or write, a use after free or a double free in any loader ends the run with ASan's report even
# where Swift's own checks would not trap (unsafe pointers, C code). Leak checking is off: the runtime's caches and
# the libraries' one-time allocations live until exit by design.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/blas-env.sh
mode=release
flags=(-c release -Xswiftc -enable-testing)
if [[ ${1:-} == --asan ]]; then
    shift
    mode=asan
    flags+=(--scratch-path .build-asan --sanitize=address)
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:halt_on_error=1}"
fi
cases="${1:-2000}"; seeds="${2:-5}"
swift build "${flags[@]}" --build-tests >/dev/null
log=$(mktemp)
for seed in $(seq 1 "$seeds"); do
    if ! PARARL_FUZZ_CASES="$cases" PARARL_FUZZ_SEED="$seed" swift test "${flags[@]}" --disable-xctest \
            --skip-build --filter FuzzTests > "$log.$seed" 2>&1; then
        echo "seed $seed: FAILED (crash, sanitizer report, slow case or failed expectation); output: $log.$seed"
        grep -n "crashed:\|✘\|ERROR: AddressSanitizer\|SUMMARY: AddressSanitizer" "$log.$seed" | head -20
        exit 1
    fi
    grep "^fuzz " "$log.$seed" | sed "s/^/seed $seed: /" | tee -a "$log"
done
awk -v mode="$mode" '{ total += $5; valid += $7; errors += $9 } END { printf "total (%s): %d cases, %d valid, %d clean errors, 0 crashes, 0 hangs\n", mode, total, valid, errors }' "$log"
