#!/usr/bin/env bash
# Behaviour fingerprint of the training code: seeded micro runs of SFT, CLIP training and ParaRL (trajectory and
# output objectives) from nothing but the CLI, then one SHA-256 per checkpoint file and per log table (rows in key
# order, wall-time columns left out). Two builds that print the same lines train bit-identically.
#   bash tools/refactor/behaviour_hashes.sh OUT_DIR [PARARL_BINARY]      (default binary: .build/release/pararl)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:?usage: behaviour_hashes.sh OUT_DIR [PARARL_BINARY]}"
pararl="${2:-$root/.build/release/pararl}"
rm -rf "$out"; mkdir -p "$out/cfg" "$out/runs"
run() { "$pararl" "$@" --threads 1 > "$out/log.txt" 2>&1 || { cat "$out/log.txt"; exit 1; }; }
quiet() { "$pararl" "$@" > "$out/log.txt" 2>&1 || { cat "$out/log.txt"; exit 1; }; }

# SFT: the micro config on 40 world tasks' VQ.
quiet world generate --split train --count 40 --out "$out/world"
quiet tokenizer fit --data "$out/world" --patch 8 --codebook 16 --out "$out/cfg/vq.safetensors"
cp "$root/rl-configs/sft-micro.yaml" "$root/rl-configs/model-micro.yaml" "$out/cfg/"
run sft --config "$out/cfg/sft-micro.yaml" --run-dir "$out/runs/sft-micro"

# CLIP: clip-tiny.yaml shrunk to a few seconds.
sed -e 's/^train_tasks: .*/train_tasks: 200/' -e 's/^steps: .*/steps: 6/' -e 's/^batch_size: .*/batch_size: 4/' \
    -e 's/^warmup_steps: .*/warmup_steps: 2/' -e 's/^eval_scenes: .*/eval_scenes: 8/' -e 's/^log_every: .*/log_every: 2/' \
    -e "s#^out: .*#out: $out/runs/clip-micro#" -e 's/^  vision_width: .*/  vision_width: 16/' \
    -e 's/^  text_width: .*/  text_width: 16/' -e 's/^  projection_dim: .*/  projection_dim: 16/' \
    -e 's/_layers: .*/_layers: 1/' -e 's/_heads: .*/_heads: 2/' "$root/rl-configs/clip-tiny.yaml" > "$out/cfg/clip-micro.yaml"
run clip train --config "$out/cfg/clip-micro.yaml"

# ParaRL: the micro config from that SFT checkpoint and CLIP, μ/σ from reference pairs, both objectives.
cp "$root/rl-configs/pararl-micro.yaml" "$out/cfg/"
sed -e 's/^objective: .*/objective: output/' "$out/cfg/pararl-micro.yaml" > "$out/cfg/pararl-micro-output.yaml"
run calibrate --config "$out/cfg/pararl-micro.yaml"
run calibrate --config "$out/cfg/pararl-micro.yaml" --source rollouts --fraction 0.0002 --out "$out/runs/calibration-rollouts/clip_calibration.json"
run train --config "$out/cfg/pararl-micro.yaml" --run-dir "$out/runs/rl-trajectory"
run train --config "$out/cfg/pararl-micro-output.yaml" --run-dir "$out/runs/rl-output"

python3 - "$out" <<'PY'
import hashlib, os, sqlite3, sys
out = sys.argv[1]
runs = os.path.join(out, "runs")
timeish = ("time", "seconds", "created", "started", "finished", "wall", "elapsed", "_at", "code_version")

import json, re
run_id = None

def digest(data: bytes) -> str:
    # Paths under the output folder (also JSON-escaped) and the run id (it holds the start time) are written into
    # configs and logs; hash them folder- and clock-independently.
    data = data.replace(out.encode(), b"$OUT").replace(out.replace("/", "\\/").encode(), b"$OUT")
    # The CLIP vocabulary is wherever the checkout keeps it.
    data = re.sub(rb"[^\s'\"]*bpe_simple_vocab_16e6\.txt\.gz", b"$VOCAB", data)
    if run_id:
        data = data.replace(run_id.encode(), b"$RUN")
    return hashlib.sha256(data).hexdigest()[:16]

for run in sorted(os.listdir(runs)):
    base = os.path.join(runs, run)
    meta = os.path.join(base, "run.json")
    run_id = json.load(open(meta))["runID"] if os.path.exists(meta) else None
    for folder, _, files in sorted(os.walk(base)):
        for f in sorted(files):
            p = os.path.join(folder, f)
            name = os.path.relpath(p, runs)
            # The lock holds the writer's PID; a checkpoint's manifest holds CRCs of files that embed the output
            # folder's path (each of those files is hashed here path-independently).
            if f.endswith((".sqlite-wal", ".sqlite-shm", ".log")) or f in ("report.json", "run.json", ".lock", "MANIFEST.json"):
                continue
            if not f.endswith(".sqlite"):
                print(digest(open(p, "rb").read()), name)
                continue
            con = sqlite3.connect(p)
            tables = [r[0] for r in con.execute("select name from sqlite_master where type='table' "
                                                "and name not like 'sqlite_%' and name not like 'grdb_%' order by name")]
            for t in tables:
                cols = [r[1] for r in con.execute(f"pragma table_info({t})")
                        if not any(k in r[1].lower() for k in timeish)]
                rows = con.execute(f"select {', '.join(cols)} from {t} order by {', '.join(cols)}").fetchall()
                print(digest(repr(rows).encode()), f"{name}:{t} ({len(rows)} rows)")
PY
