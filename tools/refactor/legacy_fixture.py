#!/usr/bin/env python3
"""Turns a micro SFT run folder written by code before the run kit (checkpoints with sft_config.yaml and
"mask_stream") into the committed fixture Tests/ParaRLSFTTests/Fixtures/legacy-sft-run: the run resumable from its
step-2 checkpoint, the step-4 checkpoint's weights and optimiser as the expected result, absolute paths replaced by
FIXTURE_RUN (the test substitutes its copy's folder) and FIXTURE_OUT (the folder the run was made in; unused on resume).
  git worktree add /tmp/old 9086de0 && (cd /tmp/old && swift build -c release)
  bash tools/refactor/behaviour_hashes.sh /tmp/legacy /tmp/old/.build/release/pararl
  python3 tools/refactor/legacy_fixture.py /tmp/legacy/runs/sft-micro Tests/ParaRLSFTTests/Fixtures/legacy-sft-run"""
import os, shutil, sqlite3, sys

source, out = sys.argv[1], sys.argv[2]
source = os.path.abspath(source)
shutil.rmtree(out, ignore_errors=True)
shutil.copytree(source, out)
for f in ("run.sqlite-wal", "run.sqlite-shm"):
    if os.path.exists(os.path.join(out, f)):
        os.remove(os.path.join(out, f))
last = os.path.join(out, "checkpoints", "step-00000004")
os.makedirs(os.path.join(out, "expected"), exist_ok=True)
for f in ("model.safetensors", "optimizer.safetensors", "trainer_state.json"):
    shutil.move(os.path.join(last, f), os.path.join(out, "expected", f))
shutil.rmtree(last)
for folder, _, files in os.walk(out):
    for f in files:
        if f.endswith((".yaml", ".json")):
            p = os.path.join(folder, f)
            text = open(p).read().replace(source, "FIXTURE_RUN").replace(os.path.dirname(os.path.dirname(source)), "FIXTURE_OUT")
            open(p, "w").write(text)
con = sqlite3.connect(os.path.join(out, "run.sqlite"))
con.execute("update sft_run set config_yaml = replace(config_yaml, ?, 'FIXTURE_RUN')", (source,))
con.execute("update sft_checkpoints set path = replace(path, ?, 'FIXTURE_RUN')", (source,))
con.commit()
con.execute("vacuum")
con.close()
