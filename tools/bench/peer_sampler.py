"""Sampling throughput of the parallel text-image sampler (docs/design.md §3.4, parallel decoding) in a straightforward
PyTorch implementation beside ParaRL's `pararl sample`, in one run, on the same checkpoint, prompt and config; prints
rollout-steps/s of both and their ratio.

    python3 tools/bench/peer_sampler.py --checkpoint runs/sft-tiny/step-00000400 [--group 8] [--threads 2]
        [--edit] [--config rl-configs/sample-tiny.yaml] [--repeats 3] [--pararl .build/release/pararl]

ParaRL runs first (`pararl sample --json`), which also prints the exact conditional and unconditional input sequences,
the layout and the resolved sampler config; the PyTorch peer then samples G rollouts of that same prompt as one batch:
every step one forward pass of the G states (plus the G unconditional-image states on image steps when the prompt has
an input image and g_img != 0), logits only at the masked positions of the current text block and of the image,
Gumbel-max text candidates with softmax confidence and low-confidence remasking, MaskGIT cosine image reveals with
candidates from softmax(guided / tau) and confidence log p + tau (1 - ratio) Gumbel, log-probabilities of the
unguided logits recorded. Text guidance is not implemented here (the tiny config's g_txt is 0).
With --edit the prompt has an input image (the world task eval-general-000's), so image guidance adds its pass.
`load_policy`, `sampler_inputs` and `sample` are also the rollout phase of tools/bench/peer_step.py: `sample` also
records each output position's reveal step and the partial outputs (docs/design.md §3.4) at the steps it is asked for.
Needs torch and safetensors (pip install torch safetensors). Build ParaRL first: swift build -c release.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from llada_torch import Transformer  # noqa: E402


def transfer_counts(n, steps):
    return [n // steps + (1 if i < n % steps else 0) for i in range(steps)]


def schedule(steps, text_len, block, n_codes, k_img, placement):
    """Per step: (text block range or None, text reveals, image step k or None, image reveals)."""
    blocks = [(s, min(text_len, s + block)) for s in range(0, text_len, block)]
    plan = [[None, 0, None, 0] for _ in range(steps)]
    s = 0
    for b, per_block in enumerate(transfer_counts(steps, len(blocks))):
        for r in transfer_counts(blocks[b][1] - blocks[b][0], per_block):
            plan[s][0], plan[s][1] = blocks[b], r
            s += 1
    if placement == "even":
        offsets = [(i + 1) * steps // k_img - 1 for i in range(k_img)]
    else:
        lo, hi = steps // 4, steps - 1
        offsets = [steps - 1] if k_img == 1 else [round(lo + i * (hi - lo) / (k_img - 1)) for i in range(k_img)]
    unknown = n_codes
    for k, off in enumerate(offsets):
        kept = 0 if k == k_img - 1 else max(1, min(unknown - 1, math.floor(n_codes * math.cos(math.pi / 2 * (k + 1) / k_img))))
        plan[off][2], plan[off][3] = k, unknown - kept
        unknown = kept
    return plan


def gumbel(shape, gen):
    u = torch.rand(shape, generator=gen, dtype=torch.float64).clamp_(1e-12, 1 - 1e-12)
    return (-torch.log(-torch.log(u))).float()


def load_policy(checkpoint):
    """The policy of a checkpoint folder (config.json, model.safetensors) in fp32, eval mode."""
    cfg = json.load(open(os.path.join(checkpoint, "config.json")))
    model = Transformer(cfg["d_model"], cfg["n_layers"], cfg["n_heads"], cfg["mlp_hidden_size"], cfg["embedding_size"],
                        cfg.get("rope_theta", 10000.0), cfg.get("rms_norm_eps", 1e-5))
    state = load_file(os.path.join(checkpoint, "model.safetensors"))
    model.load_state_dict({k[len("model.transformer."):]: v.float() for k, v in state.items()}, strict=True)
    return model.eval()


LAYOUT_KEYS = ("image_codes", "text_length", "image_region_start", "text_region_start", "mask_id", "eos_id", "pad_id",
               "text_vocab_size", "codebook_offset", "codebook_size")
PROMPT_KEYS = ("conditional", "conditional_key_mask", "unconditional_image", "unconditional_image_key_mask")


def sampler_inputs(ours):
    """(layout, sampler config with "steps", prompt) of a `pararl sample --json` object."""
    return ({k: ours[k] for k in LAYOUT_KEYS}, dict(ours["config"], steps=ours["steps"]),
            {k: ours[k] for k in PROMPT_KEYS})


class Rollouts:
    """G rollouts of one prompt. tokens [G, T]: the final sequences; reveal_step [G, N+L] (1…T) and log_prob [G, N+L]
    per output position (image codes, then text); partials {t: (text ids per rollout, image codes [G, N])}."""

    def __init__(self, tokens, reveal_step, log_prob, partials):
        self.tokens, self.reveal_step, self.log_prob, self.partials = tokens, reveal_step, log_prob, partials


def partial_output(x, candidates, layout):
    """docs/design.md §3.4 partial outputs after a step (partial_text: drop, partial_image: candidates, neutral code 0):
    the revealed text ids in order up to <|eos|>/<|pad|>, masks dropped; revealed codes, else the latest candidates."""
    n, L, mask = layout["image_codes"], layout["text_length"], layout["mask_id"]
    img0, txt0, off = layout["image_region_start"], layout["text_region_start"], layout["codebook_offset"]
    texts = []
    for row in x[:, txt0:txt0 + L].tolist():
        ids = []
        for tok in row:
            if tok == layout["eos_id"] or tok == layout["pad_id"]:
                break
            if tok != mask:
                ids.append(tok)
        texts.append(ids)
    image = x[:, img0:img0 + n]
    codes = torch.where(image != mask, image - off, candidates.clamp(min=0))
    return texts, codes


@torch.no_grad()
def sample(model, layout, sampler, prompt, group, gen, record_steps=()):
    steps, n, L = sampler["steps"], layout["image_codes"], layout["text_length"]
    img0, txt0, mask = layout["image_region_start"], layout["text_region_start"], layout["mask_id"]
    vt, off, kc = layout["text_vocab_size"], layout["codebook_offset"], layout["codebook_size"]
    text_ids = torch.tensor(list(range(vt)) + [layout["eos_id"], layout["pad_id"]])
    head = model.ff_out.weight
    w_text, w_image = head[text_ids], head[off:off + kc]
    tau_t, tau_i, g_img = sampler["text_temperature"], sampler["image_temperature"], sampler["image_guidance"]
    k_img = sampler["image_steps"]
    plan = schedule(steps, L, sampler["text_block_length"], n, k_img, sampler["image_placement"])

    x = torch.tensor(prompt["conditional"]).repeat(group, 1)
    key_mask = torch.tensor(prompt["conditional_key_mask"]).repeat(group, 1)
    x[:, img0:img0 + n] = mask
    x[:, txt0:txt0 + L] = mask
    uncond = None
    if prompt["unconditional_image"] is not None and g_img != 0:
        uncond = torch.tensor(prompt["unconditional_image"]).repeat(group, 1)
        uncond_mask = torch.tensor(prompt["unconditional_image_key_mask"]).repeat(group, 1)
    T = x.shape[1]
    logp_record = torch.zeros(group, n + L)
    reveal_step = torch.zeros(group, n + L, dtype=torch.long)
    candidates = torch.full((group, n), -1, dtype=torch.long)  # latest image-step candidates, -1 before the first
    partials = {}
    ar = torch.arange(group)[:, None]
    for s in range(steps):
        block, text_reveal, k, image_reveal = plan[s]
        image_step = k is not None
        if text_reveal > 0 or image_step:
            if image_step and uncond is not None:
                u = uncond.clone()
                u[:, T - (n + 3 + L):] = x[:, T - (n + 3 + L):]
                h = model.hidden(torch.cat([x, u]), torch.cat([key_mask, uncond_mask]))
            else:
                h = model.hidden(x, key_mask)
        if text_reveal > 0:
            a, b = txt0 + block[0], txt0 + block[1]
            masked = x[:, a:b] == mask                                   # same count in every rollout
            pos = masked.nonzero()[:, 1].view(group, -1) + a
            logits = h[ar, pos] @ w_text.T                               # [G, m, Wt]
            cand = (logits + tau_t * gumbel(logits.shape, gen)).argmax(-1) if tau_t > 0 else logits.argmax(-1)
            logp = torch.log_softmax(logits, -1).gather(-1, cand[..., None])[..., 0]
            top = logp.exp().topk(text_reveal, dim=-1).indices
            x[ar, pos.gather(1, top)] = text_ids[cand.gather(1, top)]
            logp_record[ar, pos.gather(1, top) - txt0 + n] = logp.gather(1, top)
            reveal_step[ar, pos.gather(1, top) - txt0 + n] = s + 1
        if image_step:
            masked = x[:, img0:img0 + n] == mask
            pos = masked.nonzero()[:, 1].view(group, -1) + img0
            cond = h[:group][ar, pos] @ w_image.T                        # [G, m, K]
            guided = cond
            if uncond is not None:
                guided = cond + g_img * (cond - h[group:][ar, pos] @ w_image.T)
            ratio = (k + 1) / k_img
            if tau_i > 0:
                probs = torch.softmax(guided / tau_i, -1)
                cand = torch.multinomial(probs.view(-1, kc), 1, generator=gen).view(group, -1)
                conf = torch.log(probs.gather(-1, cand[..., None])[..., 0]) + tau_i * (1 - ratio) * gumbel(cand.shape, gen)
            else:
                cand = guided.argmax(-1)
                conf = torch.log_softmax(guided, -1).gather(-1, cand[..., None])[..., 0]
            logp = torch.log_softmax(cond, -1).gather(-1, cand[..., None])[..., 0]
            candidates[ar, pos - img0] = cand
            top = conf.topk(image_reveal, dim=-1).indices
            x[ar, pos.gather(1, top)] = off + cand.gather(1, top)
            logp_record[ar, pos.gather(1, top) - img0] = logp.gather(1, top)
            reveal_step[ar, pos.gather(1, top) - img0] = s + 1
        if s + 1 in record_steps:
            partials[s + 1] = partial_output(x, candidates, layout)
    return Rollouts(x, reveal_step, logp_record, partials)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", default="runs/sft-tiny/step-00000400")
    ap.add_argument("--group", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--config", default=None)
    ap.add_argument("--edit", action="store_true", help="an editing prompt (input image; image guidance adds a pass)")
    ap.add_argument("--instruction", default="draw a large red circle at the center on a day background")
    ap.add_argument("--pararl", default=os.path.join(os.path.dirname(__file__), "..", "..", ".build", "release", "pararl"))
    ap.add_argument("--out", default="/tmp/peer-sampler")
    ap.add_argument("--reuse", action="store_true", help="reuse ParaRL's result saved in OUT/pararl.json by an earlier run")
    a = ap.parse_args()

    cmd = [a.pararl, "sample", "--checkpoint", a.checkpoint, "--instruction", a.instruction, "--group", str(a.group),
           "--threads", str(a.threads), "--repeats", str(a.repeats), "--out", a.out, "--json"]
    if a.config:
        cmd += ["--config", a.config]
    if a.edit:
        # The task's input image and instruction, from the world's eval split.
        os.makedirs(a.out, exist_ok=True)
        subprocess.run([a.pararl, "world", "generate", "--split", "eval", "--out", os.path.join(a.out, "world")],
                       check=True, capture_output=True)
        image = os.path.join(a.out, "world", "images", "eval-general-000-input.png")
        with open(os.path.join(a.out, "world", "eval.jsonl")) as f:
            task = next(json.loads(l) for l in f if '"eval-general-000"' in l)
        cmd[cmd.index("--instruction") + 1] = task["instruction"]
        cmd += ["--image", image]
    saved = os.path.join(a.out, "pararl.json")
    if a.reuse and os.path.exists(saved):
        ours = json.load(open(saved))
        print(f"(ParaRL timing reused from {saved})")
    else:
        ours = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        os.makedirs(a.out, exist_ok=True)
        json.dump(ours, open(saved, "w"))

    torch.set_num_threads(a.threads)
    model = load_policy(a.checkpoint)
    layout, sampler, prompt = sampler_inputs(ours)
    gen = torch.Generator().manual_seed(0)
    sample(model, layout, sampler, prompt, a.group, gen)  # warm-up
    times = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        sample(model, layout, sampler, prompt, a.group, gen)
        times.append(time.perf_counter() - t0)
    torch_s = statistics.median(times)
    rollout_steps = a.group * ours["steps"]
    kind = "editing (image CFG pass)" if a.edit else "generation (no unconditional pass)"
    print(f"parallel sampling, {kind} prompt, G={a.group}, T={ours['steps']}, K_img={ours['config']['image_steps']}, "
          f"sequence {len(ours['conditional'])}, {a.threads} threads, torch {torch.__version__}")
    print("| | s / batch of G | rollout-steps/s |")
    print("|---|---|---|")
    print(f"| PyTorch fp32 eager | {torch_s:.3f} | {rollout_steps / torch_s:.1f} |")
    print(f"| ParaRL | {ours['seconds']:.3f} | {ours['rollout_steps_per_second']:.1f} |")
    print(f"speed-up ParaRL / PyTorch: {torch_s / ours['seconds']:.2f}x")


if __name__ == "__main__":
    main()
