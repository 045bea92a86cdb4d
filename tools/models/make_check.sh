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
tokens=$(python3 -c '
ids = [(i * 37 + 11) % 381 for i in range(40)] + [900] * 56 + [895]
ids += [900 if i % 3 == 0 else 381 + (i * 53) % 512 for i in range(62)] + [896]
print(",".join(map(str, ids)))')
"$pararl" policy logits --checkpoint models/world-policy --tokens "$tokens" --positions 5,40,90,96,120,150 --json \
    --threads 1 > "$out/logits.tmp.json"
python3 - "$out" "$tokens" <<'PY'
import json, sys
out, tokens = sys.argv[1], sys.argv[2]
logits = json.load(open(out + "/logits.tmp.json"))
json.dump({"tokens": [int(t) for t in tokens.split(",")], "positions": logits["positions"], "logits": logits["logits"]},
          open(out + "/logits.json", "w"))
PY
rm -f "$out/report.json" "$out/logits.tmp.json"
echo "wrote $out"
