#!/usr/bin/env python3
"""CLIP scoring throughput (pairs/s): transformers.CLIPModel beside `pararl clip score`, same model, pairs and batch,
one run each. Both sides include tokenization, preprocessing and both towers (not PNG decoding in Python, which
reads the images before the clock starts; Swift decodes before its clock too). fp32, --threads on both sides.
The Python side tokenizes with tools/clip_bpe.py (the same BPE file, open_clip's ids).

  python3 tools/bench/peer_clip.py --model runs/clip-tiny/model --pairs 1024 --batch 64 --threads 2
    [--pararl .build/release/pararl]

Needs torch, transformers, ftfy, Pillow (pip install torch transformers ftfy Pillow) and the CLIP BPE vocabulary
(bash tools/setup.sh). Build ParaRL first: swift build -c release.
"""
import argparse, json, os, subprocess, sys, tempfile, time
import numpy as np
import torch

try:
    from PIL import Image
    from transformers import CLIPModel
except ImportError as e:
    sys.exit(f"{e.name} is missing: pip install transformers ftfy Pillow")

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../..")
sys.path.insert(0, os.path.join(ROOT, "tools"))
from clip_bpe import CLIPBPE  # noqa: E402

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--pairs", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pararl", default=os.path.join(ROOT, ".build/release/pararl"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    work = tempfile.mkdtemp(prefix="peer-clip-")
    subprocess.run([args.pararl, "world", "generate", "--split", "train", "--count", str(args.pairs), "--out", work],
                   check=True, stdout=subprocess.DEVNULL)
    rows = [json.loads(l) for l in open(os.path.join(work, "train.jsonl"))][: args.pairs]
    pairs_path = os.path.join(work, "pairs.jsonl")
    with open(pairs_path, "w") as f:
        for r in rows:
            f.write(json.dumps({"text": r["reasoning"], "image": r["output_image"]}) + "\n")

    # fp32: transformers 5 would otherwise keep the checkpoint's dtype (the shipped world CLIP is stored in BF16).
    model = CLIPModel.from_pretrained(args.model, dtype=torch.float32).eval()
    context = model.config.text_config.max_position_embeddings
    tok = CLIPBPE(os.path.join(ROOT, ".cache/clip/bpe_simple_vocab_16e6.txt.gz"))
    texts = [r["reasoning"] for r in rows]
    images = [np.asarray(Image.open(os.path.join(work, r["output_image"])).convert("RGB")) for r in rows]
    size = model.config.vision_config.image_size
    assert all(i.shape[:2] == (size, size) for i in images), "world images must already be at the model's size"

    start = time.perf_counter()
    scores = []
    with torch.no_grad():
        for s in range(0, len(texts), args.batch):
            ids = tok(texts[s:s + args.batch], context_length=context)
            pix = torch.from_numpy(np.stack([((i.astype(np.float32) / 255) - MEAN) / STD for i in images[s:s + args.batch]])
                                   .transpose(0, 3, 1, 2).copy())
            out = model(input_ids=ids, pixel_values=pix)
            scores.append(100 * (out.text_embeds * out.image_embeds).sum(-1))
    torch_seconds = time.perf_counter() - start
    torch_scores = torch.cat(scores).numpy()
    torch_rate = len(texts) / torch_seconds

    run = subprocess.run([args.pararl, "clip", "score", "--model", args.model, "--pairs", pairs_path, "--batch",
                          str(args.batch), "--threads", str(args.threads), "--summary"],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    swift = json.loads(run.stdout.strip().splitlines()[-1])
    full = subprocess.run([args.pararl, "clip", "score", "--model", args.model, "--pairs", pairs_path, "--batch",
                           str(args.batch), "--threads", str(args.threads)], check=True, capture_output=True, text=True, cwd=ROOT)
    swift_scores = np.array([json.loads(l)["score"] for l in full.stdout.strip().splitlines()])
    print(f"pairs {len(texts)}  batch {args.batch}  threads {args.threads}")
    print(f"transformers.CLIPModel: {torch_rate:.1f} pairs/s ({torch_seconds:.3f} s)")
    print(f"pararl clip score:      {swift['pairs_per_second']:.1f} pairs/s ({swift['seconds']:.3f} s)")
    print(f"ratio (pararl / torch): {swift['pairs_per_second'] / torch_rate:.2f}x")
    print(f"max |score difference|: {np.abs(swift_scores - torch_scores).max():.2e}")


if __name__ == "__main__":
    main()
