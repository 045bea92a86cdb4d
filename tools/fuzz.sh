#!/usr/bin/env bash
# Fuzzes every input format the trainer reads (Tests/ParaRLTrainerTests/FuzzTests.swift): CASES mutations per input
# type (safetensors, patch-VQ, config.json, YAML for ParaRL/SFT/CLIP/model, dataset JSONL, its PNGs, trajectory
# records) for each of SEEDS seeds. Every case must end in a clean error or a valid result: a trap stops the run
# with a backtrace, a case slower than 10 s fails it. Prints the counts per type and the totals.
#   bash tools/fuzz.sh [CASES per type and seed, default 2000] [SEEDS, default 5]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/blas-env.sh
cases="${1:-2000}"; seeds="${2:-5}"
swift build -c release -Xswiftc -enable-testing --build-tests >/dev/null
log=$(mktemp)
for seed in $(seq 1 "$seeds"); do
    if ! PARARL_FUZZ_CASES="$cases" PARARL_FUZZ_SEED="$seed" swift test -c release -Xswiftc -enable-testing --disable-xctest \
            --skip-build --filter FuzzTests > "$log.$seed" 2>&1; then
        echo "seed $seed: FAILED (crash, slow case or failed expectation); output: $log.$seed"
        grep -n "crashed:\|✘" "$log.$seed" | head -20
        exit 1
    fi
    grep "^fuzz " "$log.$seed" | sed "s/^/seed $seed: /" | tee -a "$log"
done
awk '{ total += $5; valid += $7; errors += $9 } END { printf "total: %d cases, %d valid, %d clean errors, 0 crashes, 0 hangs\n", total, valid, errors }' "$log"
