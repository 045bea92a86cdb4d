#!/usr/bin/env bash
# Writes the fixture of the shipped-model test (Tests/ParaRLTrainerTests/Fixtures/shipped-check): the shipped policy
# sampled on 3 evaluation tasks spread over the split with the shipped sampler config and seed 0 (`pararl eval`:
# predictions.jsonl, judgements.jsonl with the six axes, the images), and the shipped CLIP's scores of those
# (reasoning, image) pairs. Re-run it whenever models/world-policy or models/world-clip change.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/blas-env.sh
pararl=${PARARL:-.build/release/pararl}
out=Tests/ParaRLTrainerTests/Fixtures/shipped-check
rm -rf "$out"
"$pararl" eval --checkpoint models/world-policy --split eval --limit 3 --seed 0 --config rl-configs/sample-tiny.yaml \
    --out "$out" --threads 1 >/dev/null
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
with open(out + "/pairs.jsonl", "w") as f:
    for line in open(out + "/predictions.jsonl"):
        p = json.loads(line)
        f.write(json.dumps({"text": p["reasoning"], "image": p["output_image"]}) + "\n")
PY
"$pararl" clip score --model models/world-clip --pairs "$out/pairs.jsonl" --threads 1 > "$out/clip_scores.jsonl"
rm -f "$out/report.json"
echo "wrote $out"
