"""Runs the same transformer forward+backward in PyTorch (fp32, eager) and in ParaRL (`pararl bench
transformer`), one after the other in one run, and prints both times and their ratio.

    python3 tools/bench/peer_torch.py [--threads 2] [--batch 32] [--seq 224] [--pararl PATH]
    python3 tools/bench/peer_torch.py --sft-step [--threads 2] [--batch 32]

The computation: a 6-block LLaDA-style transformer (d256, 4 heads, SwiGLU 704, vocab 1100), logits at
every position over the whole vocabulary, mean cross-entropy, backward to every parameter.
With --sft-step: one full SFT train step of the tiny policy (`pararl policy bench-sft-step`): the world's
unified vocabulary (381 text ids, 512 codes, 9 specials), sequences of 272 with 160 output positions (64
image, 96 text), about half of them masked; logits only at masked positions over the position's modality
(text ids + eos/pad, or codes), CE weighted 1/t (t = 0.5) for text and 1 for image, normalised by B·160;
backward, clip_grad_norm_(1.0), AdamW step.
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
    ap.add_argument("--sft-step", action="store_true", help="benchmark one SFT train step of the policy instead")
    ap.add_argument("--pararl", default=os.path.join(os.path.dirname(__file__), "..", "..", ".build", "release", "pararl"))
    a = ap.parse_args()
    if a.sft_step:
        return sft_step(a)

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
    print(f"| ParaRL ({ours['backend']}, OpenBLAS core {ours['openblas_core']}) | {ours['forward_seconds']:.3f} | "
          f"{ours['seconds']:.3f} | {ours['gflops']:.0f} |")
    print(f"speed-up ParaRL / PyTorch: forward {torch_fwd / ours['forward_seconds']:.2f}x, "
          f"fwd+bwd {torch_step / ours['seconds']:.2f}x")


def sft_step(a):
    """The SFT train step of `pararl policy bench-sft-step`, with the same tokens, masks and weights."""
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    seq = 272 if a.seq == 224 else a.seq
    vt, k, output, image = 381, 512, 160, 64
    vocab = vt + k + 9
    eos, pad, mask = vt + k + 5, vt + k + 6, vt + k + 7
    model = Transformer(a.d_model, a.layers, a.heads, a.mlp, vocab)
    n = a.batch * seq
    tokens = torch.arange(n).mul(7919).remainder(vocab)
    image_start, text_start = seq - output, seq - output + image
    rows = {"text": [], "image": []}
    for i in range(n):
        if i % seq >= image_start and (i * 104729 + 13) % 100 < 50:
            if i % seq < text_start:
                rows["image"].append((i, i % k, 1.0 / (a.batch * output)))
            else:
                rows["text"].append((i, i % (vt + 2), 2.0 / (a.batch * output)))
            tokens[i] = mask
    tokens = tokens.view(a.batch, seq)
    heads = []
    for name, ids in (("text", list(range(vt)) + [eos, pad]), ("image", list(range(vt, vt + k)))):
        r = rows[name]
        heads.append((torch.tensor([x[0] for x in r]), torch.tensor([x[1] for x in r]),
                      torch.tensor([x[2] for x in r]), torch.tensor(ids)))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        opt.zero_grad(set_to_none=False)
        h = model.hidden(tokens).reshape(n, a.d_model)
        loss = 0.0
        for r, tgt, w, ids in heads:
            logits = h[r] @ model.ff_out.weight[ids].T
            loss = loss - (w * torch.log_softmax(logits, -1)[torch.arange(len(r)), tgt]).sum()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return float(loss.detach())

    step()
    ts = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        step()
        ts.append(time.perf_counter() - t0)
    torch_step = statistics.median(ts)

    cmd = [a.pararl, "policy", "bench-sft-step", "--json", "--threads", str(a.threads), "--batch", str(a.batch),
           "--seq", str(seq), "--d-model", str(a.d_model), "--layers", str(a.layers), "--heads", str(a.heads),
           "--mlp", str(a.mlp), "--repeats", str(a.repeats)]
    ours = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    flops = ours["flops"]
    print(f"SFT train step, tiny policy B={a.batch} T={seq} d={a.d_model} L={a.layers} H={a.heads} mlp={a.mlp} "
          f"V={vocab}, {ours['text_rows']} text + {ours['image_rows']} image masked rows, {a.threads} threads, "
          f"torch {torch.__version__}; best sgemm here {ours['sgemm_gflops']:.0f} GFLOP/s")
    print("| | s/step | sequences/s | GFLOP/s | % of sgemm |")
    print("|---|---|---|---|---|")
    tg = flops / torch_step / 1e9
    print(f"| PyTorch fp32 eager | {torch_step:.3f} | {a.batch / torch_step:.1f} | {tg:.0f} | {100 * tg / ours['sgemm_gflops']:.0f}% |")
    print(f"| ParaRL ({ours['backend']}, OpenBLAS core {ours['openblas_core']}) | {ours['seconds']:.3f} | "
          f"{ours['sequences_per_second']:.1f} | {ours['gflops']:.0f} | {ours['percent_of_sgemm']:.0f}% |")
    print(f"speed-up ParaRL / PyTorch: {torch_step / ours['seconds']:.2f}x")


if __name__ == "__main__":
    main()
