"""An independent measurement of a CLIP folder on the tiny-birds sample, in PyTorch: zero-shot
accuracy per taxonomy level with the project's class templates, and the ClearCLIP part keypoint
hit rate with the project's part prompts: `hitRate`, the share of a part's visible keypoints where
its prompt is the most similar to the patch features sampled there (the definition of `pscl
prompts score`, docs/prompt-quality.md), and `maskHitRate`, the share that fall inside the part's
mask (probabilities upsampled to the image, argmax, no closing). It shares no code with the TypeScript core or with the demo CLIP's
trainer: its own tokenizer (from tokenizer.json), image loading (PIL), prompt expansion and mask
computation; the network is clip_reference.py.

    /usr/bin/python3 test/python/demo_clip_measure.py [--model models/demo-clip] [--split test]

prints one JSON object: {"levels": {level: {"top1", "images"}}, "parts": {part: {"hitRate",
"maskHitRate", "keypoints"}}, "meanHitRate": x, "meanMaskHitRate": y}.
"""
import argparse
import json
import math
import re
import sys
import unicodedata
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from clip_reference import CLIP_MEAN, CLIP_STD, ClipReference  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "tiny-birds"
MASK_LOGIT_SCALE = 50.0  # docs/clearclip.md


class BpeTokenizer:
    """CLIP's tokenizer read from a tokenizer.json: vocabulary and merges from the file, CLIP's
    normalisation and word pattern, bytes as GPT-2 characters, '</w>' ending a word."""

    def __init__(self, folder):
        with open(Path(folder) / "tokenizer.json") as f:
            tj = json.load(f)
        self.vocab = tj["model"]["vocab"]
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in tj["model"]["merges"]]
        self.ranks = {m: i for i, m in enumerate(merges)}
        added = {t["content"]: t["id"] for t in tj["added_tokens"]}
        self.sot, self.eot = added["<|startoftext|>"], added["<|endoftext|>"]
        printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
        rest = [b for b in range(256) if b not in printable]
        self.chars = {b: chr(b) for b in printable} | {b: chr(256 + i) for i, b in enumerate(rest)}
        self.pattern = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+")

    def word(self, w):
        parts = [self.chars[b] for b in w.encode("utf-8")]
        parts[-1] = parts[-1] + "</w>"
        while len(parts) > 1:
            pairs = [(self.ranks.get(p, math.inf), i) for i, p in enumerate(zip(parts, parts[1:]))]
            rank, _ = min(pairs)
            if rank == math.inf:
                break
            first, second = next(p for p in zip(parts, parts[1:]) if self.ranks.get(p) == rank)
            out, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == first and parts[i + 1] == second:
                    out.append(first + second)
                    i += 2
                else:
                    out.append(parts[i])
                    i += 1
            parts = out
        return [self.vocab[p] for p in parts]

    def __call__(self, text, context=77):
        text = re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip().lower()
        ids = [self.sot] + [i for w in self.pattern.findall(text) for i in self.word(w)] + [self.eot]
        if len(ids) > context:
            ids = ids[:context - 1] + [self.eot]
        return ids + [self.eot] * (context - len(ids))


def expand(template, values):
    """{name}, {part}, {coarse}, {level:X}; {{ and }} are braces."""
    out = re.sub(r"\{(name|part|coarse|level:[^}]+)\}", lambda m: values[m.group(1)], template.replace("{{", "\0").replace("}}", "\1"))
    return out.replace("\0", "{").replace("\1", "}")


class Sample:
    """The CUB-format sample and its project file."""

    def __init__(self, root=SAMPLE):
        with open(root / "tiny-birds.pscl.json") as f:
            self.project = json.load(f)
        ds = root / self.project["dataset"]["root"]
        rows = lambda name: [line.split() for line in (ds / name).read_text().splitlines() if line.strip()]  # noqa: E731
        self.images = {int(i): ds / "images" / p for i, p in rows("images.txt")}
        self.split = {int(i): ("train" if s == "1" else "test") for i, s in rows("train_test_split.txt")}
        folders = {int(i): name for i, name in rows("classes.txt")}
        by_source = {c["source"]: c for c in self.project["classes"]}
        self.cls = {int(i): by_source[folders[int(c)]] for i, c in rows("image_class_labels.txt")}
        parts = {int(i): name for i, name in rows("parts/parts.txt")}
        self.keypoints = {}
        for i, p, x, y, v in rows("parts/part_locs.txt"):
            if v == "1":
                self.keypoints.setdefault(int(i), []).append((parts[int(p)], float(x), float(y)))
        self.levels = self.project["levels"]
        self.coarse = self.levels[0]

    def value(self, cls, level):
        return cls["name"] if level == self.levels[-1] else cls["path"][level]

    def template_values(self, cls, level):
        values = {f"level:{lv}": self.value(cls, lv) for lv in self.levels}
        return values | {"name": self.value(cls, level), "coarse": self.value(cls, self.coarse)}


def load_pixels(path, size):
    """PIL: RGB, bicubic to size x size, CLIP-normalised [3, size, size]."""
    img = Image.open(path).convert("RGB").resize((size, size), Image.BICUBIC)
    x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255).permute(2, 0, 1)
    return (x - torch.tensor(CLIP_MEAN)[:, None, None]) / torch.tensor(CLIP_STD)[:, None, None]


def text_embeddings(ref, tok, groups):
    """Each group of texts embedded, averaged and normalised (CLIP's prompt ensembling)."""
    out = []
    for texts in groups:
        e = ref.encode_text(torch.tensor([tok(t) for t in texts])).mean(0)
        out.append(e / e.norm())
    return torch.stack(out)


def part_of(cub_name):
    return re.sub(r"^(left|right)[_ ]", "", cub_name).replace("_", " ")


def part_prompts(ref, tok, sample, coarse="bird"):
    """Part names and their text embeddings: every phrasing through every part template, averaged."""
    parts = sample.project["parts"][coarse]
    templates = sample.project["templates"]["part"]
    groups = [[expand(t, {"part": ph, "coarse": coarse}) for ph in p["prompts"] for t in templates] for p in parts]
    return [p["name"] for p in parts], text_embeddings(ref, tok, groups)


def part_masks(ref, part_txt, pixels, size_hw, dense=None):
    """Label map [H, W] (part index, 0-based) of one image and its patch probabilities [gh, gw, P]:
    cosine x 50, softmax over parts, bilinear to the image size, argmax (no background prompt, so
    the closing has nothing to fill)."""
    if dense is None:
        dense = ref.dense(pixels[None], "clearclip")[0]  # [gh, gw, D]
    probs = torch.softmax(MASK_LOGIT_SCALE * dense @ part_txt.t(), dim=-1)
    up = F.interpolate(probs.permute(2, 0, 1)[None], size=size_hw, mode="bilinear", align_corners=False)[0]
    return up.argmax(0), probs


def keypoint_labels(dense, part_txt, points, size_wh):
    """The part whose prompt is most similar to the patch grid's feature at each keypoint: the grid
    sampled bilinearly there (align_corners=False, clamped at the border), normalised; `points`
    [(x, y)] in pixels of the image (`size_wh`)."""
    w, h = size_wh
    grid = torch.tensor([[(2 * x / w - 1, 2 * y / h - 1) for x, y in points]], dtype=torch.float32)[None]
    f = F.grid_sample(dense.permute(2, 0, 1)[None], grid, mode="bilinear", padding_mode="border", align_corners=False)
    f = F.normalize(f[0, :, 0].t(), dim=-1)
    return (f @ part_txt.t()).argmax(-1)


def measure(model_dir, split="test", size=448):
    torch.set_num_threads(2)
    ref = ClipReference(str(model_dir))
    tok = BpeTokenizer(model_dir)
    sample = Sample()
    ids = [i for i in sorted(sample.images) if sample.split[i] == split]
    templates = sample.project["templates"]["class"]
    with torch.no_grad():
        # zero-shot per level: each value's prompts from the first class carrying it
        protos = {}
        for level in sample.levels:
            first = {}
            for c in sample.project["classes"]:
                first.setdefault(sample.value(c, level), c)
            values = list(first)
            groups = [[expand(t, sample.template_values(first[v], level)) for t in templates] for v in values]
            protos[level] = (values, text_embeddings(ref, tok, groups))
        correct = dict.fromkeys(sample.levels, 0)
        hits = {}
        names, part_txt = part_prompts(ref, tok, sample)
        for i in ids:
            pixels = load_pixels(sample.images[i], size)
            emb = ref.embed_image(pixels[None])[0]
            for level, (values, txt) in protos.items():
                correct[level] += values[int((txt @ emb).argmax())] == sample.value(sample.cls[i], level)
            w, h = Image.open(sample.images[i]).size
            dense = ref.dense(pixels[None], "clearclip")[0]
            labels, _ = part_masks(ref, part_txt, pixels, (h, w), dense)
            kps = [(part_of(cub), x, y) for cub, x, y in sample.keypoints.get(i, []) if part_of(cub) in names]
            if not kps:
                continue
            at = keypoint_labels(dense, part_txt, [(x, y) for _, x, y in kps], (w, h))
            for (part, x, y), label in zip(kps, at.tolist()):
                got = hits.setdefault(part, [0, 0, 0])
                got[0] += label == names.index(part)
                got[1] += int(labels[min(int(y), h - 1), min(int(x), w - 1)]) == names.index(part)
                got[2] += 1
    parts = {p: {"hitRate": round(hits[p][0] / hits[p][2], 4), "maskHitRate": round(hits[p][1] / hits[p][2], 4), "keypoints": hits[p][2]}
             for p in names if p in hits}
    return {
        "model": str(model_dir),
        "split": split,
        "levels": {lv: {"top1": round(correct[lv] / len(ids), 4), "images": len(ids)} for lv in sample.levels},
        "parts": parts,
        "meanHitRate": round(float(np.mean([v["hitRate"] for v in parts.values()])), 4),
        "meanMaskHitRate": round(float(np.mean([v["maskHitRate"] for v in parts.values()])), 4),
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(ROOT / "models" / "demo-clip"))
    ap.add_argument("--split", default="test", choices=["test", "train"])
    ap.add_argument("--size", type=int, default=448)
    args = ap.parse_args()
    print(json.dumps(measure(Path(args.model), args.split, args.size), indent=1))
