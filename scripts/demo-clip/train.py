"""Trains the demo CLIP on birds of the sample's world (scripts/demo-clip/generate.mjs made the
data) and writes it as a Hugging Face CLIPModel folder the core reads (config.json and
model.safetensors; make.ts adds the tokenizer files).

    /usr/bin/python3 scripts/demo-clip/train.py --data DIR --out DIR [--steps 450] [--low-steps 100] ...

(make.ts runs it with the defaults: they are the demo model's recipe).

What it learns, all on CPU:
  - global: image embeddings (CLS, the standard last block) against captions of whole birds
    (class names at every taxonomy level, head colours), a CLIP loss where a caption is a positive
    of every image it is true of;
  - dense: the ClearCLIP path of the last block (q-q attention, no residual, no feed-forward) on
    every patch against part phrases, with the share of each part in the patch as the target
    (small parts weighted up by their inverse area, so the eye still wins the patch it sits in),
    at the logit scale of the mask pipeline (50); and once more with a background phrase.

Bit for bit deterministic for a given machine type and library build: seeds only from numpy's
frozen RandomState, a fixed thread count, pinned CPU kernels (set before torch is imported), no
convolution (the patch embedding is a matrix product), a hand-written AdamW, and
torch.use_deterministic_algorithms. See scripts/demo-clip/README.md.
"""
import argparse
import json
import math
import os
import re
import struct
import sys
import time
import unicodedata

THREADS = 2
# Pin every CPU kernel choice before torch loads: the same results on any x86-64 machine with AVX2
# (OpenBLAS picks its kernels per CPU model, ATen per instruction set, both at start-up).
os.environ["OMP_NUM_THREADS"] = str(THREADS)
os.environ["OPENBLAS_NUM_THREADS"] = str(THREADS)
os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")
os.environ.setdefault("ATEN_CPU_CAPABILITY", "avx2")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# -- the architecture (HF CLIPModel names) ------------------------------------------------------
ARCH = {
    "vision": {"hidden_size": 96, "intermediate_size": 384, "num_attention_heads": 4, "num_hidden_layers": 4,
               "image_size": 448, "patch_size": 32},
    "text": {"hidden_size": 128, "intermediate_size": 512, "num_attention_heads": 4, "num_hidden_layers": 3,
             "max_position_embeddings": 77},  # vocab_size: from the tokenizer
    "projection_dim": 64,
}
# The patch kernel is constant over 2x2 pixel blocks: it sees the 448-pixel input (the sample's
# 160-pixel birds enlarged) at 224, and trains as a 16x16 patch product on the 2x2-averaged image:
# 16x fewer multiply-adds than the 32x32 convolution it is saved as, with the same output.
PATCH_POOL = 2
PATCH_BLOCKS = "patch_embedding.blocks"  # the trained block kernel [W, 3, 16, 16]
DENSE_LOGIT_SCALE = 50.0  # the mask pipeline's (src/core/masks/similarity.ts)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
LN_EPS = 1e-5


# -- tokenizer: CLIP's byte-level BPE, with the merges generate.mjs learnt from the texts ------------
def _byte_chars():
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    extra = [b for b in range(256) if b not in bs]
    return {b: chr(b) for b in bs} | {b: chr(256 + i) for i, b in enumerate(extra)}, bs + extra


BYTE_CHARS, BYTE_ORDER = _byte_chars()
# CLIP's pattern with \p{L} as [^\W\d_] and \p{N} as \d (the same on ASCII)
SPLIT = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+")


class Tokenizer:
    """CLIP's tokenizer: NFC, whitespace collapsed, lower case; words by CLIP's pattern (for the
    ASCII texts trained on), bytes as characters, '</w>' on the last; BPE by merge rank. The
    vocabulary: 256 bytes, the same with '</w>', one token per merge, <|startoftext|>, <|endoftext|>."""

    def __init__(self, merges, context=77):
        base = [BYTE_CHARS[b] for b in BYTE_ORDER]
        vocab = base + [c + "</w>" for c in base] + [a + b for a, b in merges]
        self.ids = {t: i for i, t in enumerate(vocab)}
        self.ranks = {tuple(m): i for i, m in enumerate(merges)}
        self.sot, self.eot = len(vocab), len(vocab) + 1
        self.size = len(vocab) + 2
        self.context = context
        self.cache = {}

    def bpe(self, word):
        symbols = [BYTE_CHARS[b] for b in word.encode("utf-8")]
        symbols[-1] += "</w>"
        while len(symbols) > 1:
            best = min(zip(symbols, symbols[1:]), key=lambda p: self.ranks.get(p, math.inf))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    merged.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            symbols = merged
        return [self.ids[s] for s in symbols]

    def __call__(self, text):
        if text not in self.cache:
            norm = re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip().lower()
            ids = [self.sot] + [i for w in SPLIT.findall(norm) for i in self.bpe(w)] + [self.eot]
            if len(ids) > self.context:
                ids = ids[:self.context - 1] + [self.eot]
            self.cache[text] = ids
        return self.cache[text]


# -- the model ---------------------------------------------------------------------------------
def init_params(rng):
    """Every tensor of the folder, by its transformers name, drawn from numpy's RandomState."""
    p = {}

    def normal(name, shape, std):
        p[name] = torch.from_numpy((rng.standard_normal(shape) * std).astype(np.float32))

    def const(name, shape, value):
        p[name] = torch.full(shape, float(value))

    def tower(prefix, cfg):
        w, m = cfg["hidden_size"], cfg["intermediate_size"]
        layers = cfg["num_hidden_layers"]
        for i in range(layers):
            q = f"{prefix}.encoder.layers.{i}"
            for proj in ("q_proj", "k_proj", "v_proj"):
                normal(f"{q}.self_attn.{proj}.weight", (w, w), w ** -0.5)
                const(f"{q}.self_attn.{proj}.bias", (w,), 0)
            normal(f"{q}.self_attn.out_proj.weight", (w, w), (w ** -0.5) / math.sqrt(2 * layers))
            const(f"{q}.self_attn.out_proj.bias", (w,), 0)
            for ln in ("layer_norm1", "layer_norm2"):
                const(f"{q}.{ln}.weight", (w,), 1)
                const(f"{q}.{ln}.bias", (w,), 0)
            normal(f"{q}.mlp.fc1.weight", (m, w), w ** -0.5)
            const(f"{q}.mlp.fc1.bias", (m,), 0)
            normal(f"{q}.mlp.fc2.weight", (w, m), (m ** -0.5) / math.sqrt(2 * layers))
            const(f"{q}.mlp.fc2.bias", (w,), 0)

    t, v, d = ARCH["text"], ARCH["vision"], ARCH["projection_dim"]
    normal("text_model.embeddings.token_embedding.weight", (t["vocab_size"], t["hidden_size"]), 0.02)
    normal("text_model.embeddings.position_embedding.weight", (t["max_position_embeddings"], t["hidden_size"]), 0.01)
    tower("text_model", t)
    const("text_model.final_layer_norm.weight", (t["hidden_size"],), 1)
    const("text_model.final_layer_norm.bias", (t["hidden_size"],), 0)
    normal("text_projection.weight", (d, t["hidden_size"]), t["hidden_size"] ** -0.5)
    w, ps = v["hidden_size"], v["patch_size"]
    grid = v["image_size"] // ps
    normal("vision_model.embeddings.class_embedding", (w,), w ** -0.5)
    k = ps // PATCH_POOL
    normal(PATCH_BLOCKS, (w, 3, k, k), (3 * k * k) ** -0.5)
    normal("vision_model.embeddings.position_embedding.weight", (grid * grid + 1, w), 0.02)
    for ln in ("pre_layrnorm", "post_layernorm"):  # sic: transformers' spelling
        const(f"vision_model.{ln}.weight", (w,), 1)
        const(f"vision_model.{ln}.bias", (w,), 0)
    tower("vision_model", v)
    # the last block's q at twice the scale: its q-q attention (ClearCLIP's) starts close to each
    # patch attending to itself, so the dense path keeps local detail from the first step
    last = f"vision_model.encoder.layers.{v['num_hidden_layers'] - 1}.self_attn.q_proj.weight"
    p[last] = p[last] * Q_SCALE_LAST
    normal("visual_projection.weight", (d, w), w ** -0.5)
    p["logit_scale"] = torch.tensor(math.log(1 / 0.07))
    return p


class Clip:
    """The forward passes of transformers' CLIPModel, written out over the parameter dict."""

    def __init__(self, p):
        self.p = p

    def ln(self, x, name):
        return F.layer_norm(x, (x.shape[-1],), self.p[name + ".weight"], self.p[name + ".bias"], LN_EPS)

    def lin(self, x, name):
        return F.linear(x, self.p[name + ".weight"], self.p.get(name + ".bias"))

    def qkv(self, y, prefix, heads):
        b, n, w = y.shape
        split = lambda z: z.reshape(b, n, heads, w // heads).transpose(1, 2)  # noqa: E731
        return (split(self.lin(y, prefix + ".self_attn.q_proj")), split(self.lin(y, prefix + ".self_attn.k_proj")),
                split(self.lin(y, prefix + ".self_attn.v_proj")))

    def merge(self, o, prefix):
        b, h, n, d = o.shape
        return self.lin(o.transpose(1, 2).reshape(b, n, h * d), prefix + ".self_attn.out_proj")

    def block(self, x, prefix, heads, mask=None):
        q, k, v = self.qkv(self.ln(x, prefix + ".layer_norm1"), prefix, heads)
        s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        if mask is not None:
            s = s + mask
        x = x + self.merge(torch.softmax(s, dim=-1) @ v, prefix)
        h = self.lin(self.ln(x, prefix + ".layer_norm2"), prefix + ".mlp.fc1")
        return x + self.lin(h * torch.sigmoid(1.702 * h), prefix + ".mlp.fc2")

    def clearclip_block(self, x, prefix, heads):
        """ClearCLIP's last block: q-q attention on ln_1(x), no residual, no feed-forward."""
        q, _, v = self.qkv(self.ln(x, prefix + ".layer_norm1"), prefix, heads)
        s = q @ q.transpose(-1, -2) / math.sqrt(q.shape[-1])
        return self.merge(torch.softmax(s, dim=-1) @ v, prefix)

    def encode_text(self, ids):
        """ids [T, L] (padded with <|endoftext|>, L <= 77) -> normalised [T, D]. The causal mask
        makes the <|endoftext|> output independent of the padding after it, so L may be short."""
        t = ARCH["text"]
        n = ids.shape[1]
        x = F.embedding(ids, self.p["text_model.embeddings.token_embedding.weight"])
        x = x + self.p["text_model.embeddings.position_embedding.weight"][:n]
        mask = torch.full((n, n), float("-inf")).triu(1)
        for i in range(t["num_hidden_layers"]):
            x = self.block(x, f"text_model.encoder.layers.{i}", t["num_attention_heads"], mask)
        x = self.ln(x, "text_model.final_layer_norm")
        pooled = x[torch.arange(x.shape[0]), ids.argmax(dim=-1)]
        return F.normalize(F.linear(pooled, self.p["text_projection.weight"]), dim=-1)

    def patch_embed(self, pooled):
        """The patch convolution as a matrix product on the 2x2-averaged image
        ([B, 3, H/2, W/2] -> [B, H/p * W/p, W])."""
        b, c, hh, ww = pooled.shape
        k = ARCH["vision"]["patch_size"] // PATCH_POOL
        gh, gw = hh // k, ww // k
        patches = pooled.reshape(b, c, gh, k, gw, k).permute(0, 2, 4, 1, 3, 5).reshape(b, gh * gw, c * k * k)
        weight = self.p[PATCH_BLOCKS]
        return patches @ weight.reshape(weight.shape[0], -1).t()

    def position_embedding(self, patches):
        """The table, its patch rows resized bicubically to a smaller grid as the core does it
        (src/core/clip/graph/posembed.ts: PyTorch's kernel), so low-resolution steps train it too."""
        pos = self.p["vision_model.embeddings.position_embedding.weight"]
        g = int(round(math.sqrt(pos.shape[0] - 1)))
        n = int(round(math.sqrt(patches)))
        if n == g:
            return pos
        grid = pos[1:].reshape(1, g, g, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(n, n), mode="bicubic", align_corners=False)
        return torch.cat([pos[:1], grid.permute(0, 2, 3, 1).reshape(n * n, -1)], dim=0)

    def trunk(self, pixels):
        v = ARCH["vision"]
        x = self.patch_embed(pixels)
        cls = self.p["vision_model.embeddings.class_embedding"].expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.position_embedding(x.shape[1])
        x = self.ln(x, "vision_model.pre_layrnorm")
        for i in range(v["num_hidden_layers"] - 1):
            x = self.block(x, f"vision_model.encoder.layers.{i}", v["num_attention_heads"])
        return x

    def project(self, x):
        return F.normalize(F.linear(self.ln(x, "vision_model.post_layernorm"), self.p["visual_projection.weight"]), dim=-1)

    def encode_image(self, pixels):
        """(global [B, D], dense ClearCLIP patch features [B, N, D]) from one trunk pass."""
        v = ARCH["vision"]
        x = self.trunk(pixels)
        last = f"vision_model.encoder.layers.{v['num_hidden_layers'] - 1}"
        g = self.block(x, last, v["num_attention_heads"])[:, 0]
        d = self.clearclip_block(x, last, v["num_attention_heads"])[:, 1:]
        return self.project(g), self.project(d)


# -- data --------------------------------------------------------------------------------------
MEAN = torch.tensor(CLIP_MEAN).reshape(1, 3, 1, 1)
STD = torch.tensor(CLIP_STD).reshape(1, 3, 1, 1)


def resample_matrix(n_in, n_out, pool):
    """[n_out / pool, n_in]: bicubic enlargement to n_out (PyTorch's: Keys, A = -0.75, half-pixel
    centres, taps clamped at the border), then the mean of `pool` neighbours, in float64."""
    a = -0.75
    m = np.zeros((n_out, n_in))
    for o in range(n_out):
        x = (o + 0.5) * n_in / n_out - 0.5
        i0 = math.floor(x)
        t = x - i0
        for k in range(-1, 3):
            d = abs(t - k)
            w = ((a + 2) * d - (a + 3)) * d * d + 1 if d <= 1 else ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
            m[o, min(max(i0 + k, 0), n_in - 1)] += w
    return m.reshape(n_out // pool, pool, n_in).mean(1)


RESAMPLE = {}


def model_pixels(images_u8, size):
    """uint8 [B, h, w, 3] -> what the patch kernel sees of a size x size model input: the image
    resized bicubically (as the core's image loader does), CLIP's normalisation, and the mean of
    each 2x2 block; one matrix per axis (the decoder's rounding to 8 bits is left out: it moves a
    value by at most 0.5/255)."""
    b, h, w, _ = images_u8.shape
    key = (h, w, size)
    if key not in RESAMPLE:
        RESAMPLE[key] = (torch.from_numpy(resample_matrix(h, size, PATCH_POOL).astype(np.float32)),
                         torch.from_numpy(resample_matrix(w, size, PATCH_POOL).astype(np.float32)))
    my, mx = RESAMPLE[key]
    x = torch.from_numpy(np.ascontiguousarray(images_u8)).permute(0, 3, 1, 2).float()
    x = my @ x @ mx.t()
    return (x / 255 - MEAN) / STD


class Data:
    def __init__(self, folder):
        with open(os.path.join(folder, "meta.json")) as f:
            self.meta = json.load(f)
        self.images = np.load(os.path.join(folder, "images.npy"), mmap_mode="r")
        self.targets = np.load(os.path.join(folder, "targets.npy"))
        self.labels = np.load(os.path.join(folder, "labels.npy")).astype(np.int64)
        grid = ARCH["vision"]["image_size"] // ARCH["vision"]["patch_size"]
        if self.targets.shape[1:3] != (grid, grid):
            raise SystemExit(f"{folder}: targets are for a {self.targets.shape[1]}x{self.targets.shape[2]} grid, "
                             f"the model's is {grid}x{grid}: run generate.mjs with --grid {grid}")
        self.regions = self.meta["regions"]
        self.classes = self.meta["classes"]
        # caption sets: per (level, template) one caption per value; target[set][class] = its caption
        self.sets = self.meta["captionSets"]
        self.sets_by_level = {}
        for i, cs in enumerate(self.sets):
            self.sets_by_level.setdefault(cs["level"], []).append(i)
        self.set_target = [np.array([next(j for j, t in enumerate(cs["texts"]) if k in t["classes"]) for k in range(len(self.classes))])
                           for cs in self.sets]
        # part weights: the inverse of each part's mean area (the smallest part weighs most)
        area = self.targets[..., :len(self.regions)].reshape(-1, len(self.regions)).sum(0).astype(np.float64)
        w = area.sum() / np.maximum(area, 1)
        self.part_weights = torch.tensor(w / w.min(), dtype=torch.float32)


Q_SCALE_LAST = 2.0
HEAD_REGIONS = ("crown", "forehead", "nape", "throat")  # painted in the class colour
# weight of each level's classification in the global loss (every level every step)
LEVEL_WEIGHTS = {"species": 1.0, "genus": 0.4, "family": 0.4, "order": 0.4, "colour": 0.6}


# -- losses ------------------------------------------------------------------------------------
def global_loss(img, txt, target, scale):
    """CLIP's symmetric cross-entropy between images and the captions of one set (one caption per
    value of a level): image -> its caption; caption -> the images it describes (uniform target),
    over the captions that describe an image of the batch."""
    logits = scale * img @ txt.t()
    i2t = F.cross_entropy(logits, target)
    pos = F.one_hot(target, txt.shape[0]).float()
    has = pos.sum(0) > 0
    t2i = -(F.log_softmax(logits, dim=0) * pos).sum(0)[has] / pos.sum(0)[has]
    return (i2t + t2i.mean()) / 2


def dense_losses(dense, part_txt, bg_txt, counts, part_weights):
    """dense [B, N, D]; part_txt [R, D] (one phrase per part); bg_txt [D]; counts [B, N, R + 1]
    sample points per region (background last)."""
    r = part_txt.shape[0]
    logits = DENSE_LOGIT_SCALE * dense @ part_txt.t()
    parts = counts[..., :r] * part_weights
    mass = parts.sum(-1)
    has = mass > 0
    target = parts / mass.clamp_min(1e-6).unsqueeze(-1)
    # a patch counts in proportion to the share of parts in it (fully from a quarter on), times the
    # mean weight of its parts: the few patches of small parts are not drowned by the body's
    area = counts[..., :r].sum(-1)
    share = area / counts.sum(-1)
    weight = (4 * share).clamp(max=1) * mass / area.clamp_min(1e-6) * has
    ce = -(F.log_softmax(logits, dim=-1) * target).sum(-1)
    loss_parts = (ce * weight).sum() / weight.sum().clamp_min(1)
    # with the background as one more prompt: every patch, area shares (parts weighted as above)
    full = torch.cat([logits, DENSE_LOGIT_SCALE * (dense @ bg_txt).unsqueeze(-1)], dim=-1)
    both = torch.cat([parts, counts[..., r:]], dim=-1)
    tfull = both / both.sum(-1, keepdim=True)
    loss_bg = -(F.log_softmax(full, dim=-1) * tfull).sum(-1).mean()
    return loss_parts, loss_bg


def colour_loss(dense, colour_txt, counts, labels, regions):
    """Head patches name the head's colour: for each head region r, softmax over its colour
    phrases (one per class, "a red crown." ...) and the image's class as the target, weighted
    by the share of r in the patch."""
    total, weight = 0.0, 0.0
    for r, txt in colour_txt.items():
        share = counts[..., regions.index(r)] / counts.sum(-1)
        w = (4 * share).clamp(max=1)
        ce = F.cross_entropy((DENSE_LOGIT_SCALE * dense @ txt.t()).flatten(0, 1), labels.repeat_interleave(dense.shape[1]),
                             reduction="none").reshape(w.shape)
        total = total + (ce * w).sum()
        weight = weight + w.sum()
    return total / weight.clamp_min(1)


def text_consistency(embs, classes, scale):
    """Captions of the same birds agree: between every two caption sets of the step (levels and
    colours), each caption's nearest in the other set is one describing a class it describes.
    Keeps the sets from collapsing onto one embedding while the image tower cannot yet tell the
    classes apart (then the image loss alone is lowest with all captions alike)."""
    loss, pairs = 0.0, 0
    for a in range(len(embs)):
        for b in range(len(embs)):
            if a == b:
                continue
            target = torch.tensor([[float(bool(set(ca) & set(cb))) for cb in classes[b]] for ca in classes[a]])
            target = target / target.sum(1, keepdim=True)
            loss = loss - (F.log_softmax(scale * embs[a] @ embs[b].t(), dim=1) * target).sum(1).mean()
            pairs += 1
    return loss / pairs


# -- optimiser ---------------------------------------------------------------------------------
class FlatParams:
    """Every parameter in one buffer, in name order: the model reads views of it, and the optimiser
    updates it with a handful of whole-buffer operations instead of a dozen per tensor."""

    def __init__(self, params):
        self.layout, offset = [], 0
        for name in sorted(params):
            n = params[name].numel()
            self.layout.append((name, offset, n, params[name].shape))
            offset += n
        self.flat = torch.cat([params[name].reshape(-1) for name, *_ in self.layout]).requires_grad_(True)
        # matrices decay; biases, norms, single vectors and the logit scale do not
        self.decays = torch.cat([torch.full((n,), float(len(shape) >= 2)) for _, _, n, shape in self.layout])

    def views(self):
        return {name: self.flat[o:o + n].view(shape) for name, o, n, shape in self.layout}


class AdamW:
    """Decoupled weight decay Adam on the flat buffer, written out so every platform runs the same
    arithmetic."""

    def __init__(self, flat, betas=(0.9, 0.98), eps=1e-6, decay=0.05):
        self.p = flat
        self.betas, self.eps, self.decay = betas, eps, decay
        self.m = torch.zeros_like(flat.flat)
        self.v = torch.zeros_like(flat.flat)
        self.t = 0

    def step(self, lr):
        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        p = self.p.flat
        with torch.no_grad():
            g = p.grad
            self.m.mul_(b1).add_(g, alpha=1 - b1)
            self.v.mul_(b2).addcmul_(g, g, value=1 - b2)
            p.sub_(p * self.p.decays, alpha=lr * self.decay)
            p.addcdiv_(self.m / c1, (self.v / c2).sqrt_().add_(self.eps), value=-lr)
            p.grad = None


def lap(phases, name, tick):
    now = time.perf_counter()
    phases[name] += now - tick
    return now


def lr_at(step, total, peak, warmup, hold):
    """Linear warm-up, the peak until `hold` (the end of the low-resolution steps), then cosine."""
    if step < warmup:
        return peak * (step + 1) / warmup
    if step < hold:
        return peak
    start = max(warmup, hold)
    return peak * 0.5 * (1 + math.cos(math.pi * (step - start) / max(1, total - start)))


# -- the folder --------------------------------------------------------------------------------
def config_json():
    """config.json as transformers writes a CLIPModel's (and src/core/clip/config.ts reads)."""
    t, v, d = ARCH["text"], ARCH["vision"], ARCH["projection_dim"]

    def tower(c):
        return {"hidden_size": c["hidden_size"], "intermediate_size": c["intermediate_size"],
                "num_attention_heads": c["num_attention_heads"], "num_hidden_layers": c["num_hidden_layers"],
                "hidden_act": "quick_gelu", "layer_norm_eps": LN_EPS, "projection_dim": d}
    return {
        "architectures": ["CLIPModel"],
        "model_type": "clip",
        "projection_dim": d,
        "logit_scale_init_value": 2.6592,
        "text_config": {**tower(t), "vocab_size": t["vocab_size"], "max_position_embeddings": t["max_position_embeddings"],
                        "bos_token_id": t["vocab_size"] - 2, "eos_token_id": t["vocab_size"] - 1,
                        "pad_token_id": t["vocab_size"] - 1, "model_type": "clip_text_model"},
        "vision_config": {**tower(v), "image_size": v["image_size"], "patch_size": v["patch_size"], "num_channels": 3,
                          "model_type": "clip_vision_model"},
        "torch_dtype": "float32",
    }


def hf_tensors(params):
    """The trained parameters under transformers' names: the block kernel [W,3,k,k] becomes the
    32x32 convolution kernel, each value spread over its 2x2 block (divided by 4: a sum of 4 pixels
    instead of their mean)."""
    out = {k: v for k, v in params.items() if k != PATCH_BLOCKS}
    blocks = params[PATCH_BLOCKS].detach()
    out["vision_model.embeddings.patch_embedding.weight"] = (
        blocks.repeat_interleave(PATCH_POOL, dim=2).repeat_interleave(PATCH_POOL, dim=3) / PATCH_POOL ** 2)
    return out


def write_safetensors(path, tensors):
    """F32 tensors in name order; the header is canonical JSON, so equal weights give equal bytes."""
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        a = tensors[name].detach().contiguous().numpy().astype("<f4")
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        chunks.append(b)
        offset += len(b)
    header["__metadata__"] = {"format": "pt", "generator": "scripts/demo-clip/train.py"}
    h = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in chunks:
            f.write(b)
    os.replace(tmp, path)


# -- evaluation on held-out generated birds (the trainer's own check; the sample is not used) ----------
def evaluate(model, data, idx, text_ids):
    names = [f"a photo of a {c['name']}, a type of bird." for c in data.classes]  # the sample project's template
    with torch.no_grad():
        cls_txt = model.encode_text(text_ids(names))
        generic = [data.meta["partPhrases"][r]["generic"][0] for r in data.regions]
        part_txt = model.encode_text(text_ids(generic))
        correct, hits = 0, np.zeros((len(data.regions), 2))
        for s in range(0, len(idx), 32):
            b = idx[s:s + 32]
            g, d = model.encode_image(model_pixels(data.images[b], ARCH["vision"]["image_size"]))
            correct += int(((g @ cls_txt.t()).argmax(1).numpy() == data.labels[b]).sum())
            grid = ARCH["vision"]["image_size"] // ARCH["vision"]["patch_size"]
            # the patch with most of each part: does the model give it that part?
            pred = (d @ part_txt.t()).argmax(-1).numpy()
            counts = data.targets[b][..., :len(data.regions)].reshape(len(b), grid * grid, -1)
            for r in range(len(data.regions)):
                best = counts[:, :, r].argmax(1)
                present = counts[np.arange(len(b)), best, r] > 0
                hits[r, 0] += (pred[np.arange(len(b)), best] == r)[present].sum()
                hits[r, 1] += present.sum()
    return correct / len(idx), {r: hits[i, 0] / max(1, hits[i, 1]) for i, r in enumerate(data.regions)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="folder written by generate.mjs")
    ap.add_argument("--out", required=True, help="model folder to write (config.json, model.safetensors)")
    ap.add_argument("--steps", type=int, default=450)
    ap.add_argument("--batch", type=int, default=16, help="images per step at the full input size")
    ap.add_argument("--low-batch", type=int, default=32, help="images per step at half the input size")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--low-steps", type=int, default=100, help="the first N steps at half the input size")
    ap.add_argument("--text-first", type=int, default=50, help="the first N steps train the text tower on texts only")
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--holdout", type=int, default=240, help="generated birds kept out of training for the final check")
    args = ap.parse_args()

    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)
    started = time.time()
    data = Data(args.data)
    n = len(data.labels)
    if args.holdout >= n:
        raise SystemExit(f"--holdout {args.holdout} leaves no training birds of {n}")
    train_idx = np.arange(n - args.holdout)
    hold_idx = np.arange(n - args.holdout, n)
    rng = np.random.RandomState(args.seed)
    tokenizer = Tokenizer(data.meta["merges"])
    ARCH["text"]["vocab_size"] = tokenizer.size
    flat = FlatParams(init_params(rng))
    model = Clip(flat.views())
    opt = AdamW(flat)

    def text_ids(texts):
        rows = [tokenizer(t) for t in texts]
        width = max(len(r) for r in rows)
        return torch.tensor([r + [tokenizer.eot] * (width - len(r)) for r in rows])

    batches = [args.low_batch if step < args.low_steps else args.batch for step in range(args.steps)]
    starts = np.concatenate([[0], np.cumsum(batches)])
    order = np.concatenate([rng.permutation(train_idx) for _ in range(int(starts[-1]) // len(train_idx) + 1)])
    warmup = max(1, args.steps // 20)
    regions = data.regions
    phrases = data.meta["partPhrases"]
    log, logged = dict.fromkeys(("loss", "global", "parts", "bg", "text", "colour"), 0.0), 0
    phases = dict.fromkeys(("data", "text", "image", "backward", "optimiser"), 0.0)
    cpu0 = time.process_time()
    for step in range(args.steps):
        tick = time.perf_counter()
        params = model.p = flat.views()
        b = np.sort(order[starts[step]:starts[step + 1]])
        labels = data.labels[b]
        # every level, through one caption set (template) drawn for the batch
        chosen = {lv: data.sets_by_level[lv][rng.randint(len(data.sets_by_level[lv]))] for lv in LEVEL_WEIGHTS}
        # two phrases per part for the batch (the second for the text tower's own loss); the colour
        # phrases are colour_loss's
        part_text = [phrases[r]["generic"][rng.randint(len(phrases[r]["generic"]))] for r in regions]
        part_text2 = [phrases[r]["generic"][rng.randint(len(phrases[r]["generic"]))] for r in regions]
        bg = data.meta["backgroundPhrases"][rng.randint(len(data.meta["backgroundPhrases"]))]
        colour_template = rng.randint(2)
        colour_text = {r: [phrases[r]["byClass"][k][colour_template] for k in range(len(data.classes))] for r in HEAD_REGIONS}
        captions = [t["text"] for i in chosen.values() for t in data.sets[i]["texts"]]
        texts = sorted(set(captions + part_text + part_text2 + [bg] + [t for v in colour_text.values() for t in v]))
        row_of = {t: i for i, t in enumerate(texts)}
        # the first --low-steps at half the resolution (a quarter of the patches: far cheaper)
        low = step < args.low_steps
        size = ARCH["vision"]["image_size"] // (2 if low else 1)
        pixels = model_pixels(data.images[b], size)
        tick = lap(phases, "data", tick)
        own = model.encode_text(text_ids(texts))
        # at first the text tower learns from texts alone; the image losses see its output
        # without moving it (they would pull captions together while images look all alike),
        # then their gradient comes in over as many steps again
        ramp = min(1.0, max(0.0, (step - args.text_first) / max(1, args.text_first)))
        emb = own.detach() + ramp * (own - own.detach()) if ramp < 1 else own
        tick = lap(phases, "text", tick)
        part_emb = emb[[row_of[t] for t in part_text]]
        g, d = model.encode_image(pixels)
        scale = params["logit_scale"].clamp(max=math.log(100)).exp()
        rows = lambda ts: [row_of[t] for t in ts]  # noqa: E731
        set_rows = {lv: rows([t["text"] for t in data.sets[i]["texts"]]) for lv, i in chosen.items()}
        lg = sum(w * global_loss(g, emb[set_rows[lv]], torch.from_numpy(data.set_target[chosen[lv]][labels]), scale)
                 for lv, w in LEVEL_WEIGHTS.items()) / sum(LEVEL_WEIGHTS.values())
        # the text tower's own loss: caption sets and colour phrases agree on the classes they
        # describe, and two phrasings of a part agree
        classes_of = [[t["classes"] for t in data.sets[i]["texts"]] for i in chosen.values()]
        classes_of += [[[k] for k in range(len(data.classes))]] * len(colour_text)
        lt = text_consistency([own[r] for r in set_rows.values()] + [own[rows(v)] for v in colour_text.values()], classes_of, scale)
        lt = lt + text_consistency([own[rows(part_text)], own[rows(part_text2)]], [[[j] for j in range(len(regions))]] * 2, scale)
        counts = torch.from_numpy(data.targets[b].astype(np.float32))
        if low:  # each patch of the half-resolution grid covers 2 x 2 of the full one
            n, gh, gw, c = counts.shape
            counts = counts.reshape(n, gh // 2, 2, gw // 2, 2, c).sum((2, 4))
        counts = counts.reshape(len(b), -1, len(regions) + 1)
        lp, lb = dense_losses(d, part_emb, emb[row_of[bg]], counts, data.part_weights)
        lc = colour_loss(d, {r: emb[[row_of[t] for t in v]] for r, v in colour_text.items()}, counts,
                         torch.from_numpy(labels), regions)
        loss = lg + lp + 0.3 * lb + 0.5 * lt + 0.5 * lc
        tick = lap(phases, "image", tick)
        loss.backward()
        tick = lap(phases, "backward", tick)
        opt.step(lr_at(step, args.steps, args.lr, warmup, args.low_steps))
        lap(phases, "optimiser", tick)
        for k, v in (("loss", loss), ("global", lg), ("parts", lp), ("bg", lb), ("text", lt), ("colour", lc)):
            log[k] += float(v)
        logged += 1
        if (step + 1) % 20 == 0 or step + 1 == args.steps:
            print(json.dumps({"step": step + 1, "of": args.steps, **{k: round(v / logged, 4) for k, v in log.items()},
                              "scale": round(float(scale), 2), "seconds": round(time.time() - started, 1),
                              "cpu_seconds": round(time.process_time() - cpu0, 1),
                              "phases": {k: round(v, 1) for k, v in phases.items()}}),
                  file=sys.stderr, flush=True)
            log, logged = dict.fromkeys(log, 0.0), 0

    os.makedirs(args.out, exist_ok=True)
    model.p = {k: v.detach() for k, v in flat.views().items()}
    write_safetensors(os.path.join(args.out, "model.safetensors"), hf_tensors(model.p))
    with open(os.path.join(args.out, "config.json"), "w") as f:
        f.write(json.dumps(config_json(), indent=2) + "\n")
    top1, patch_hits = evaluate(model, data, hold_idx, text_ids)
    report = {"steps": args.steps, "low_steps": args.low_steps, "text_first": args.text_first, "batch": args.batch, "low_batch": args.low_batch, "lr": args.lr, "seed": args.seed,
              "images": int(len(train_idx)),
              "holdout": {"species_top1": round(top1, 4), "best_patch_part_accuracy": {k: round(v, 3) for k, v in patch_hits.items()}},
              "seconds": round(time.time() - started, 1), "torch": torch.__version__, "numpy": np.__version__}
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
