"""An independent PyTorch CLIP (Hugging Face CLIPModel weights) written from the equations, with the
last-block variants of docs/clearclip.md. Used by the parity tests and as the benchmark baseline.
It reads the same safetensors files as the TypeScript runtime but shares no code with it.

    python3 clip_reference.py serve --model DIR --threads 2   (the benchmark's baseline)
"""
import argparse
import json
import math
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

# name -> (attention, residual, ffn); see docs/clearclip.md
VARIANTS = {
    "vanilla": ("qk", True, True),
    "maskclip": ("identity", False, False),
    "sclip": ("qq+kk", True, True),
    "clearclip": ("qq", False, False),
    "no-residual": ("qk", False, True),
    "no-ffn": ("qk", True, False),
    "qq": ("qq", True, True),
}


def parse_variant(spec):
    if spec in VARIANTS:
        return VARIANTS[spec]
    v = {"attn": "qk", "residual": "on", "ffn": "on"}
    for part in spec.split(","):
        key, value = part.split("=")
        v[key.strip()] = value.strip()
    return (v["attn"], v["residual"] == "on", v["ffn"] == "on")


def read_safetensors(path):
    """name -> float32 tensor for every F32/F16/BF16/F64 tensor in the file."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        buf = data[b:e]
        if t["dtype"] == "F32":
            a = np.frombuffer(buf, dtype="<f4")
        elif t["dtype"] == "F64":
            a = np.frombuffer(buf, dtype="<f8").astype(np.float32)
        elif t["dtype"] == "F16":
            a = np.frombuffer(buf, dtype="<f2").astype(np.float32)
        elif t["dtype"] == "BF16":
            a = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            continue
        out[name] = torch.from_numpy(a.copy().reshape(t["shape"]))
    return out


class Tower:
    def __init__(self, cfg, defaults):
        g = lambda k: cfg.get(k, defaults[k])
        self.width = g("hidden_size")
        self.heads = g("num_attention_heads")
        self.layers = g("num_hidden_layers")
        self.act = cfg.get("hidden_act", "quick_gelu")
        self.eps = cfg.get("layer_norm_eps", 1e-5)


class ClipReference:
    def __init__(self, folder):
        with open(f"{folder}/config.json") as f:
            cfg = json.load(f)
        tc, vc = cfg["text_config"], cfg["vision_config"]
        self.text = Tower(tc, {"hidden_size": 512, "num_attention_heads": 8, "num_hidden_layers": 12})
        self.vision = Tower(vc, {"hidden_size": 768, "num_attention_heads": 12, "num_hidden_layers": 12})
        self.patch = vc.get("patch_size", 32)
        self.image_size = vc.get("image_size", 224)
        self.w = read_safetensors(f"{folder}/model.safetensors")

    # -- pieces -----------------------------------------------------------------------------
    def ln(self, x, prefix, tower):
        return F.layer_norm(x, (x.shape[-1],), self.w[prefix + ".weight"], self.w[prefix + ".bias"], tower.eps)

    def linear(self, x, prefix):
        return F.linear(x, self.w[prefix + ".weight"], self.w.get(prefix + ".bias"))

    @staticmethod
    def activation(x, kind):
        return x * torch.sigmoid(1.702 * x) if kind == "quick_gelu" else F.gelu(x)

    def mlp(self, x, prefix, tower):
        return self.linear(self.activation(self.linear(x, prefix + ".mlp.fc1"), tower.act), prefix + ".mlp.fc2")

    def attention(self, y, prefix, tower, kind="qk", mask=None):
        b, t, width = y.shape
        h = tower.heads
        d = width // h
        split = lambda z: z.reshape(b, t, h, d).permute(0, 2, 1, 3)
        q = split(self.linear(y, prefix + ".self_attn.q_proj"))
        k = split(self.linear(y, prefix + ".self_attn.k_proj"))
        v = split(self.linear(y, prefix + ".self_attn.v_proj"))

        def weights(a, c):
            s = torch.matmul(a, c.transpose(-1, -2)) / math.sqrt(d)
            if mask is not None:
                s = s + mask
            return torch.softmax(s, dim=-1)

        if kind == "qk":
            o = weights(q, k) @ v
        elif kind == "qq":
            o = weights(q, q) @ v
        elif kind == "kk":
            o = weights(k, k) @ v
        elif kind == "vv":
            o = weights(v, v) @ v
        elif kind == "qq+kk":
            o = (weights(q, q) + weights(k, k)) @ v
        elif kind == "identity":
            o = v
        else:
            raise ValueError(kind)
        o = o.permute(0, 2, 1, 3).reshape(b, t, width)
        return self.linear(o, prefix + ".self_attn.out_proj")

    def block(self, x, prefix, tower, variant=("qk", True, True), mask=None):
        kind, residual, ffn = variant
        a = self.attention(self.ln(x, prefix + ".layer_norm1", tower), prefix, tower, kind, mask)
        x = x + a if residual else a
        if ffn:
            x = x + self.mlp(self.ln(x, prefix + ".layer_norm2", tower), prefix, tower)
        return x

    # -- text -------------------------------------------------------------------------------
    def encode_text(self, ids):
        """ids: int64 [B, 77] -> L2-normalised [B, D]"""
        n = ids.shape[1]
        x = self.w["text_model.embeddings.token_embedding.weight"][ids] + self.w["text_model.embeddings.position_embedding.weight"][:n]
        mask = torch.full((n, n), float("-inf")).triu(1)
        for i in range(self.text.layers):
            x = self.block(x, f"text_model.encoder.layers.{i}", self.text, mask=mask)
        x = self.ln(x, "text_model.final_layer_norm", self.text)
        pooled = x[torch.arange(x.shape[0]), ids.argmax(dim=-1)]
        e = pooled @ self.w["text_projection.weight"].t()
        return e / e.norm(dim=-1, keepdim=True)

    # -- image ------------------------------------------------------------------------------
    def position_embedding(self, gh, gw):
        pos = self.w["vision_model.embeddings.position_embedding.weight"]
        g = self.image_size // self.patch
        if (gh, gw) == (g, g):
            return pos
        grid = pos[1:].reshape(1, g, g, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(gh, gw), mode="bicubic", align_corners=False)
        return torch.cat([pos[:1], grid.permute(0, 2, 3, 1).reshape(gh * gw, -1)], dim=0)

    def tokens_before_last_block(self, pixels):
        """pixels: normalised [B, 3, H, W] -> the tokens entering the last block [B, 1+N, W]"""
        b, _, hh, ww = pixels.shape
        x = F.conv2d(pixels, self.w["vision_model.embeddings.patch_embedding.weight"], stride=self.patch)
        x = x.flatten(2).transpose(1, 2)
        cls = self.w["vision_model.embeddings.class_embedding"].reshape(1, 1, -1).expand(b, 1, -1)
        x = torch.cat([cls, x], dim=1) + self.position_embedding(hh // self.patch, ww // self.patch)
        x = self.ln(x, "vision_model.pre_layrnorm", self.vision)
        for i in range(self.vision.layers - 1):
            x = self.block(x, f"vision_model.encoder.layers.{i}", self.vision)
        return x

    def image_embedding(self, pixels):
        """CLIP's image embedding: normalised [B, 3, H, W] -> the class token through every
        standard block, post_layernorm, visual projection, L2-normalised [B, D]"""
        x = self.tokens_before_last_block(pixels)
        x = self.block(x, f"vision_model.encoder.layers.{self.vision.layers - 1}", self.vision)
        e = self.ln(x[:, 0], "vision_model.post_layernorm", self.vision) @ self.w["visual_projection.weight"].t()
        return e / e.norm(dim=-1, keepdim=True)

    def dense(self, pixels, variant="clearclip"):
        """pixels: normalised [B, 3, H, W] -> L2-normalised patch features [B, H/p, W/p, D]"""
        variant = parse_variant(variant) if isinstance(variant, str) else variant
        b, _, hh, ww = pixels.shape
        gh, gw = hh // self.patch, ww // self.patch
        x = F.conv2d(pixels, self.w["vision_model.embeddings.patch_embedding.weight"], stride=self.patch)
        x = x.flatten(2).transpose(1, 2)
        cls = self.w["vision_model.embeddings.class_embedding"].reshape(1, 1, -1).expand(b, 1, -1)
        x = torch.cat([cls, x], dim=1) + self.position_embedding(gh, gw)
        x = self.ln(x, "vision_model.pre_layrnorm", self.vision)
        last = self.vision.layers - 1
        for i in range(last):
            x = self.block(x, f"vision_model.encoder.layers.{i}", self.vision)
        x = self.block(x, f"vision_model.encoder.layers.{last}", self.vision, variant)
        x = self.ln(x[:, 1:], "vision_model.post_layernorm", self.vision)
        x = x @ self.w["visual_projection.weight"].t()
        x = x / x.norm(dim=-1, keepdim=True)
        return x.reshape(b, gh, gw, -1)

    def embed_image(self, pixels):
        """pixels: normalised [B, 3, H, W] -> L2-normalised image embeddings [B, D]: the class token
        after the standard last block, post_layernorm and the visual projection (CLIP's)."""
        b, _, hh, ww = pixels.shape
        x = F.conv2d(pixels, self.w["vision_model.embeddings.patch_embedding.weight"], stride=self.patch)
        x = x.flatten(2).transpose(1, 2)
        cls = self.w["vision_model.embeddings.class_embedding"].reshape(1, 1, -1).expand(b, 1, -1)
        x = torch.cat([cls, x], dim=1) + self.position_embedding(hh // self.patch, ww // self.patch)
        x = self.ln(x, "vision_model.pre_layrnorm", self.vision)
        for i in range(self.vision.layers):
            x = self.block(x, f"vision_model.encoder.layers.{i}", self.vision)
        x = self.ln(x[:, 0], "vision_model.post_layernorm", self.vision) @ self.w["visual_projection.weight"].t()
        return x / x.norm(dim=-1, keepdim=True)

    def dense_sliding(self, pixels, variant, window, stride):
        """[3,H,W] -> [H/p, W/p, D]: windows averaged, then renormalised (docs/clearclip.md)."""
        _, hh, ww = pixels.shape
        p = self.patch
        wh, wwin = min(window, hh), min(window, ww)
        acc = torch.zeros(hh // p, ww // p, self.w["visual_projection.weight"].shape[0])
        cnt = torch.zeros(hh // p, ww // p, 1)
        rows = max(hh - wh + stride - 1, 0) // stride + 1
        cols = max(ww - wwin + stride - 1, 0) // stride + 1
        for r in range(rows):
            for c in range(cols):
                y0, x0 = min(r * stride, hh - wh), min(c * stride, ww - wwin)
                f = self.dense(pixels[None, :, y0:y0 + wh, x0:x0 + wwin], variant)[0]
                acc[y0 // p:(y0 + wh) // p, x0 // p:(x0 + wwin) // p] += f
                cnt[y0 // p:(y0 + wh) // p, x0 // p:(x0 + wwin) // p] += 1
        acc = acc / cnt
        return acc / acc.norm(dim=-1, keepdim=True)


def serve(args):
    """Benchmark server: reads 'SIZE ITERS VARIANT' lines, answers one JSON line of per-image
    seconds each, so the benchmark can interleave PyTorch and ONNX Runtime rounds."""
    import sys
    torch.set_num_threads(args.threads)
    ref = ClipReference(args.model)
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        size, iters, variant = line.split()
        pixels = torch.randn(1, 3, int(size), int(size), generator=torch.Generator().manual_seed(0))
        times = []
        with torch.no_grad():
            for _ in range(int(iters)):
                t0 = time.perf_counter()
                ref.dense(pixels, variant)
                times.append(time.perf_counter() - t0)
        print(json.dumps({"size": int(size), "seconds": times}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["serve"])
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    serve(args)


if __name__ == "__main__":
    main()
