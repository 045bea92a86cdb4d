"""One ParaRL training step (trajectory objective; docs/design.md §3.5–3.7, Eq. 3–4 of MMaDA-Parallel) in a straightforward
PyTorch implementation beside ParaRL's `pararl bench step`, in one run, on the same workload; prints the time of each
phase of both and their ratio.

    python3 tools/bench/peer_step.py --config rl-configs/pararl-s3.yaml [--threads 2] [--repeats 3]
        [--pararl .build/release/pararl] [--out /tmp/peer-step] [--reuse]

ParaRL runs first (`pararl bench step --json`: per-phase medians over R timed steps after one warm-up step, and the
workload: policy checkpoint, CLIP model, sizes, the sampler config, the layout and per group its input sequences and
sampled steps S); its JSON is saved as OUT/pararl.json (--reuse reads it back). The peer then runs one warm-up step
and R timed steps of that workload in fp32 eager PyTorch and reports the median of each phase:
1. rollout: per group G rollouts as one batch by peer_sampler.sample (one forward of the G states per step, plus the
   G unconditional-image states on image steps of an editing prompt when g_img != 0), recording per output position
   its reveal step and log-probability (unguided logits) and the partial outputs at every t in S.
2. scoring: the P·G·s partial outputs decoded as ParaRL decodes them (text ids → words of the policy's text
   vocabulary; codes → pixels by the patch-VQ codebook), the texts tokenized with the real CLIP BPE (tools/clip_bpe.py,
   not random ids) and the pixels normalised, then one transformers.CLIPModel forward of both towers over all pairs;
   c = 100·cos. (If the policy's tokenizer files cannot be found, random CLIP ids and random pixels stand in.)
3. advantages: Eq. 4 rewards and per-step group standardisation. μ_CLIP and σ_CLIP are the mean and population std of
   the step's own scores: the benchmark has no calibration, and the cost does not depend on them.
4. reference: the update's states built from the records (the state before t: output positions revealed at a step
   ≥ t masked; scored tokens: those revealed at t), then π_ref of the scored tokens from a second copy of the weights,
   forward without gradient in micro-batches of update_batch_size (skipped when β = 0).
5. update: num_iterations × (per micro-batch a forward with gradient, logits only at the scored rows over their
   modality's slice of the head, log-softmax, ℓ = −(min(ρA, clip(ρ, 1−ε, 1+ε)A) − β·k3) weighted by the paper's
   aggregation 1/(|τ_i(t)|·G·P), backward; then clip_grad_norm_ and one AdamW step (β1 0.9, β2 0.999, no decay)).
The log phase (rollout-log rows, the judge) is ParaRL's only: the table shows it, the speed-up line compares ParaRL's
total with it, and a second line without it.
Beyond the JSON contract the peer reads, when present, workload.epsilon_high, .aggregation ("paper" | "token-mean"),
.objective and sampler.text_guidance/.decoding (refusing what it does not implement: the output-level objective, text
guidance, non-parallel decoding); the sampler's partial_text/partial_image are taken as the defaults drop/candidates.
Needs torch, safetensors, transformers and ftfy (pip install torch safetensors transformers ftfy), the CLIP BPE
vocabulary (bash tools/setup.sh). Build ParaRL first: swift build -c release.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_bpe import CLIPBPE  # noqa: E402
from peer_sampler import load_policy, sample  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
PHASES = ("rollout", "scoring", "advantages", "reference", "update")
CLIP_MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073])
CLIP_STD = torch.tensor([0.26862954, 0.26130258, 0.27577711])
STD_EPSILON = 1e-4  # docs/design.md §3.6
WORKLOAD_KEYS = ("checkpoint", "clip_model", "group_size", "prompts", "sampled_steps", "update_batch_size",
                 "num_iterations", "beta", "epsilon", "lr", "grad_clip", "sampler", "layout", "groups")
SAMPLER_KEYS = ("image_guidance", "image_placement", "image_steps", "image_temperature", "text_block_length",
                "text_temperature", "steps")
LAYOUT_KEYS = ("length", "image_codes", "text_length", "image_region_start", "text_region_start", "mask_id", "eos_id",
               "pad_id", "text_vocab_size", "codebook_offset", "codebook_size")
GROUP_KEYS = ("conditional", "conditional_key_mask", "unconditional_image", "unconditional_image_key_mask",
              "sampled_steps")


def check_contract(ours, source):
    """Exits naming the first key of the `pararl bench step --json` contract that `ours` lacks."""
    def need(obj, keys, where):
        for k in keys:
            if k not in obj:
                sys.exit(f"{source}: no \"{k}\" in {where}")
    need(ours, ("threads", "repeats", "cpu", "backend", "seconds", "gflops", "gemm_share", "workload"), "the top level")
    need(ours["seconds"], PHASES + ("log", "total"), "\"seconds\"")
    w = ours["workload"]
    need(w, WORKLOAD_KEYS, "\"workload\"")
    need(w["sampler"], SAMPLER_KEYS, "\"workload.sampler\"")
    need(w["layout"], LAYOUT_KEYS, "\"workload.layout\"")
    for k, g in enumerate(w["groups"]):
        need(g, GROUP_KEYS, f"\"workload.groups[{k}]\"")
        if len(g["sampled_steps"]) != w["sampled_steps"]:
            sys.exit(f"{source}: group {k} has {len(g['sampled_steps'])} sampled steps, workload.sampled_steps is "
                     f"{w['sampled_steps']}")
    if len(w["groups"]) != w["prompts"]:
        sys.exit(f"{source}: {len(w['groups'])} groups for workload.prompts = {w['prompts']}")
    # Optional keys beyond the contract: what the peer does not implement must not be asked for.
    if w["sampler"].get("text_guidance", 0) != 0 or w["sampler"].get("decoding", "parallel") != "parallel":
        sys.exit(f"{source}: the peer samples with parallel decoding and no text guidance (g_txt = 0) only")
    if w.get("aggregation", "paper") not in ("paper", "token-mean") or w.get("objective", "trajectory") != "trajectory":
        sys.exit(f"{source}: the peer runs the trajectory objective with paper or token-mean aggregation only")


class SnapshotDecoder:
    """Partial outputs to CLIP inputs as ParaRL's PolicyBundle.decode: text ids joined as words (no space before
    . , : ; ! ?), codes pasted as the patch-VQ codebook's p×p RGB patches (values in [0, 1], rounded to bytes)."""
    TIGHT = {".", ",", ":", ";", "!", "?"}

    def __init__(self, checkpoint):
        """Finds the tokenizers as PolicyBundle.load does: the paths sequence_layout.json records, else the run's
        tokenizer/ folder (CKPT/../tokenizer, CKPT/../../tokenizer); `words`/`codebook` stay None when absent."""
        self.words, self.codebook, self.patch, self.width = None, None, 0, 0
        recorded = {}
        layout_file = os.path.join(checkpoint, "sequence_layout.json")
        if os.path.exists(layout_file):
            recorded = json.load(open(layout_file))
        folders = [os.path.join(checkpoint, "..", "tokenizer"), os.path.join(checkpoint, "..", "..", "tokenizer")]

        def locate(path, name):
            tried = ([os.path.join(checkpoint, path)] if path else []) + [os.path.join(f, name) for f in folders]
            return next((p for p in tried if os.path.isfile(p)), None)

        text = locate(recorded.get("text_vocabulary"), "text_vocabulary.json")
        if text:
            self.words = json.load(open(text))["tokens"]
        vq = locate(recorded.get("image_tokenizer"), "vq.safetensors")
        if vq:
            from safetensors import safe_open
            with safe_open(vq, "pt") as f:
                meta = f.metadata()
            self.codebook = load_file(vq)["codebook"].float()
            self.patch, self.width = int(meta["patch_size"]), int(meta["image_width"])

    def text(self, ids):
        out = ""
        for w in (self.words[i] if 0 <= i < len(self.words) else "<unk>" for i in ids):
            out += (" " if out and w not in self.TIGHT else "") + w
        return out

    def pixels(self, codes, size, gen):
        """pixel_values [B, 3, size, size] of codes [B, N] (normalised with CLIP's mean and std)."""
        if self.codebook is None:
            return torch.randn(codes.shape[0], 3, size, size, generator=gen)
        p, across = self.patch, self.width // self.patch
        b, n = codes.shape
        patches = self.codebook[codes].view(b, n // across, across, p, p, 3)
        image = patches.permute(0, 1, 3, 2, 4, 5).reshape(b, (n // across) * p, across * p, 3)
        if image.shape[1:3] != (size, size):
            sys.exit(f"the partial images are {image.shape[2]}×{image.shape[1]}, the CLIP model takes {size}×{size}")
        image = (image * 255).round().clamp(0, 255) / 255
        return ((image - CLIP_MEAN) / CLIP_STD).permute(0, 3, 1, 2).contiguous()


class MicroBatch:
    """Update states of one micro-batch: tokens/key_mask [b, T]; per modality (state, position, column) of each scored
    row; per scored token (text rows, then image rows) π_old, π_ref, advantage and aggregation weight."""

    def __init__(self, states):
        self.tokens = torch.stack([s["tokens"] for s in states])
        self.key_mask = torch.stack([s["key_mask"] for s in states])
        self.rows = {}
        per_token = {"old": [], "advantage": [], "weight": []}
        for m in ("text", "image"):
            b, pos, col = [], [], []
            for i, s in enumerate(states):
                pick = s["image"] if m == "image" else ~s["image"]
                b.append(torch.full((int(pick.sum()),), i))
                pos.append(s["positions"][pick])
                col.append(s["columns"][pick])
                per_token["old"].append(s["old"][pick])
                per_token["advantage"].append(torch.full((int(pick.sum()),), s["advantage"]))
                per_token["weight"].append(torch.full((int(pick.sum()),), s["weight"]))
            self.rows[m] = (torch.cat(b), torch.cat(pos), torch.cat(col))
        self.old, self.advantage, self.weight = (torch.cat(per_token[k]) for k in ("old", "advantage", "weight"))
        self.reference = None


def head_slices(layout):
    vt, off, kc = layout["text_vocab_size"], layout["codebook_offset"], layout["codebook_size"]
    return {"text": torch.tensor(list(range(vt)) + [layout["eos_id"], layout["pad_id"]]),
            "image": torch.arange(off, off + kc)}


def log_probs(model, batch, slices):
    """log π(target | state) of every scored token of `batch` (text rows, then image rows), as PolicyLikelihood."""
    h = model.hidden(batch.tokens, batch.key_mask)                        # [b, T, d]
    out = []
    for m in ("text", "image"):
        b, pos, col = batch.rows[m]
        if len(b) == 0:
            continue
        logits = h[b, pos] @ model.ff_out.weight[slices[m]].T               # [rows, slice]
        out.append(torch.log_softmax(logits, -1).gather(1, col[:, None])[:, 0])
    return torch.cat(out)


def token_loss(l, batch, epsilon, epsilon_high, beta):
    """ℓ = −(min(ρA, clip(ρ, 1−ε, 1+ε_high)A) − β·k3), ρ = exp(l − l_old), k3 = exp(r − l) − (r − l) − 1
    (DiffusionGRPO.token)."""
    ratio = torch.exp(l - batch.old)
    surrogate = torch.minimum(ratio * batch.advantage, ratio.clamp(1 - epsilon, 1 + epsilon_high) * batch.advantage)
    if batch.reference is None or beta == 0:
        return -surrogate
    d = batch.reference - l
    return -(surrogate - beta * (torch.exp(d) - d - 1))


class PeerStep:
    def __init__(self, ours):
        w = self.w = ours["workload"]
        self.layout, self.sampler = w["layout"], w["sampler"]
        self.policy = load_policy(w["checkpoint"])
        self.reference = load_policy(w["checkpoint"]) if w["beta"] > 0 else None  # the SFT policy, a second copy
        if self.reference is not None:
            self.reference.requires_grad_(False)
        self.optimizer = torch.optim.AdamW(self.policy.parameters(), lr=w["lr"], betas=(0.9, 0.999), eps=1e-8,
                                           weight_decay=0.0)
        from transformers import CLIPModel
        # fp32: transformers 5 would otherwise keep the checkpoint's dtype (the world CLIP is stored in BF16).
        self.clip = CLIPModel.from_pretrained(w["clip_model"], dtype=torch.float32).eval()
        self.context = self.clip.config.text_config.max_position_embeddings
        self.image_size = self.clip.config.vision_config.image_size
        self.decoder = SnapshotDecoder(w["checkpoint"])
        self.tokenizer = CLIPBPE() if self.decoder.words is not None else None
        self.slices = head_slices(self.layout)
        L = self.layout
        self.positions = torch.cat([torch.arange(L["image_region_start"], L["image_region_start"] + L["image_codes"]),
                                    torch.arange(L["text_region_start"], L["text_region_start"] + L["text_length"])])
        self.gen = torch.Generator().manual_seed(0)
        self.stats = {}

    def rollout(self):
        return [sample(self.policy, self.layout, self.sampler, g, self.w["group_size"], self.gen,
                       record_steps=set(g["sampled_steps"])) for g in self.w["groups"]]

    @torch.no_grad()
    def score(self, rollouts):
        """c[k][i][j]: CLIP score of rollout i of group k at its j-th sampled step, all pairs in one batch."""
        texts, codes = [], []
        for g, r in zip(self.w["groups"], rollouts):
            for i in range(self.w["group_size"]):
                for t in g["sampled_steps"]:
                    ids, image = r.partials[t]
                    texts.append(ids[i])
                    codes.append(image[i])
        if self.tokenizer is None:
            input_ids = torch.randint(1, 49406, (len(texts), self.context), generator=self.gen)
        else:
            input_ids = self.tokenizer([self.decoder.text(ids) for ids in texts], self.context)
        pixels = self.decoder.pixels(torch.stack(codes), self.image_size, self.gen)
        out = self.clip(input_ids=input_ids, pixel_values=pixels)
        c = 100 * (out.text_embeds * out.image_embeds).sum(-1)
        return c.view(len(rollouts), self.w["group_size"], self.w["sampled_steps"]).double()

    def advantages(self, scores):
        """Eq. 4 rewards R = ½(1 + clip((c − μ)/σ, −1, 1)), then per group and step (R − mean) / (std + 1e-4) over G."""
        mu, sigma = scores.mean(), scores.std(unbiased=False).clamp(min=1e-12)
        rewards = 0.5 * (1 + ((scores - mu) / sigma).clamp(-1, 1))
        mean = rewards.mean(1, keepdim=True)
        std = rewards.std(1, unbiased=False, keepdim=True)
        a = (rewards - mean) / (std + STD_EPSILON)
        return torch.where(std == 0, torch.zeros_like(a), a)

    def build_update(self, rollouts, advantages):
        """The update's micro-batches: one state per (rollout, t ∈ S) with a token revealed at t; then π_ref."""
        L, G, P = self.layout, self.w["group_size"], self.w["prompts"]
        n, vt, off, mask = L["image_codes"], L["text_vocab_size"], L["codebook_offset"], L["mask_id"]
        states = []
        for k, (g, r) in enumerate(zip(self.w["groups"], rollouts)):
            key_mask = torch.tensor(g["conditional_key_mask"])
            for i in range(G):
                final = r.tokens[i]
                for j, t in enumerate(g["sampled_steps"]):
                    indices = (r.reveal_step[i] == t).nonzero()[:, 0]
                    if len(indices) == 0:
                        continue  # |τ_i(t)| = 0 contributes nothing
                    tokens = final.clone()
                    tokens[self.positions[r.reveal_step[i] >= t]] = mask
                    positions = self.positions[indices]
                    targets = final[positions]
                    image = indices < n
                    columns = torch.where(image, targets - off, torch.where(
                        targets == L["eos_id"], vt, torch.where(targets == L["pad_id"], vt + 1, targets)))
                    states.append({"tokens": tokens, "key_mask": key_mask, "positions": positions, "columns": columns,
                                   "image": image, "old": r.log_prob[i][indices], "advantage": float(advantages[k, i, j]),
                                   "weight": 1.0 / (len(indices) * G * P)})
        if self.w.get("aggregation", "paper") == "token-mean":
            total = sum(len(s["old"]) for s in states)
            for s in states:
                s["weight"] = 1.0 / total
        b = self.w["update_batch_size"]
        batches = [MicroBatch(states[s:s + b]) for s in range(0, len(states), b)]
        if self.reference is not None:
            with torch.no_grad():
                for batch in batches:
                    batch.reference = log_probs(self.reference, batch, self.slices)
        self.stats = {"states": len(states), "tokens": sum(len(bt.old) for bt in batches)}
        return batches

    def update(self, batches):
        params = list(self.policy.parameters())
        for _ in range(self.w["num_iterations"]):
            self.optimizer.zero_grad(set_to_none=False)
            loss_sum = 0.0
            for batch in batches:
                l = log_probs(self.policy, batch, self.slices)
                ell = token_loss(l, batch, self.w["epsilon"], self.w.get("epsilon_high") or self.w["epsilon"], self.w["beta"])
                loss = (batch.weight * ell).sum()
                loss.backward()
                loss_sum += float(loss.detach())
            norm = torch.nn.utils.clip_grad_norm_(params, self.w["grad_clip"])
            if torch.isfinite(norm) and loss_sum == loss_sum:
                self.optimizer.step()

    def step(self):
        """One training step; the seconds of each phase."""
        seconds, t0 = {}, time.perf_counter()

        def lap(name):
            nonlocal t0
            now = time.perf_counter()
            seconds[name] = now - t0
            t0 = now

        rollouts = self.rollout()
        lap("rollout")
        scores = self.score(rollouts)
        lap("scoring")
        advantages = self.advantages(scores)
        lap("advantages")
        batches = self.build_update(rollouts, advantages)
        lap("reference")
        self.update(batches)
        lap("update")
        seconds["total"] = sum(seconds[p] for p in PHASES)
        self.stats["nonzero_advantages"] = int((advantages != 0).sum())
        return seconds


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            return next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def run_pararl(a, saved):
    if a.reuse and os.path.exists(saved):
        print(f"(ParaRL timing reused from {saved})")
        return json.load(open(saved))
    cmd = [a.pararl, "bench", "step", "--config", os.path.abspath(a.config), "--threads", str(a.threads),
           "--repeats", str(a.repeats), "--prompts", str(a.prompts), "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout.strip()
    try:
        ours = json.loads(out)
    except json.JSONDecodeError:
        ours = json.loads(out.splitlines()[-1])  # progress lines before the JSON object
    os.makedirs(a.out, exist_ok=True)
    json.dump(ours, open(saved, "w"))
    return ours


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default=os.path.join(ROOT, "rl-configs", "pararl-s3.yaml"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--prompts", type=int, default=2, help="prompts per step (the benchmark's standard: 2 prompts × G 8)")
    ap.add_argument("--pararl", default=os.path.join(ROOT, ".build", "release", "pararl"))
    ap.add_argument("--out", default="/tmp/peer-step")
    ap.add_argument("--reuse", action="store_true", help="reuse ParaRL's result saved in OUT/pararl.json by an earlier run")
    a = ap.parse_args()

    saved = os.path.join(a.out, "pararl.json")
    ours = run_pararl(a, saved)
    check_contract(ours, saved)
    w = ours["workload"]

    torch.set_num_threads(a.threads)
    peer = PeerStep(ours)
    peer.step()  # warm-up
    runs = [peer.step() for _ in range(a.repeats)]
    torch_s = {p: statistics.median(r[p] for r in runs) for p in PHASES + ("total",)}

    s = w["sampler"]
    print(f"ParaRL training step (trajectory objective): P={w['prompts']} prompts × G={w['group_size']}, "
          f"T={s['steps']}, s={w['sampled_steps']}, K_img={s['image_steps']}, sequence {w['layout']['length']}, "
          f"update micro-batch {w['update_batch_size']}, num_iterations {w['num_iterations']}, beta {w['beta']}; "
          f"{a.threads} threads (ParaRL: {ours['threads']}), medians of {a.repeats} steps (ParaRL: {ours['repeats']}) "
          f"after a warm-up")
    print(f"CPU: {cpu_name()}; torch {torch.__version__}; ParaRL backend {ours['backend']}, "
          f"{ours['gflops']:.1f} GFLOP/s, GEMM share {100 * ours['gemm_share']:.0f}%")
    print(f"peer workload: {peer.stats['states']} update states, {peer.stats['tokens']} scored tokens, "
          f"{peer.stats['nonzero_advantages']}/{w['prompts'] * w['group_size'] * w['sampled_steps']} advantages ≠ 0; "
          f"CLIP inputs: {'decoded partial outputs' if peer.tokenizer else 'random ids and pixels'}")
    print("| phase | PyTorch s | ParaRL s | PyTorch / ParaRL |")
    print("|---|---|---|---|")
    for p in PHASES:
        ratio = torch_s[p] / ours["seconds"][p] if ours["seconds"][p] > 0 else float("inf")
        print(f"| {p} | {torch_s[p]:.3f} | {ours['seconds'][p]:.3f} | {ratio:.2f}x |")
    print(f"| log | — | {ours['seconds']['log']:.3f} | — |")
    print(f"| total | {torch_s['total']:.3f} | {ours['seconds']['total']:.3f} | "
          f"{torch_s['total'] / ours['seconds']['total']:.2f}x |")
    print(f"speed-up ParaRL / PyTorch: {torch_s['total'] / ours['seconds']['total']:.2f}x")
    without_log = ours["seconds"]["total"] - ours["seconds"]["log"]
    print(f"speed-up without ParaRL's log phase: {torch_s['total'] / without_log:.2f}x")


if __name__ == "__main__":
    main()
