"""The CLIP BPE tokenizer for the Python peers (tools/bench/): transformers' CLIPTokenizer built from the same
bpe_simple_vocab_16e6.txt.gz as ParaRL's (tools/setup.sh caches it in .cache/clip/), with open_clip's
`SimpleTokenizer` cleaning (ftfy.fix_text, html.unescape twice, whitespace, lowercase) and framing
([SOT] text [EOT], truncated with EOT last, zero-padded), as `pararl clip tokenize`.
Needs: pip install transformers ftfy. Checked against open_clip 3.3's ids (Tests/ParaRLCLIPTests/Fixtures/
clip_tokenizer.json) by `python3 tools/clip_bpe.py`.
"""
import gzip
import html
import json
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DEFAULT_VOCAB = os.path.join(ROOT, ".cache", "clip", "bpe_simple_vocab_16e6.txt.gz")


def bytes_to_unicode():
    """GPT-2's map of the 256 bytes to printable characters, as open_clip's."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class CLIPBPE:
    """`tok(texts, context_length)` → LongTensor [B, context_length]; `encode(text)` → BPE ids without SOT/EOT."""

    def __init__(self, bpe_path=DEFAULT_VOCAB):
        try:
            import ftfy
            from tokenizers import Regex, pre_tokenizers
            from transformers import CLIPTokenizer
        except ImportError as e:
            sys.exit(f"{e.name} is missing: pip install transformers ftfy")
        if not os.path.exists(bpe_path):
            sys.exit(f"{bpe_path} is missing: run `bash tools/setup.sh` (it fetches the CLIP BPE vocabulary)")
        self.fix_text = ftfy.fix_text
        lines = gzip.open(bpe_path).read().decode("utf-8").split("\n")
        merges = [tuple(m.split()) for m in lines[1:49152 - 256 - 2 + 1]]  # open_clip's slice
        symbols = list(bytes_to_unicode().values())
        vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
        vocab += ["<start_of_text>", "<end_of_text>"]  # open_clip's names: in a text they are the special ids
        self.sot, self.eot = len(vocab) - 2, len(vocab) - 1
        self.bpe = CLIPTokenizer(vocab={s: i for i, s in enumerate(vocab)}, merges=merges, unk_token="<end_of_text>",
                                 bos_token="<start_of_text>", eos_token="<end_of_text>", pad_token="<end_of_text>")
        # open_clip's word pattern (transformers' keeps "<|startoftext|>" whole; open_clip splits it).
        words = r"""<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
        self.bpe.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Split(Regex(words), behavior="removed", invert=True), pre_tokenizers.ByteLevel(add_prefix_space=False)])

    def clean(self, text):
        text = html.unescape(html.unescape(self.fix_text(text))).strip()
        return re.sub(r"\s+", " ", text).strip().lower()

    def encode(self, text):
        return self.bpe(self.clean(text), add_special_tokens=False)["input_ids"]

    def __call__(self, texts, context_length):
        import torch
        out = torch.zeros(len(texts), context_length, dtype=torch.long)
        for i, text in enumerate(texts):
            ids = [self.sot] + self.encode(text) + [self.eot]
            if len(ids) > context_length:
                ids = ids[:context_length]
                ids[-1] = self.eot
            out[i, :len(ids)] = torch.tensor(ids)
        return out


def main():
    """Compares with the committed open_clip reference ids; exits 1 on any mismatch."""
    fixture = json.load(open(os.path.join(ROOT, "Tests", "ParaRLCLIPTests", "Fixtures", "clip_tokenizer.json")))
    tok = CLIPBPE()
    bad = [c["text"] for c in fixture["cases"]
           if tok.encode(c["text"]) != c["ids"] or tok([c["text"]], 77)[0].tolist() != c["tokenized77"]]
    print(f"{len(fixture['cases']) - len(bad)} passed, {len(bad)} failed")
    for text in bad:
        print(f"  differs from open_clip: {text!r}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
