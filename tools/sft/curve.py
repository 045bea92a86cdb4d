#!/usr/bin/env python3
"""The SFT curve of a run (issue: a starting policy that writes): for every checkpoint of RUN, the held-out masked-token
accuracy logged by `pararl sft` (table sft_evals of RUN/run.sqlite) and the judge on a fixed slice of the evaluation split
(`pararl eval --limit N`, the same tasks and seeds for every checkpoint), plus the training time up to the checkpoint
(the sum of the logged step times, so pauses between stop and resume do not count). Checkpoints already judged (RUN/curve/step-N/report.json) are not sampled again, so it can run while training goes on.

  python3 tools/sft/curve.py runs/sft-world-policy --limit 60 --config rl-configs/sample-tiny.yaml [--every 500] [--threads 1]
"""
import argparse, json, os, sqlite3, subprocess, sys

p = argparse.ArgumentParser()
p.add_argument("run")
p.add_argument("--limit", type=int, default=60)
p.add_argument("--config", default="rl-configs/sample-tiny.yaml")
p.add_argument("--every", type=int, default=0, help="only checkpoints whose step is a multiple of this (0: all)")
p.add_argument("--threads", type=int, default=1)
p.add_argument("--pararl", default=".build/release/pararl")
p.add_argument("--no-eval", action="store_true", help="only print the table of what is judged already")
a = p.parse_args()

db = sqlite3.connect(os.path.join(a.run, "run.sqlite"))
evals = {s: (ta, ia) for s, ta, ia in db.execute("SELECT step, text_accuracy, image_accuracy FROM sft_evals")}
step_seconds = sorted(db.execute("SELECT step, seconds FROM sft_steps"))
ckdir = os.path.join(a.run, "checkpoints")
steps = sorted(int(n.split("-")[1]) for n in os.listdir(ckdir) if n.startswith("step-") and
               os.path.exists(os.path.join(ckdir, n, "COMPLETE")))
if a.every:
    steps = [s for s in steps if s % a.every == 0]
rows = []
for s in steps:
    out = os.path.join(a.run, "curve", "step-%08d" % s)
    report = os.path.join(out, "report.json")
    if not os.path.exists(report) and not a.no_eval:
        cmd = [a.pararl, "eval", "--checkpoint", os.path.join(ckdir, "step-%08d" % s), "--split", "eval",
               "--limit", str(a.limit), "--config", a.config, "--out", out, "--threads", str(a.threads)]
        print("+", " ".join(cmd), file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    if not os.path.exists(report):
        continue
    o = json.load(open(report))["overall"]
    rows.append((s, evals.get(s, (None, None)), sum(sec for st, sec in step_seconds if st <= s), o))

def f(x, d=1):
    return "–" if x is None else ("%.*f" % (d, x))

def minutes(seconds):
    return "%.0f" % (seconds / 60)

print("| step | train min | held-out text acc. | held-out image acc. | text qual. | text align. | image cons. | image align. | image qual. | output align. | overall |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for s, (ta, ia), t, o in rows:
    print("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        s, minutes(t), f(ta, 3), f(ia, 3), f(o.get("text_quality")), f(o.get("text_alignment")), f(o.get("image_consistency")),
        f(o.get("image_alignment")), f(o.get("image_quality")), f(o.get("output_alignment")), f(o.get("overall"))))
