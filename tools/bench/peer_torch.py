"""Runs the same transformer forward+backward in PyTorch (fp32, eager) and in ParaRL (`pararl bench
transformer`), one after the other in one run, and prints both times and their ratio.

    python3 tools/bench/peer_torch.py [--threads 2] [--batch 32] [--seq 224] [--pararl PATH]

The computation: a 6-block LLaDA-style transformer (d256, 4 heads, SwiGLU 704, vocab 1100), logits at
every position over the whole vocabulary, mean cross-entropy, backward to every parameter.
Needs torch (pip install torch). Build ParaRL first: swift build -c release.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from llada_torch import Transformer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=224)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--mlp", type=int, default=704)
    ap.add_argument("--vocab", type=int, default=1100)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--pararl", default=os.path.join(os.path.dirname(__file__), "..", "..", ".build", "release", "pararl"))
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Transformer(a.d_model, a.layers, a.heads, a.mlp, a.vocab)
    tokens = torch.arange(a.batch * a.seq).mul(7919).remainder(a.vocab).view(a.batch, a.seq)
    targets = torch.arange(a.batch * a.seq).mul(104729).add(13).remainder(a.vocab)

    def step():
        model.zero_grad(set_to_none=False)
        h = model.hidden(tokens).reshape(-1, a.d_model)
        loss = F.cross_entropy(model.ff_out(h), targets)
        loss.backward()

    def forward():
        with torch.no_grad():
            h = model.hidden(tokens).reshape(-1, a.d_model)
            F.cross_entropy(model.ff_out(h), targets)

    def median_time(f):
        f()
        ts = []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts)

    torch_fwd = median_time(forward)
    torch_step = median_time(step)

    cmd = [a.pararl, "bench", "transformer", "--json", "--threads", str(a.threads), "--batch", str(a.batch),
           "--seq", str(a.seq), "--d-model", str(a.d_model), "--layers", str(a.layers), "--heads", str(a.heads),
           "--mlp", str(a.mlp), "--vocab", str(a.vocab), "--repeats", str(a.repeats)]
    ours = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)

    flops = ours["flops"]
    print(f"transformer fwd+bwd, B={a.batch} T={a.seq} d={a.d_model} L={a.layers} H={a.heads} mlp={a.mlp} V={a.vocab}, "
          f"{a.threads} threads, torch {torch.__version__}")
    print("| | forward s | fwd+bwd s | GFLOP/s |")
    print("|---|---|---|---|")
    print(f"| PyTorch fp32 eager | {torch_fwd:.3f} | {torch_step:.3f} | {flops / torch_step / 1e9:.0f} |")
    print(f"| ParaRL ({ours['backend']}, OpenBLAS core {ours['openblasCore']}) | {ours['forwardSeconds']:.3f} | "
          f"{ours['seconds']:.3f} | {ours['gflops']:.0f} |")
    print(f"speed-up ParaRL / PyTorch: forward {torch_fwd / ours['forwardSeconds']:.2f}x, "
          f"fwd+bwd {torch_step / ours['seconds']:.2f}x")


if __name__ == "__main__":
    main()
